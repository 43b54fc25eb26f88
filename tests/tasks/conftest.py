"""Tasks through a real in-process worker on the real Redis (the middle test layer)."""

import pytest


@pytest.fixture(scope="module")
def worker():
    """The project's own app served by a solo worker in this process, on both queues."""
    from celery.contrib.testing.worker import start_worker

    from ingest_tasks.core.keys import BULK_QUEUE, STREAM_QUEUE
    from ingest_tasks.core.settings import get_settings
    from ingest_tasks.lanes.factory import create_app

    with start_worker(create_app(get_settings(), current=True), pool="solo", perform_ping_check=False,
                      queues=[STREAM_QUEUE, BULK_QUEUE], shutdown_timeout=30) as worker:
        yield worker


@pytest.fixture
def resources():
    """Resources on the in-memory store and the real Redis (tests.tasks.in_memory)."""
    from tests.tasks.in_memory import memory_resources

    with memory_resources() as resources:
        yield resources


@pytest.fixture
def embedded(resources, monkeypatch):
    """The texts of the chunks the model embeds during the test."""
    embedder, texts = resources.embedder(), []
    original = embedder.embed_chunks

    def spy(chunks):
        texts.extend(chunk.text for chunk in chunks)
        return original(chunks)

    monkeypatch.setattr(embedder, "embed_chunks", spy)
    return texts
