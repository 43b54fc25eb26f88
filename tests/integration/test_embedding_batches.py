"""Issue 18's acceptance of the Batch-API bulk lane, on the real stack: the pools, the beat
(its poll every second), the Chroma server and the bundled embedding server, whose
batches take longer than the workers' visibility timeout.

A bulk job of 500 documents in batch mode ends exactly once in Chroma while documents of
it are edited and deleted on the stream lane, and the bulk pool is SIGKILLed while the job
waits for its batches.
"""

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from urllib.parse import urlparse

import httpx
import pytest
import redis as redis_lib

from ingest_tasks.core.polling import poll_until
from ingest_tasks.core.settings import get_settings
from ingest_tasks.state import embed_batches, registry
from ingest_tasks.sync import beat
from tests.integration.conftest import TIMEOUT, live_collection
from tests.integration.test_cli import ingest
from tests.servers import serving

MODEL = "api:wordllama"
VISIBILITY = 10  # seconds: a message unacknowledged this long is delivered again
BATCH_DELAY = 20  # seconds a batch takes: longer than the visibility timeout
ENV = {"INGEST_BULK_EMBEDDING": "batch", "INGEST_BATCH_POLL_SECONDS": "1",
       "INGEST_VISIBILITY_TIMEOUT": str(VISIBILITY), "INGEST_TASK_TIME_LIMIT": "8",
       "INGEST_TASK_SOFT_TIME_LIMIT": "6", "INGEST_DOCUMENT_TIME_LIMIT": "5",
       "INGEST_LOCK_LEASE_SECONDS": "2", "INGEST_UNACKED_RESTORE_INTERVAL": "1",
       "INGEST_UNACKED_RESTORE_THROTTLE": "1",
       "INGEST_PRELOAD_MODELS": MODEL}  # no first task loads it, within the short time limits


@pytest.fixture(scope="module")
def batch_settings(stack, request):
    """This module's settings in batch mode: its pools started on them, and a beat."""
    saved = {name: os.environ.get(name) for name in ENV}
    os.environ.update(ENV)
    get_settings.cache_clear()
    settings = request.getfixturevalue("settings")  # the pools start now, on ENV
    with _beat(settings, request.getfixturevalue("tmp_path_factory").mktemp("beat")):
        yield settings
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    get_settings.cache_clear()


@contextmanager
def _beat(settings, folder):
    """`python -m workers beat` for the block, once it holds the schedule's lock."""
    redis = redis_lib.Redis.from_url(settings.redis_url)
    with open(folder / "beat.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "workers", "beat"], stdout=log,
                                   stderr=subprocess.STDOUT)
    try:
        poll_until(lambda: redis.exists(beat.lock_key(settings)), 60, "the beat's lock")
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def write_docs(folder, count: int):
    """`count` small Markdown documents, one chunk each."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        (folder / f"doc-{n:04d}.md").write_text(
            f"# Note {n}\n\nField note {n}: the tide came in at {n % 12} o'clock on day {n}.\n")
    return folder


def test_a_batch_job_ends_exactly_once_through_edits_deletes_and_a_killed_pool(
        batch_settings, stack, tmp_path):
    from ingest_tasks.interfaces.client import IngestClient

    client = IngestClient(batch_settings)
    redis, prefix = client.resources.redis, batch_settings.collection_prefix
    port = urlparse(batch_settings.embedding_api_url).port
    folder = write_docs(tmp_path / "batched", 500)
    with live_collection(client, batch_settings, MODEL), \
            serving(tmp_path, "--batch-delay", str(BATCH_DELAY), port=port) as url:
        job_id = client.submit_batch([folder])
        groups = client.job_status(job_id)["groups"]
        poll_until(lambda: client.job_status(job_id)["embedding_batches"] == groups, TIMEOUT,
                   "every group waiting for its batch")
        status = ingest("status").stdout + ingest("status", job_id).stdout
        edited = [f"doc-{n:04d}.md" for n in range(0, 500, 20)]  # 25 edits
        deleted = [f"doc-{n:04d}.md" for n in range(10, 500, 20)]  # 25 deletes
        tasks = [client.submit_content(doc_id, f"# Edited\n\nNote {doc_id} edited on the stream "
                                       "lane.", "edited.md").id for doc_id in edited]
        tasks += [client.delete(doc_id).id for doc_id in deleted]
        client.wait_tasks(tasks, timeout=TIMEOUT)
        os.killpg(stack.pid("bulk"), signal.SIGKILL)  # main process and pool children at once
        poll_until(lambda: stack.pid("bulk") is None, 30, "the killed pool gone")
        waiting = client.job_status(job_id)  # nothing polls: the job waits as it was
        stack.up(["bulk"], report=lambda line: None)
        summary = client.wait_job(job_id, timeout=TIMEOUT + BATCH_DELAY)["summary"]
        billed = httpx.get(f"{url}/usage").json()
        name = client.resources.collection()
        ids = [f"doc-{n:04d}.md" for n in range(500)]
        stored = client.resources.store.chunks_of(name, ids)
        entries = registry.get_many(redis, name, ids)
        still_open = embed_batches.open_ids(redis, prefix)
    assert f"embedding batches in flight: 500 documents of {groups} groups" in status
    assert f"{groups} groups waiting for embedding batches" in status
    assert waiting["status"] == "running" and waiting["done"] == 0
    assert waiting["embedding_batches"] == groups  # killed while every group waited
    assert (summary["committed"], summary["superseded"], summary["failed"]) == (450, 50, 0)
    assert billed["batches"] == groups  # no group sent twice, though its worker was killed
    assert billed["batch_texts"] == 500  # each document's one chunk embedded once, in a batch
    assert billed["texts"] == len(edited)  # the stream lane's edits, online
    assert still_open == []
    for doc_id in ids:
        chunks = stored.get(doc_id, [])
        if doc_id in deleted:
            assert chunks == [] and entries[doc_id].state == "deleted"
            continue
        assert len(chunks) == entries[doc_id].chunks == 1, doc_id  # once, and no duplicate
        meta = chunks[0][1]
        assert meta["version"] == entries[doc_id].version
        assert meta["source"].endswith("edited.md") == (doc_id in edited)
