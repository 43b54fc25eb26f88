"""ProcessingResult per document and the job summary the chord callback builds."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

COMMITTED = "committed"  # chunks written at this version
FAILED = "failed"  # bad input, or a service still down after every retry: see reason
DELETED = "deleted"  # chunks removed, tombstone recorded
UNCHANGED = "unchanged"  # already held at this version or with this text: nothing embedded
SUPERSEDED = "superseded"  # a newer version or a later delete is held: this one is dropped
STATUSES = (COMMITTED, FAILED, DELETED, UNCHANGED, SUPERSEDED)


@dataclass
class ProcessingResult:
    """What happened to one document: small enough to travel as a chord result."""

    doc_id: str
    source: str
    status: str
    reason: str = ""
    chunks: int = 0
    tokens: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    @classmethod
    def failure(cls, doc_id: str, source: str, reason: str, **timings: float) -> ProcessingResult:
        """A failure record with its reason."""
        return cls(doc_id, source, FAILED, reason=reason, timings=timings)

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ProcessingResult:
        """Inverse of to_dict."""
        return cls(**data)


def summarize(job_id: str, results: list[ProcessingResult], started: float, finished: float) -> dict:
    """Aggregate per-document results into a job summary (a JSON-ready dict)."""
    by_status = Counter(r.status for r in results)
    by_reason = Counter(r.reason.split(":", 1)[0] for r in results if r.status == FAILED)
    wall = max(finished - started, 1e-9)
    return {
        "job_id": job_id,
        "total": len(results),
        **{status: by_status[status] for status in STATUSES},
        "failures_by_reason": dict(by_reason),
        "chunks": sum(r.chunks for r in results),
        "tokens": sum(r.tokens for r in results),
        "started": started,
        "finished": finished,
        "wall_seconds": round(wall, 3),
        "docs_per_second": round(len(results) / wall, 2),
        "documents": [r.to_dict() for r in results],
    }
