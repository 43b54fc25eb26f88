"""The Python API for applications: submit, delete, batch and resume, job status, search."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from . import batch, jobs, pipeline
from .errors import SourceError
from .resources import Resources
from .settings import Settings, get_settings
from .sources import discover, file_ref


class IngestClient:
    """Sends work to the two lanes and reads job state and the index."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or get_settings()
        self.resources = Resources(self.settings)

    def submit(self, path: str | Path, doc_id: str | None = None, version: int | None = None):
        """Stream one document by reference; returns the task's AsyncResult.

        The version defaults to the file's modification time (see DocRef).
        """
        from .tasks import ingest_document

        return ingest_document.delay(file_ref(path, doc_id, version).to_dict())

    def delete(self, doc_id: str, version: int | None = None):
        """Stream the removal of one document; returns the task's AsyncResult.

        The tombstone's version defaults to now, so it outranks every copy saved before.
        """
        from .tasks import delete_document

        return delete_document.delay(doc_id, version if version is not None else time.time_ns())

    def submit_batch(self, sources: list[str | Path], job_id: str | None = None,
                     model: str | None = None) -> str:
        """Send files and folders to the bulk lane as one job; returns the job id.

        Given the id of an earlier job, this runs it again: documents it already
        committed at the same version are skipped, so the run resumes where it stopped.
        `model` embeds into that model's collection instead of the configured one.
        """
        refs, _skipped = discover(sources)
        if not refs:
            raise SourceError("no documents to ingest in " + ", ".join(map(str, sources)))
        sources = [str(Path(source).resolve()) for source in sources]
        return batch.start_job(refs, self.resources, job_id, model, sources)

    def resume(self, job_id: str) -> str:
        """Run a job again over the sources it was given; returns its id."""
        state = jobs.progress(self.resources.redis, job_id)
        if state is None:
            raise KeyError(f"unknown job {job_id}")
        return self.submit_batch(state["sources"], job_id, state.get("model") or None)

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
