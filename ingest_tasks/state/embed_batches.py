"""Bulk groups waiting for a Batch API's answers, kept in Redis so that restarts lose nothing.

A group of a job in batch mode (lanes/embedding_batches.py) stores its parsed documents
and its batches here before it sends anything, and the poller commits from here. Keys,
under the collection prefix's set of open submissions (EMBED_BATCHES_KEY{prefix}):

    embed-batch:{id}        hash: the submission's JSON (job, run, group, target, model,
                            immediate results) and its batches' JSON
    embed-batch:{id}:docs   hash: document number -> its parsed document (ref, chunks, hash)

A submission's id is its job, run and group: a redelivered group finds it and sends only
what was not sent.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from ingest_tasks.core.keys import EMBED_BATCH_KEY, EMBED_BATCHES_KEY

if TYPE_CHECKING:
    from redis import Redis


@dataclass
class Batch:
    """One batch of a submission: the documents (by number) whose requests it carries."""

    docs: list[int]
    attempt: int = 1
    file_id: str = ""  # set once uploaded
    batch_id: str = ""  # set once the service made it
    status: str = "unsent"  # then the service's: validating, in_progress, ... , or lost
    ended: bool = False  # its answers are committed or reported


@dataclass
class Submission:
    """A bulk group's documents waiting for their vectors."""

    id: str
    job_id: str
    run: int
    group: int
    target: str  # the Target's JSON: the collection and model the vectors are for
    model: str | None  # the model the group was sent with (None: the live one)
    created: float = field(default_factory=time.time)
    results: list[dict] = field(default_factory=list)  # outcomes known before any batch
    batches: list[Batch] = field(default_factory=list)

    @property
    def open(self) -> list[Batch]:
        """Its batches not yet ended."""
        return [batch for batch in self.batches if not batch.ended]


def submission_id(job_id: str, run: int, group: int) -> str:
    """The id of a job's run's group's submission."""
    return f"{job_id}:{run}:{group}"


def store(redis: Redis, prefix: str, sub: Submission, docs: list[dict]) -> None:
    """Keep a new submission and its documents, and list it as open."""
    key = EMBED_BATCH_KEY + sub.id
    with redis.pipeline() as pipe:
        stored: dict[str | bytes, str] = {str(n): json.dumps(doc) for n, doc in enumerate(docs)}
        if stored:
            pipe.hset(key + ":docs", mapping=stored)
        pipe.hset(key, mapping=_fields(sub))
        pipe.zadd(EMBED_BATCHES_KEY + prefix, {sub.id: sub.created})
        pipe.execute()


def save(redis: Redis, sub: Submission) -> None:
    """Write back a submission's batches and results."""
    redis.hset(EMBED_BATCH_KEY + sub.id, mapping=_fields(sub))


def load(redis: Redis, sub_id: str) -> Submission | None:
    """A submission, or None if there is none (never made, or closed)."""
    fields = redis.hgetall(EMBED_BATCH_KEY + sub_id)
    if not fields:
        return None
    data = json.loads(fields["submission"])
    batches = [Batch(**batch) for batch in json.loads(fields["batches"])]
    return Submission(**data, batches=batches)


def documents(redis: Redis, sub_id: str, numbers: list[int]) -> dict[int, dict]:
    """Parsed documents of a submission by number."""
    if not numbers:
        return {}
    raw = redis.hmget(EMBED_BATCH_KEY + sub_id + ":docs", [str(n) for n in numbers])
    return {n: json.loads(doc) for n, doc in zip(numbers, raw) if doc is not None}


def close(redis: Redis, prefix: str, sub_id: str) -> None:
    """Forget a submission whose every batch ended."""
    key = EMBED_BATCH_KEY + sub_id
    with redis.pipeline() as pipe:
        pipe.zrem(EMBED_BATCHES_KEY + prefix, sub_id)
        pipe.delete(key, key + ":docs")
        pipe.execute()


def open_ids(redis: Redis, prefix: str) -> list[str]:
    """The ids of the open submissions, oldest first."""
    return redis.zrange(EMBED_BATCHES_KEY + prefix, 0, -1)


def in_flight(redis: Redis, prefix: str) -> list[dict]:
    """Each open submission's job, group, age and batches, for status pages."""
    found = []
    for sub_id in open_ids(redis, prefix):
        sub = load(redis, sub_id)
        if sub is None:
            continue
        found.append({"job_id": sub.job_id, "group": sub.group, "created": sub.created,
                      "documents": sum(len(b.docs) for b in sub.open),
                      "batches": [{"id": b.batch_id, "status": b.status, "attempt": b.attempt,
                                   "documents": len(b.docs)} for b in sub.open]})
    return found


def _fields(sub: Submission) -> dict[str | bytes, str]:
    data = {k: v for k, v in asdict(sub).items() if k != "batches"}
    return {"submission": json.dumps(data),
            "batches": json.dumps([asdict(batch) for batch in sub.batches])}
