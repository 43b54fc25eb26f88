"""Batch job state in Redis: counters while it runs, the summary when it ends.

A job can be run again under the same id (to resume it); each run has a number, and
whatever a task of an older run reports is ignored, so a re-run counts every document
once. Per-document results go to a Redis list, not through the chords, so their own
results stay a few counters per group however large the job. A job is sent as several
chords (see backpressure); the callback of the last one to end builds the summary.
"""

from __future__ import annotations

import json
import time

from .constants import JOB_DOCS_KEY, JOB_INDEX_KEY, JOB_KEY, JOB_SUMMARY_KEY
from .results import STATUSES, ProcessingResult, summarize

RUNNING, FINISHED, ERROR = "running", "finished", "error"
_COUNTERS = (*STATUSES, "chunks")
_SENDING = ("sent", "queue_depth", "waiting")  # groups sent so far; the producer's last look


def create(redis, job_id: str, total: int, groups: int, chords: int, ttl: int,
           sources: list[str], model: str = "") -> int:
    """Start a (new) run of a job with its size, sources and model; returns the run number."""
    key = JOB_KEY + job_id
    run = redis.hincrby(key, "run", 1)
    with redis.pipeline() as pipe:
        pipe.delete(key + ":groups", key + ":chords", JOB_DOCS_KEY + job_id,
                    JOB_SUMMARY_KEY + job_id)
        pipe.hdel(key, "finished", "error")
        pipe.hset(key, mapping={
            "job_id": job_id, "total": total, "groups": groups, "chords": chords,
            "created": time.time(), "status": RUNNING, "sources": json.dumps(sources),
            "model": model, "yielded_seconds": 0, **dict.fromkeys(_COUNTERS + _SENDING, 0),
        })
        for name in (key + ":groups", key + ":chords"):
            pipe.sadd(name, "")  # exists from the start, so it can expire
        for name in (key, key + ":groups", key + ":chords", JOB_DOCS_KEY + job_id):
            pipe.expire(name, ttl)
        pipe.zadd(JOB_INDEX_KEY, {job_id: time.time()})
        pipe.execute()
    return run


def record(redis, job_id: str, run: int, group: int, results: list[ProcessingResult],
           yielded: float = 0.0) -> bool:
    """Count a group's results into its run, once even if redelivered; False if stale.

    `yielded` is how long the group waited for the stream lane (see yielding).
    """
    key = JOB_KEY + job_id
    if _run(redis, job_id) != run or not redis.sadd(key + ":groups", f"{run}:{group}"):
        return False
    with redis.pipeline() as pipe:
        for status in STATUSES:
            pipe.hincrby(key, status, sum(r.status == status for r in results))
        pipe.hincrby(key, "chunks", sum(r.chunks for r in results))
        pipe.hincrbyfloat(key, "yielded_seconds", yielded)
        pipe.rpush(JOB_DOCS_KEY + job_id, *(json.dumps(r.to_dict()) for r in results))
        pipe.execute()
    return True


def sending(redis, job_id: str, run: int, sent: int, depth: int, waiting: bool) -> bool:
    """Record how far the producer got and what it saw of the queue; False if stale."""
    if _run(redis, job_id) != run:
        return False
    redis.hset(JOB_KEY + job_id, mapping={"sent": sent, "queue_depth": depth, "waiting": int(waiting)})
    return True


def chord_done(redis, job_id: str, run: int, chord: int) -> bool:
    """Count one of the run's chords as ended (once); True when it is the last one."""
    key = JOB_KEY + job_id
    if _run(redis, job_id) != run:
        return False
    redis.sadd(key + ":chords", f"{run}:{chord}")
    return redis.scard(key + ":chords") - 1 >= int(redis.hget(key, "chords") or 0)


def finish(redis, job_id: str, run: int, started: float, ttl: int) -> dict | None:
    """Build and store the run's summary from its recorded results; None if stale."""
    if _run(redis, job_id) != run:
        return None
    docs = redis.lrange(JOB_DOCS_KEY + job_id, 0, -1)
    results = [ProcessingResult.from_dict(json.loads(doc)) for doc in docs]
    summary = summarize(job_id, results, started, time.time())
    summary["yielded_seconds"] = round(float(redis.hget(JOB_KEY + job_id, "yielded_seconds") or 0), 2)
    with redis.pipeline() as pipe:
        pipe.set(JOB_SUMMARY_KEY + job_id, json.dumps(summary), ex=ttl)
        pipe.hset(JOB_KEY + job_id, mapping={"status": FINISHED, "finished": summary["finished"]})
        pipe.delete(JOB_KEY + job_id + ":groups", JOB_KEY + job_id + ":chords", JOB_DOCS_KEY + job_id)
        pipe.execute()
    return summary


def fail(redis, job_id: str, run: int, reason: str) -> bool:
    """Mark a run whose summary could not be built; False if the run is stale."""
    if _run(redis, job_id) != run:
        return False
    redis.hset(JOB_KEY + job_id, mapping={"status": ERROR, "error": reason})
    return True


def _run(redis, job_id: str) -> int:
    return int(redis.hget(JOB_KEY + job_id, "run") or 0)


def progress(redis, job_id: str) -> dict | None:
    """The job's counters, rate and ETA, or None for an unknown job."""
    fields = redis.hgetall(JOB_KEY + job_id)
    if not fields:
        return None
    for name in ("run", "total", "groups", "chords", *_COUNTERS, *_SENDING):
        fields[name] = int(fields.get(name, 0))
    for name in ("created", "finished", "yielded_seconds"):
        if name in fields:
            fields[name] = float(fields[name])
    fields["sources"] = json.loads(fields.get("sources", "[]"))
    fields["done"] = sum(fields[status] for status in STATUSES)
    elapsed = fields.get("finished", time.time()) - fields["created"]
    fields["docs_per_second"] = round(fields["done"] / elapsed, 2) if elapsed > 0 else 0.0
    left = fields["total"] - fields["done"]
    fields["eta_seconds"] = round(left / fields["docs_per_second"], 1) if fields["docs_per_second"] else None
    return fields


def recent(redis, limit: int = 20) -> list[dict]:
    """The newest jobs' progress, newest first; jobs whose state has expired are dropped."""
    found = []
    for job_id in redis.zrevrange(JOB_INDEX_KEY, 0, -1):
        state = progress(redis, job_id)
        if state is None:
            redis.zrem(JOB_INDEX_KEY, job_id)
        else:
            found.append(state)
        if len(found) == limit:
            break
    return found


def summary(redis, job_id: str) -> dict | None:
    """The job's summary, once its callback has run."""
    raw = redis.get(JOB_SUMMARY_KEY + job_id)
    return json.loads(raw) if raw else None
