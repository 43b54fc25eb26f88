"""The Python API for applications: submit, delete, batch, job status, search."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from . import batch, jobs, pipeline
from .constants import VERSION_CLOCK_KEY
from .errors import SourceError
from .resources import Resources
from .settings import Settings, get_settings
from .sources import DocRef, discover


class IngestClient:
    """Sends work to the two lanes and reads job state and the index."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or get_settings()
        self.resources = Resources(self.settings)

    def _versions(self, count: int) -> range:
        """`count` fresh versions from the one monotonic clock."""
        last = self.resources.redis.incrby(VERSION_CLOCK_KEY, count)
        return range(last - count + 1, last + 1)

    def submit(self, path: str | Path, doc_id: str | None = None, version: int | None = None):
        """Stream one document by reference; returns the task's AsyncResult."""
        from .tasks import ingest_document

        path = Path(path)
        if not path.is_file():
            raise SourceError(f"no such file: {path}")
        version = version if version is not None else self._versions(1)[0]
        ref = DocRef(doc_id or path.name, str(path.resolve()), version, path.stat().st_size)
        return ingest_document.delay(ref.to_dict())

    def delete(self, doc_id: str):
        """Stream the removal of one document; returns the task's AsyncResult."""
        from .tasks import delete_document

        return delete_document.delay(doc_id)

    def submit_batch(self, sources: list[str | Path], job_id: str | None = None) -> str:
        """Send files and folders to the bulk lane as one job; returns the job id."""
        refs, _skipped = discover(sources)
        if not refs:
            raise SourceError("no documents to ingest in " + ", ".join(map(str, sources)))
        versions = self._versions(len(refs))
        refs = [DocRef(r.doc_id, r.source, v, r.size) for r, v in zip(refs, versions)]
        return batch.start_job(refs, self.resources.redis, self.settings, job_id)

    def job_status(self, job_id: str) -> dict | None:
        """The job's counters, with its summary once it has finished."""
        state = jobs.progress(self.resources.redis, job_id)
        if state is not None and state["status"] == jobs.FINISHED:
            state["summary"] = jobs.summary(self.resources.redis, job_id)
        return state

    def wait_job(self, job_id: str, on_progress: Callable[[dict], None] | None = None,
                 poll: float = 0.25, timeout: float | None = None) -> dict:
        """Poll the job until it ends, reporting progress; returns its final status."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            state = self.job_status(job_id)
            if state is None:
                raise KeyError(f"unknown job {job_id}")
            if on_progress:
                on_progress(state)
            if state["status"] != jobs.RUNNING:
                return state
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still running after {timeout} s")
            time.sleep(poll)

    def search(self, text: str, k: int = 5) -> list:
        """The k chunks nearest to `text`, best first."""
        return pipeline.search(text, self.resources, k)
