"""The embedding service: the fleet-wide token bucket, the HTTP embedder and the bundled server.

Everything is real: Redis, caller processes, and server processes on free ports.
"""

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import pytest
import redis as redis_py

from ingest_tasks.core.errors import EmbeddingUnavailable, ModelMismatch
from ingest_tasks.core.keys import EMBEDDING_DIM_KEY, RATE_KEY
from ingest_tasks.core.models import available_models, check_model
from ingest_tasks.core.settings import Settings
from ingest_tasks.pipeline.chunk import chunk_text
from ingest_tasks.pipeline.embed import Embedder, api_embedder, get_embedder, model_dim
from ingest_tasks.pipeline.embed.api_tokenizers import CharBudget
from ingest_tasks.pipeline.embed.http import HttpEmbedder
from ingest_tasks.state import ratelimit
from ingest_tasks.state.alias import Target
from ingest_tasks.testing.stacks import free_port
from tests.servers import serving
from tests.tasks.in_memory import memory_resources

ROOT = Path(__file__).resolve().parents[2]
TEXTS = [f"Note {i}: the {('river', 'market', 'guitar', 'bridge')[i % 4]} is {i} metres long."
         for i in range(256)]
LONG_TEXT = " ".join(TEXTS[:60])


@pytest.fixture
def redis():
    """A client of the test database."""
    return redis_py.Redis.from_url(os.environ["INGEST_REDIS_URL"])


@pytest.fixture
def bucket(redis):
    """The name of a bucket of this test alone, deleted after it."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    yield name
    redis.delete(RATE_KEY + name)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server without limits or faults, shared by the tests that count nothing on it."""
    with serving(tmp_path_factory.mktemp("server")) as url:
        yield url


def _health(url: str) -> dict:
    return httpx.get(f"{url}/health").json()


def _api(model: str, url: str, **settings) -> Embedder:
    """An embedder of `model` asking the server at `url`, backing off for 10 ms at first."""
    return api_embedder(model, Settings(embedding_api_url=url,
                                                   embedding_api_backoff=0.01, **settings))


# The token bucket

def test_a_bucket_grants_its_burst_at_once_then_one_token_per_interval(redis, bucket):
    start = time.monotonic()
    waits = [ratelimit.reserve(redis, bucket, 10, 3) for _ in range(6)]
    elapsed = time.monotonic() - start  # refills the bucket a little between the calls
    for wait, due in zip(waits, [0, 0, 0, 0.1, 0.2, 0.3], strict=True):
        assert due - elapsed - 1e-3 <= wait <= due + 1e-3


def test_a_pause_refills_the_bucket_up_to_its_burst(redis, bucket):
    for _ in range(3):
        ratelimit.reserve(redis, bucket, 20, 3)
    time.sleep(0.3)  # six tokens' worth of time; the bucket holds three
    start = time.monotonic()
    waits = [ratelimit.reserve(redis, bucket, 20, 3) for _ in range(4)]
    elapsed = time.monotonic() - start
    assert waits[:3] == [0, 0, 0]
    assert 0.05 - elapsed - 1e-3 <= waits[3] <= 0.05 + 1e-3


def test_several_tokens_wait_for_all_and_the_key_lasts_until_the_bucket_is_full(redis, bucket):
    start = time.monotonic()
    wait = ratelimit.reserve(redis, bucket, 10, 3, tokens=5)
    assert 0.2 - (time.monotonic() - start) - 1e-3 <= wait <= 0.2 + 1e-3
    assert 1000 < redis.pttl(RATE_KEY + bucket) <= (3 + 2) / 10 * 1000 + 1000


def test_rate_zero_is_no_limit(redis, bucket):
    assert ratelimit.acquire(redis, bucket, 0, 1) == 0.0
    assert not redis.exists(RATE_KEY + bucket)


_CALLER = """
import json, sys, time
import redis
from ingest_tasks.state.ratelimit import acquire

url, name, rate, burst, seconds = sys.argv[1:]
client = redis.Redis.from_url(url)
client.ping()
print("ready", flush=True)
sys.stdin.readline()
times, end = [], time.time() + float(seconds)
while time.time() < end:
    acquire(client, name, float(rate), int(burst))
    times.append(time.time())
print(json.dumps(times), flush=True)
"""


def test_two_processes_share_one_rate(bucket):
    rate, burst = 40, 4
    command = [sys.executable, "-c", _CALLER, os.environ["INGEST_REDIS_URL"], bucket,
               str(rate), str(burst), "1.5"]
    callers = [subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True) for _ in range(2)]
    for caller in callers:
        assert caller.stdout.readline() == "ready\n"
    go = time.time()
    for caller in callers:
        caller.stdin.write("go\n")
        caller.stdin.flush()
    times = [json.loads(caller.communicate(timeout=30)[0]) for caller in callers]
    granted = sorted(times[0] + times[1])
    span = granted[-1] - go
    assert len(granted) <= burst + rate * span + 1
    assert len(granted) >= 0.9 * rate * span
    assert min(map(len, times)) > 0.3 * len(granted)  # both got turns


# The HTTP embedder and the server

def test_api_local_models_are_made_without_loading_weights_or_calling_anything():
    code = (
        "import sys\n"
        "from ingest_tasks.pipeline.embed import get_embedder, model_dim, model_static\n"
        "from ingest_tasks.core.settings import Settings\n"
        "settings = Settings(embedding_model='api:wordllama')\n"
        "api = get_embedder('api:all-MiniLM-L6-v2', settings=settings)\n"
        "print(api.name, api.dim, api.max_tokens, model_dim('api:wordllama', settings),"
        " model_static('api:wordllama'), api is get_embedder('api:all-MiniLM-L6-v2',"
        " settings=settings), 'onnxruntime' in sys.modules)"
    )  # the test's INGEST_EMBEDDING_API_URL: nothing answers there
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=True)
    assert result.stdout.split() == ["api:all-MiniLM-L6-v2", "384", "254", "256", "True", "True",
                                     "False"]
    with pytest.raises(ValueError, match=r"as api:<name>"):
        check_model("no-such-model")
    with pytest.raises(ValueError, match=r"as api:<name>"):
        check_model("api:")
    assert check_model("api:text-embedding-3-small") == "api:text-embedding-3-small"


def test_a_rate_limited_server_is_retried_until_every_vector_comes(tmp_path):
    with serving(tmp_path, "--rate", "5") as url:
        embedder = _api("api:wordllama", url, embedding_api_batch=16)
        vectors = embedder.embed(TEXTS)
        health = _health(url)
    assert health["throttled"] > 0
    assert embedder.retried == health["throttled"]
    assert health["requests"] == len(TEXTS) // 16 + health["throttled"]
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, get_embedder("wordllama").embed(TEXTS), atol=1e-6)


def test_the_fleet_limit_keeps_a_server_from_refusing(tmp_path):
    with serving(tmp_path, "--rate", "5") as url:
        embedder = _api("api:wordllama", url, embedding_api_batch=32, embedding_api_rate=4)
        start = time.monotonic()
        embedder.embed(TEXTS)
        elapsed = time.monotonic() - start
        health = _health(url)
    assert health["requests"] == len(TEXTS) // 32
    assert health["throttled"] == 0
    assert elapsed >= (len(TEXTS) // 32 - 1) / 4 - 0.01  # one request each 1/4 s after the first
    assert embedder.waited > 0


def test_server_errors_are_retried(tmp_path):
    with serving(tmp_path, "--fail-first", "3") as url:
        embedder = _api("api:wordllama", url, embedding_api_batch=8)
        vectors = embedder.embed(TEXTS[:20])
        health = _health(url)
    assert health == {"status": "ok", "requests": 3 + 3, "throttled": 0, "failed": 3}
    assert embedder.retried == 3
    np.testing.assert_allclose(vectors, get_embedder("wordllama").embed(TEXTS[:20]), atol=1e-6)


def test_chunks_and_queries_get_the_local_models_vectors(server):
    embedder = _api("api:all-MiniLM-L6-v2", server)
    local = get_embedder("all-MiniLM-L6-v2")
    assert embedder.tokenize(LONG_TEXT) == local.tokenize(LONG_TEXT)
    chunks = chunk_text(LONG_TEXT, *embedder.tokenize(LONG_TEXT), size=64, overlap=8)
    expected = local.embed([chunk.text for chunk in chunks])
    np.testing.assert_allclose(embedder.embed_chunks(chunks), expected, atol=1e-4)
    np.testing.assert_allclose(embedder.embed_query(TEXTS[0]), local.embed_query(TEXTS[0]),
                               atol=1e-4)
    assert embedder.embed([]).shape == (0, 384)


def test_a_server_that_is_down_makes_embed_raise_after_the_retries():
    embedder = _api("api:wordllama", f"http://127.0.0.1:{free_port()}", embedding_api_retries=2)
    with pytest.raises(EmbeddingUnavailable, match=r"ConnectError.* after 3 tries"):
        embedder.embed(["hello"])
    assert embedder.retried == 2


def test_other_client_errors_are_not_retried(server):
    embedder = _api("api:wordllama", f"{server}/no-such-prefix")
    with pytest.raises(EmbeddingUnavailable, match="HTTP 404"):
        embedder.embed(["hello"])
    assert embedder.retried == 0


# A model of the service's own: any name, its dimension asked of the service

_DIM_OF_ANOTHER_PROCESS = """
import sys
from ingest_tasks.core.settings import Settings
from ingest_tasks.pipeline.embed import model_dim
print(model_dim("api:my-e5", Settings(embedding_api_url=sys.argv[1])))
"""


def test_a_model_of_its_own_name_is_asked_its_dimension_once_for_every_process(tmp_path, redis):
    with serving(tmp_path, "--model", "my-e5=wordllama") as url:
        listed = {model["id"] for model in httpx.get(f"{url}/v1/models").json()["data"]}
        dim = model_dim("api:my-e5", Settings(embedding_api_url=url))
        again = _api("api:my-e5", url).dim  # another embedder of this process
        other = subprocess.run([sys.executable, "-c", _DIM_OF_ANOTHER_PROCESS, url], cwd=ROOT,
                               capture_output=True, text=True, timeout=60, check=True)
        asked = _health(url)["requests"]
        embedder = _api("api:my-e5", url)
        vectors = embedder.embed(TEXTS[:8])
    assert listed == {"my-e5", *available_models()}
    assert dim == again == int(other.stdout) == 256 and asked == 1
    key = f"{EMBEDDING_DIM_KEY}{url}|my-e5"
    assert int(redis.get(key)) == 256 and 0 < redis.ttl(key) <= 24 * 3600
    assert embedder.name == "api:my-e5" and not embedder.static
    np.testing.assert_allclose(vectors, get_embedder("wordllama").embed(TEXTS[:8]), atol=1e-6)


def test_a_collection_or_a_service_of_another_dimension_is_refused(tmp_path):
    with (serving(tmp_path, "--model", "my-e5=wordllama") as url,
          memory_resources(embedding_api_url=url) as resources):
        target = Target("made-when-my-e5-was-minilm", "api:my-e5")
        resources.store.ensure(target.collection, target.model, 384)
        with pytest.raises(ModelMismatch, match=r"holds vectors of api:my-e5 \(384 dimensions\), "
                                                r"not of api:my-e5 \(256 dimensions\)"):
            resources.collection(target)
        remembered = HttpEmbedder("api:my-e5", resources.settings, CharBudget(2000), dim=384)
        with pytest.raises(ModelMismatch, match="answers model my-e5 with vectors of 256 "
                                                "dimensions, not 384"):
            remembered.embed(["a text"])
