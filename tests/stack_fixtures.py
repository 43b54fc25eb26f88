"""The real stack for integration and hostile-input tests: Redis, a Chroma server, both
pools and Flower, and moto's S3 server (tests/conftest.py registers these fixtures for
every folder).

Redis, the Chroma server and Flower come up once per session. Each test module gets a
collection prefix of its own, and the pools start again with it, so one module's
documents never outrank another's in a search.
"""

import os
from urllib.parse import urlparse

import pytest

from ingest_tasks.core.settings import Settings, get_settings
from ingest_tasks.ops.stack import Stack

POOLS = ["stream", "bulk"]


@pytest.fixture(scope="session")
def stack():
    """Bring Redis, the Chroma server and Flower up once (as `ingest up` does), down at the end."""
    import redis

    settings = get_settings()
    redis.Redis.from_url(settings.redis_url).flushdb()  # the suite's own server, or db
    stack = Stack(settings)
    stack.app.control.purge()  # a broker of its own (RabbitMQ) keeps messages across runs
    stack.up(["redis", "chroma", "flower"], report=lambda line: None)
    yield stack
    stack.down(report=lambda line: None)


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server where INGEST_S3_ENDPOINT_URL points (tests/conftest.py), up for the
    session; its URL. Workers started later reach it too."""
    from tests.servers import s3_serving  # not at import: it loads the embedding models' code

    settings = get_settings()
    port = urlparse(settings.s3_endpoint_url).port
    assert port is not None, settings.s3_endpoint_url
    with s3_serving(settings.state_dir, port) as url:
        yield url


@pytest.fixture(scope="module")
def settings(stack, request) -> Settings:
    """The settings of this module: its own collection prefix, served by pools started for it."""
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    os.environ["INGEST_COLLECTION_PREFIX"] = f"test-{module.replace('_', '-')}"
    get_settings.cache_clear()  # the CLI run by a test and the pools read the environment
    stack.down(POOLS, report=lambda line: None)
    stack.up(POOLS, report=lambda line: None)
    return get_settings()


@pytest.fixture(scope="module")
def client(settings):
    """The Python API, talking to the test stack with this module's prefix."""
    from ingest_tasks.interfaces.client import IngestClient

    return IngestClient(settings)


@pytest.fixture(scope="module")
def pool_pids(settings):
    """The pids of every worker process, main and children, when the module's pools came up."""
    return worker_pids()


def worker_pids() -> dict[str, set[int]]:
    """Each worker node's main pid and pool children's pids."""
    from ingest_tasks.lanes.factory import create_app

    stats = create_app(get_settings()).control.inspect(timeout=2).stats() or {}
    return {node: {s["pid"], *s["pool"]["processes"]} for node, s in stats.items()}
