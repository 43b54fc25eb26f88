"""Batch job state in Redis: counters while it runs, the summary when it ends.

A job can be run again under the same id (to resume it); each run has a number, and
whatever a task of an older run reports is ignored, so a re-run counts every document
once. Per-document results go to a Redis hash keyed by document id, not through the
chords, so their own results stay a few counters per group however large the job. A
document's outcome is its last across redeliveries and retries, except that a failure
never replaces a success, nor `unchanged` a `committed` (the later attempt found what an
earlier one wrote); the counters follow, so they always count each document once. A job
is sent as several chords (see backpressure). The group that records last builds the
summary, and so does the callback of the last chord to end, should that group's worker
die before (the broker can lose a callback: Redis's transport pops a message before the
worker notes it as unacknowledged, and a worker killed in between loses it); an outcome recorded
later (a redelivered copy ending after it) builds it again: the summary always agrees
with the store.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from ingest_tasks.core.keys import JOB_DOCS_KEY, JOB_INDEX_KEY, JOB_KEY, JOB_SUMMARY_KEY
from ingest_tasks.core.results import STATUSES, ProcessingResult, summarize
from ingest_tasks.state.timelines import phases

if TYPE_CHECKING:
    from redis import Redis

RUNNING, FINISHED, ERROR = "running", "finished", "error"
_COUNTERS = (*STATUSES, "chunks")
_SENDING = ("sent", "queue_depth", "waiting")  # groups sent so far; the producer's last look


def create(redis: Redis, job_id: str, total: int, groups: int, chords: int, ttl: int,
           sources: list[str], model: str = "", metadata: dict | None = None) -> int:
    """Start a (new) run of a job with its size, sources, model and the caller's metadata of
    its documents; returns the run number."""
    key = JOB_KEY + job_id
    run = redis.hincrby(key, "run", 1)
    with redis.pipeline() as pipe:
        pipe.delete(key + ":groups", key + ":chords", key + ":batches", key + ":timeline",
                    JOB_DOCS_KEY + job_id, JOB_SUMMARY_KEY + job_id)
        pipe.hdel(key, "finished", "error", "started")
        pipe.hset(key, mapping={
            "job_id": job_id, "total": total, "groups": groups, "chords": chords,
            "created": time.time(), "status": RUNNING, "sources": json.dumps(sources),
            "model": model, "metadata": json.dumps(metadata or {}), "yielded_seconds": 0,
            "revision": 0, "recorded": 0,
            **dict.fromkeys(_COUNTERS + _SENDING, 0),
        })
        for name in (key + ":groups", key + ":chords"):
            pipe.sadd(name, "")  # exists from the start, so it can expire
        for name in (key, key + ":groups", key + ":chords", JOB_DOCS_KEY + job_id):
            pipe.expire(name, ttl)
        pipe.zadd(JOB_INDEX_KEY, {job_id: time.time()})
        pipe.execute()
    return run


# KEYS: the job, its recorded groups, its documents, its groups' timelines; ARGV: run,
# "run:group", seconds yielded, the group's timeline JSON ('' for none), then doc id,
# status, chunks, result JSON of each. A group's embedding batches record as
# "run:group/batch", not counted in 'recorded' (the job's groups that recorded). Returns
# {counted (1: the group's first record, 0: again, -1: stale run), the job's status,
# 1 if every group of the job has recorded}.
_RECORD = """
if redis.call('hget', KEYS[1], 'run') ~= ARGV[1] then return {-1, '', 0} end
local first = redis.call('sadd', KEYS[2], ARGV[2])
if first == 1 then
  redis.call('hincrbyfloat', KEYS[1], 'yielded_seconds', ARGV[3])
  if not string.find(ARGV[2], '/', 1, true) then redis.call('hincrby', KEYS[1], 'recorded', 1) end
end
if ARGV[4] ~= '' then
  redis.call('hset', KEYS[4], ARGV[2], ARGV[4])
  if redis.call('ttl', KEYS[4]) == -1 then redis.call('expire', KEYS[4], redis.call('ttl', KEYS[1])) end
end
for i = 5, #ARGV, 4 do
  local doc, status, chunks = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local old, keep = redis.call('hget', KEYS[3], doc), false
  if old then
    local was = cjson.decode(old)
    keep = (status == 'failed' and was.status ~= 'failed')
           or (status == 'unchanged' and was.status == 'committed')
    if not keep then
      redis.call('hincrby', KEYS[1], was.status, -1)
      redis.call('hincrby', KEYS[1], 'chunks', -was.chunks)
    end
  end
  if not keep then
    redis.call('hset', KEYS[3], doc, ARGV[i + 3])
    if redis.call('ttl', KEYS[3]) == -1 then redis.call('expire', KEYS[3], redis.call('ttl', KEYS[1])) end
    redis.call('hincrby', KEYS[1], status, 1)
    redis.call('hincrby', KEYS[1], 'chunks', chunks)
    redis.call('hincrby', KEYS[1], 'revision', 1)
  end
end
local all = tonumber(redis.call('hget', KEYS[1], 'recorded') or 0)
            >= tonumber(redis.call('hget', KEYS[1], 'groups') or 0)
return {first, redis.call('hget', KEYS[1], 'status'), all and 1 or 0}
"""


def record(redis: Redis, job_id: str, run: int, group: int | str, results: list[ProcessingResult],
           yielded: float = 0.0, timeline: dict | None = None) -> bool:
    """Record a group's outcomes in its run; True the first time this group is recorded,
    False for a redelivered copy (its outcomes still count, see above) or a stale run.
    Once every group has recorded and none waits for an embedding batch, the run ends.

    `yielded` is how long the group waited for the stream lane (see yielding); `timeline`,
    the group's (core.timeline), goes into the job summary's phases (a redelivered copy's
    replaces the first's).
    """
    key = JOB_KEY + job_id
    args: list = [run, f"{run}:{group}", yielded, json.dumps(timeline) if timeline else ""]
    for result in results:  # an id refused for a lone surrogate is still recorded: as bytes
        doc_id = result.doc_id.encode("utf-8", "surrogatepass")
        args += [doc_id, result.status, result.chunks, json.dumps(result.to_dict())]
    counted, status, everyone = redis.register_script(_RECORD)(
        keys=[key, key + ":groups", JOB_DOCS_KEY + job_id, key + ":timeline"], args=args)
    if counted == -1:
        return False
    if status == FINISHED:  # recorded after the summary was built: build it again
        _summarize(redis, job_id, run)
    elif status == RUNNING and everyone and not redis.scard(key + ":batches"):
        finish(redis, job_id, run, float(redis.hget(key, "created") or 0), redis.ttl(key))
    return counted == 1


def sending(redis: Redis, job_id: str, run: int, sent: int, depth: int, waiting: bool) -> bool:
    """Record how far the producer got and what it saw of the queue; False if stale."""
    if _run(redis, job_id) != run:
        return False
    redis.hset(JOB_KEY + job_id, mapping={"sent": sent, "queue_depth": depth, "waiting": int(waiting)})
    return True


def chord_done(redis: Redis, job_id: str, run: int, chord: int) -> bool:
    """Count one of the run's chords as ended (once); True when it is the last one and no
    group waits for an embedding batch (the last batch's commit ends the job then)."""
    key = JOB_KEY + job_id
    if _run(redis, job_id) != run or redis.hget(key, "status") != RUNNING:
        return False  # stale, or ended by its last group's record
    redis.sadd(key + ":chords", f"{run}:{chord}")
    return _chords_ended(redis, key) and not redis.scard(key + ":batches")


def _chords_ended(redis: Redis, key: str) -> bool:
    return redis.scard(key + ":chords") - 1 >= int(redis.hget(key, "chords") or 0)


def await_batch(redis: Redis, job_id: str, run: int, submission: str) -> None:
    """Note that a group of the run waits for an embedding batch (see embed_batches)."""
    if _run(redis, job_id) == run:
        key = JOB_KEY + job_id + ":batches"
        redis.sadd(key, submission)
        redis.expire(key, redis.ttl(JOB_KEY + job_id))


def batch_done(redis: Redis, job_id: str, run: int, submission: str, ttl: int) -> None:
    """A group's embedding batches are committed; if that ends the run (its chords ended,
    and no other group waits), build its summary, timed from the job's creation."""
    key = JOB_KEY + job_id
    if _run(redis, job_id) != run:
        return
    redis.srem(key + ":batches", submission)
    if redis.hget(key, "status") == RUNNING and not redis.scard(key + ":batches") \
            and _chords_ended(redis, key):
        finish(redis, job_id, run, float(redis.hget(key, "created") or 0), ttl)


def waiting_batches(redis: Redis, job_id: str) -> int:
    """How many of the job's groups wait for an embedding batch."""
    return redis.scard(JOB_KEY + job_id + ":batches")


_FINISHED = """
if redis.call('hget', KEYS[1], 'run') ~= ARGV[1] then return 0 end
redis.call('hset', KEYS[1], 'status', 'finished')
return 1
"""


def finish(redis: Redis, job_id: str, run: int, started: float, ttl: int) -> dict | None:
    """Build and store the run's summary from its recorded results; None if stale."""
    if _run(redis, job_id) != run:
        return None
    key = JOB_KEY + job_id
    with redis.pipeline() as pipe:
        pipe.hset(key, mapping={"finished": time.time(), "started": started})
        pipe.delete(key + ":chords")
        for name in (key + ":groups", key + ":timeline", JOB_DOCS_KEY + job_id):
            pipe.expire(name, ttl)  # copies redelivered later still record, and rebuild
        pipe.execute()
    # The summary is stored before the status says finished, so no reader finds a
    # finished job without one; built again after, for outcomes recorded in between (they
    # saw the job running, so did not rebuild it themselves).
    if _summarize(redis, job_id, run, ttl) is None:
        return None
    if not redis.register_script(_FINISHED)(keys=[key], args=[run]):
        return None  # a newer run began meanwhile
    return _summarize(redis, job_id, run, ttl)


def _summarize(redis: Redis, job_id: str, run: int, ttl: int | None = None) -> dict | None:
    """Store the summary of the run's outcomes as recorded now, again until none came
    meanwhile; None if the run is stale."""
    key = JOB_KEY + job_id
    while True:
        with redis.pipeline() as pipe:
            pipe.hmget(key, "run", "revision", "started", "finished", "yielded_seconds")
            pipe.hvals(JOB_DOCS_KEY + job_id)
            pipe.ttl(key)
            (current, revision, started, finished, yielded), docs, left = pipe.execute()
        if int(current or 0) != run:
            return None
        results = sorted((ProcessingResult.from_dict(json.loads(doc)) for doc in docs),
                         key=lambda result: result.doc_id)
        summary = summarize(job_id, results, float(started), float(finished))
        summary["yielded_seconds"] = round(float(yielded or 0), 2)
        summary["phases"] = phases(float(started), float(finished), timeline(redis, job_id, run))
        redis.set(JOB_SUMMARY_KEY + job_id, json.dumps(summary), ex=ttl or max(left, 60))
        if redis.hget(key, "revision") == revision:
            return summary


def timeline(redis: Redis, job_id: str, run: int | None = None) -> list[dict]:
    """The timelines its groups recorded in the run (default: the current one), by start."""
    run = run or _run(redis, job_id)
    found = redis.hgetall(JOB_KEY + job_id + ":timeline")
    return sorted((json.loads(value) for field, value in found.items()
                   if field.split(":")[0] == str(run)), key=lambda group: group["start"])


def fail(redis: Redis, job_id: str, run: int, reason: str) -> bool:
    """Mark a run whose summary could not be built; False if the run is stale."""
    if _run(redis, job_id) != run:
        return False
    redis.hset(JOB_KEY + job_id, mapping={"status": ERROR, "error": reason})
    return True


def _run(redis: Redis, job_id: str) -> int:
    return int(redis.hget(JOB_KEY + job_id, "run") or 0)


def progress(redis: Redis, job_id: str) -> dict | None:
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
    fields["metadata"] = json.loads(fields.get("metadata", "{}"))
    fields["done"] = sum(fields[status] for status in STATUSES)
    fields["total"] = max(fields["total"], fields["done"])  # a mail's attachments add documents
    fields["embedding_batches"] = waiting_batches(redis, job_id)  # groups waiting for a batch
    elapsed = fields.get("finished", time.time()) - fields["created"]
    fields["docs_per_second"] = round(fields["done"] / elapsed, 2) if elapsed > 0 else 0.0
    left = fields["total"] - fields["done"]
    fields["eta_seconds"] = round(left / fields["docs_per_second"], 1) if fields["docs_per_second"] else None
    return fields


def recent(redis: Redis, limit: int = 20) -> list[dict]:
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


def summary(redis: Redis, job_id: str) -> dict | None:
    """The job's summary, once its callback has run."""
    raw = redis.get(JOB_SUMMARY_KEY + job_id)
    return json.loads(raw) if raw else None


def documents(redis: Redis, job_id: str, cursor: int = 0, count: int = 100,
              status: str | None = None) -> tuple[list[dict], int]:
    """A page of the job's per-document results (as recorded so far), and the cursor of the
    next page (0: no more). With `status`, only the documents of that outcome.

    Pages follow Redis's HSCAN: every document recorded before the first page is on one of
    them once (a page may hold a few more or fewer than `count`).
    """
    found: list[dict] = []
    while True:
        cursor, fields = redis.hscan(JOB_DOCS_KEY + job_id, cursor, count=count)
        rows = (json.loads(raw) for raw in fields.values())
        found += [row for row in rows if status is None or row["status"] == status]
        if cursor == 0 or len(found) >= count:
            return found, cursor
