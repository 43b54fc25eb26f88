"""What a submission returns, whichever lane took it: a handle to wait on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ingest_tasks.core.keys import BULK_QUEUE, STREAM_QUEUE


@dataclass
class StreamHandle:
    """Documents sent one task each to the stream lane."""

    results: list  # AsyncResult per document
    lane: str = STREAM_QUEUE

    @property
    def id(self) -> str:
        """The task id of the first document (one per document: `task_ids`)."""
        return self.results[0].id

    @property
    def task_ids(self) -> list[str]:
        """Every document's task id."""
        return [result.id for result in self.results]

    def wait(self, timeout: float | None = None) -> list[dict]:
        """Every document's ProcessingResult, once all are done."""
        return [result.get(timeout=timeout) for result in self.results]


class JobWaiter(Protocol):
    """What a JobHandle waits through: the client that started the job."""

    def wait_job(self, job_id: str, *, timeout: float | None = None) -> dict: ...


@dataclass
class JobHandle:
    """Documents sent as one batch job to the bulk lane."""

    client: JobWaiter
    id: str
    lane: str = BULK_QUEUE

    def wait(self, timeout: float | None = None) -> list[dict]:
        """Every document's ProcessingResult, once the job has finished."""
        state = self.client.wait_job(self.id, timeout=timeout)
        if state.get("summary") is None:
            raise RuntimeError(f"job {self.id} ended with {state['status']}: {state.get('error')}")
        return state["summary"]["documents"]
