"""Retries and error paths of the tasks, without a Chroma server."""

import socket

import pytest
from celery.signals import task_retry

from ingest_tasks.core.polling import poll_until
from ingest_tasks.core.settings import get_settings
from ingest_tasks.interfaces.client import IngestClient
from ingest_tasks.lanes import batch, tasks
from ingest_tasks.pipeline.resources import Resources
from ingest_tasks.pipeline.sources import discover
from ingest_tasks.state import jobs


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def no_store(worker, monkeypatch):
    """The worker's resources point at a Chroma port where nothing listens."""
    settings = get_settings().model_copy(update={"chroma_port": _closed_port()})
    resources = Resources(settings)
    monkeypatch.setattr(worker.app, "_resources", resources)
    return resources


@pytest.fixture
def retries():
    """The names of tasks retried while the test runs."""
    seen = []

    def count(sender, **_):
        seen.append(sender.name)

    task_retry.connect(count, weak=False)
    yield seen
    task_retry.disconnect(count)


@pytest.fixture
def document(tmp_path):
    path = tmp_path / "note.md"
    path.write_text("# Outage\n\nThe store is down, so this write must be retried. " * 20)
    return path


def test_store_outage_is_retried_then_becomes_a_failure_record(
        worker, no_store, retries, document, monkeypatch, caplog):
    monkeypatch.setattr(worker.app.tasks[tasks.STREAM_INGEST], "max_retries", 1)
    result = IngestClient().submit(document).wait(timeout=120)[0]
    assert retries == ["ingest.stream.ingest"]
    assert result["status"] == "failed"
    assert result["reason"].startswith("store-unavailable: "), result["reason"]

    [retry] = [r for r in caplog.records if r.name == "ingest.retry"]  # the log says why
    assert retry.levelname == "WARNING"
    assert retry.fields == {"task": "ingest.stream.ingest", "task_id": retry.fields["task_id"],
                            "attempt": 1, "max_attempts": 2, "countdown": retry.fields["countdown"],
                            "error": "StoreUnavailable", "reason": result["reason"]}
    assert retry.fields["countdown"] in (0, 1)  # drawn up to the first backoff, 1 s
    assert retry.getMessage().startswith("task=ingest.stream.ingest task_id=")
    [outcome] = [r for r in caplog.records if r.name == "ingest.outcome"]  # once, after the retry
    assert outcome.levelname == "WARNING"
    assert outcome.fields["task_id"] == retry.fields["task_id"]
    assert {k: outcome.fields[k] for k in ("doc_id", "job_id", "lane", "outcome", "reason")} == {
        "doc_id": "note.md", "job_id": None, "lane": "stream", "outcome": "failed",
        "reason": result["reason"]}


def test_a_group_that_raises_marks_its_job_failed_through_the_error_path(
        worker, no_store, document, monkeypatch):
    def bug(*_, **__):
        raise RuntimeError("a bug, not a bad document")

    monkeypatch.setattr(tasks.documents, "ingest_documents", bug)
    refs, _ = discover([document])
    job_id = batch.start_job(refs, worker.app)
    redis = no_store.redis
    poll_until(lambda: jobs.progress(redis, job_id)["status"] != jobs.RUNNING, 60, "job end")
    state = jobs.progress(redis, job_id)
    assert state["status"] == jobs.ERROR
    assert "a bug, not a bad document" in state["error"]
