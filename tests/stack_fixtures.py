"""The real stack for integration and hostile-input tests: Redis, a Chroma server, both
pools and Flower, brought up once per session (tests/conftest.py registers these fixtures
for every folder, so the session has one stack however many folders use it)."""

import pytest

from ingest_tasks.settings import get_settings
from ingest_tasks.stack import Stack


@pytest.fixture(scope="session")
def settings():
    """The settings every process of the test stack shares."""
    return get_settings()


@pytest.fixture(scope="session")
def stack(settings):
    """Bring the whole stack up once (as `ingest up` does) and down at the end."""
    import redis

    from ingest_tasks.celery import app

    redis.Redis.from_url(settings.redis_url).flushdb()  # the broker too, if it is this Redis
    app.control.purge()  # a broker of its own (RabbitMQ) keeps messages across runs
    stack = Stack(settings)
    stack.up(report=lambda line: None)
    yield stack
    stack.down(report=lambda line: None)


@pytest.fixture(scope="session")
def client(stack, settings):
    """The Python API, talking to the test stack."""
    from ingest_tasks.client import IngestClient

    return IngestClient(settings)


@pytest.fixture(scope="session")
def pool_pids(stack):
    """The pids of every worker process, main and children, when the stack came up."""
    return worker_pids()


def worker_pids() -> dict[str, set[int]]:
    """Each worker node's main pid and pool children's pids."""
    from ingest_tasks.celery import app

    stats = app.control.inspect(timeout=2).stats() or {}
    return {node: {s["pid"], *s["pool"]["processes"]} for node, s in stats.items()}
