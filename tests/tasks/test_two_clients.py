"""Settings travel as arguments: two clients of different settings in one process each use
their own Redis, broker, Chroma address and embedding service, whatever the environment says."""

import pytest
import redis

from ingest_tasks.core.keys import STREAM_QUEUE
from ingest_tasks.core.settings import Settings
from ingest_tasks.interfaces.client import IngestClient
from tests.redis_servers import redis_server


@pytest.fixture
def clients(tmp_path):
    """Two clients, each on a Redis server of its own, with its own Chroma and service URL."""
    with redis_server(tmp_path) as one, redis_server(tmp_path) as two:
        yield [IngestClient(Settings(redis_url=f"redis://127.0.0.1:{port}/0", broker_url="",
                                     result_backend="", chroma_port=9000 + n,
                                     embedding_api_url=f"http://127.0.0.1:{7000 + n}"))
               for n, port in enumerate((one, two))]


def test_each_client_sends_to_its_own_broker_and_keeps_state_in_its_own_redis(clients):
    for n, client in enumerate(clients):
        client.submit_content(f"note-{n}", f"# Note {n}\n\nA note of client {n}.\n", "note.md")
    for n, client in enumerate(clients):
        own = redis.Redis.from_url(client.settings.redis_url)
        assert own.llen(STREAM_QUEUE) == 1  # its message, and only its
        [message] = own.lrange(STREAM_QUEUE, 0, -1)
        assert f"note-{n}".encode() in message
        assert client.app.conf.broker_url == client.settings.redis_url


def test_each_client_reaches_its_own_chroma_and_embedding_service(clients):
    for n, client in enumerate(clients):
        assert client.resources.settings.chroma_port == 9000 + n
        embedder = client.resources.embedder("api:wordllama")
        assert str(embedder._client.base_url).startswith(f"http://127.0.0.1:{7000 + n}")
    first, second = (client.resources.embedder("api:wordllama") for client in clients)
    assert first is not second
