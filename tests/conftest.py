"""Test settings: a Redis database of their own, a Chroma port and a state folder of their own.

They are set before anything reads the settings, so the Celery app, the workers the
tests start and the tests themselves all read the same INGEST_* environment.
"""

import os
import tempfile

from ingest_tasks.stack import free_port
from tests.corpus import CORPUS_DIR

pytest_plugins = ["tests.stack_fixtures"]


def pytest_configure(config):
    """Point every INGEST_* setting at test-only places."""
    state = tempfile.mkdtemp(prefix="ingest-tests-")
    os.environ.update({
        "INGEST_REDIS_URL": os.environ.get("INGEST_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
        "INGEST_CHROMA_PORT": str(free_port()),
        "INGEST_FLOWER_PORT": str(free_port()),
        "INGEST_EMBEDDING_API_URL": f"http://127.0.0.1:{free_port()}",
        "INGEST_STATE_DIR": state,
        "INGEST_COLLECTION_PREFIX": "test",
        # workers read files where tests write them (tmp_path) and the shared corpus
        "INGEST_SOURCE_ROOTS": os.pathsep.join([tempfile.gettempdir(), str(CORPUS_DIR)]),
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
    })
    if os.environ.get("INGEST_TEST_BROKER_URL"):  # e.g. amqp://: the suite on another broker
        os.environ["INGEST_BROKER_URL"] = os.environ["INGEST_TEST_BROKER_URL"]
