"""Batch job state in Redis: counters while it runs, the summary when it ends."""

from __future__ import annotations

import json
import time

from .constants import JOB_INDEX_KEY, JOB_KEY, JOB_SUMMARY_KEY
from .results import COMMITTED, FAILED, ProcessingResult

RUNNING, FINISHED, ERROR = "running", "finished", "error"


def create(redis, job_id: str, total: int, groups: int, ttl: int) -> None:
    """Record a new job with its size."""
    key = JOB_KEY + job_id
    with redis.pipeline() as pipe:
        pipe.delete(key, key + ":groups", JOB_SUMMARY_KEY + job_id)
        pipe.hset(key, mapping={
            "job_id": job_id, "total": total, "groups": groups, COMMITTED: 0, FAILED: 0,
            "chunks": 0, "created": time.time(), "status": RUNNING,
        })
        pipe.sadd(key + ":groups", -1)  # exists from the start, so it can expire
        pipe.expire(key, ttl)
        pipe.expire(key + ":groups", ttl)
        pipe.zadd(JOB_INDEX_KEY, {job_id: time.time()})
        pipe.execute()


def record(redis, job_id: str, group: int, results: list[ProcessingResult]) -> None:
    """Count a group's results into the job's progress, once even if the group is redelivered."""
    key = JOB_KEY + job_id
    if not redis.sadd(key + ":groups", group):
        return
    with redis.pipeline() as pipe:
        for status in (COMMITTED, FAILED):
            pipe.hincrby(key, status, sum(r.status == status for r in results))
        pipe.hincrby(key, "chunks", sum(r.chunks for r in results))
        pipe.execute()


def finish(redis, job_id: str, summary: dict, ttl: int) -> None:
    """Store the job's summary and mark it finished."""
    with redis.pipeline() as pipe:
        pipe.set(JOB_SUMMARY_KEY + job_id, json.dumps(summary), ex=ttl)
        pipe.hset(JOB_KEY + job_id, mapping={"status": FINISHED, "finished": time.time()})
        pipe.delete(JOB_KEY + job_id + ":groups")
        pipe.execute()


def fail(redis, job_id: str, reason: str) -> None:
    """Mark a job whose summary could not be built."""
    redis.hset(JOB_KEY + job_id, mapping={"status": ERROR, "error": reason})


def progress(redis, job_id: str) -> dict | None:
    """The job's counters, or None for an unknown job."""
    fields = redis.hgetall(JOB_KEY + job_id)
    if not fields:
        return None
    for name in ("total", "groups", COMMITTED, FAILED, "chunks"):
        fields[name] = int(fields[name])
    for name in ("created", "finished"):
        if name in fields:
            fields[name] = float(fields[name])
    return fields


def summary(redis, job_id: str) -> dict | None:
    """The job's summary, once its callback has run."""
    raw = redis.get(JOB_SUMMARY_KEY + job_id)
    return json.loads(raw) if raw else None
