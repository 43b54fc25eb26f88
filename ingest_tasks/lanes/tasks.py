"""Celery tasks: thin shells that decode arguments and call the pipeline.

The functions are plain; `register(app)` makes them the tasks of an IngestApp, with
that app's rate limits and retry budget, under the names of the message schema below.
A task reaches its settings and its process's resources through `self.app`.
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import (task_prerun, task_retry, worker_init, worker_process_init,
                            worker_ready)
from celery.utils.time import get_exponential_backoff_interval
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ingest_tasks.bluegreen import copying, reembed
from ingest_tasks.core.errors import (Busy, RedisUnavailable, StoreUnavailable, TimeLimit,
                                      TransientError)
from ingest_tasks.core.keys import BULK_QUEUE, LOCK_KEY, STREAM_QUEUE, WRITER_KEY, WRITERS_KEY
from ingest_tasks.core.results import ProcessingResult
from ingest_tasks.core.timeline import Timeline
from ingest_tasks.lanes import embedding_batches, worklog, yielding
from ingest_tasks.lanes.app import IngestApp
from ingest_tasks.pipeline import documents
from ingest_tasks.pipeline.deadline import during_document_work
from ingest_tasks.pipeline.sources import DocRef
from ingest_tasks.state import counters, jobs, latency, locks

# The task names, routed by their prefix (docs/message-schema.md). Apps in any language may
# send the public ones, whose arguments and results lanes/schema versions; the package
# alone sends the others, which may change in any release.
STREAM_INGEST, STREAM_DELETE = "ingest.stream.ingest", "ingest.stream.delete"
BULK_GROUP, BULK_COPY = "ingest.bulk.group", "ingest.bulk.copy"
SUMMARIZE, JOB_FAILED = "ingest.bulk.summarize", "ingest.bulk.job_failed"
BULK_DELETE = "ingest.bulk.delete"
POLL_BATCHES = "ingest.bulk.poll_batches"  # the beat's, in batch mode (embedding_batches)
PUBLIC_TASKS = (STREAM_INGEST, STREAM_DELETE)

_worker_app: IngestApp | None = None  # the app this process works for, once it is a worker
_embeds = True  # whether that worker takes a lane's tasks (the sources pool embeds nothing)


@worker_init.connect
def _remember_app(sender, **_) -> None:
    """Note the app of the worker starting in this process, and whether it serves a lane
    (its pool processes inherit both)."""
    global _worker_app, _embeds
    _worker_app = sender.app
    _embeds = bool({STREAM_QUEUE, BULK_QUEUE} & set(sender.app.amqp.queues.consume_from))


@worker_process_init.connect
def _after_fork(**_) -> None:
    """Each pool process makes its own models and clients, never sharing the parent's.

    A lane's worker loads its models (the configured ones, and the live collection's) and
    connects to the store now, so that no task waits for them.
    """
    if _worker_app is None:
        return
    _worker_app.reset_resources()
    if not _embeds:
        return
    resources = _worker_app.resources
    for model in dict.fromkeys([*_worker_app.settings.worker_models, resources.target().model]):
        resources.embedder(model)
    try:  # the store's client too (a first task made it in 0.6 s); if the store is down, that task
        resources.store
    except StoreUnavailable:
        pass
    # A bulk group's write-behind thread takes the GIL back after each Redis or store answer:
    # sooner than the default 5 ms, so the store waits less for it while the group parses.
    sys.setswitchinterval(0.001)


BACKOFF_MAX = 60  # seconds: the longest wait between two tries of a task


class LaneTask(Task):
    """A task of the lanes. Celery retries it on a transient error, waiting a time drawn
    between 0 and 1, 2, 4 ... 60 s (exponential backoff with full jitter), and logs why."""

    autoretry_for = (TransientError,)
    retry_backoff = True
    retry_backoff_max = BACKOFF_MAX
    retry_jitter = True


@task_retry.connect
def _log_retry(sender, reason, **_) -> None:
    """Log a lane task's retry: its error, the try that failed, and the wait Celery drew."""
    if isinstance(sender, LaneTask):
        worklog.retry(sender, reason.exc, reason.when)


def retries_within(seconds: float) -> int:
    """How many retries keep a task trying for `seconds` on average: each wait is drawn
    evenly between 0 and its backoff, so it is half of that on average."""
    retries, waited = 0, 0.0
    while waited < seconds:
        waited += get_exponential_backoff_interval(1, retries, BACKOFF_MAX, False) / 2
        retries += 1
    return retries


def _attempt(task, work, give_up):
    """Run `work`; raise a transient error for Celery to retry, or after the last try
    return `give_up(error)`: the documents' failure records.

    Its waits for locks, turns and gates end by INGEST_WAIT_SHARE of the soft time limit
    (locks.budget) in Busy, a transient error. Past the soft time limit while a document
    was read, parsed or chunked, it gives up at once: its documents become time-limit
    failure records, and a bulk group's chord goes on. Past it anywhere else (embedding,
    a store write) it is retried: that is no document's fault. Redis not answering (a
    restart) is transient too: failed and acknowledged, the documents would be lost.
    """
    soft = (task.request.timelimit or (None, None))[1] or task.app.conf.task_soft_time_limit
    try:
        share = task.app.settings.wait_share
        with locks.budget(_started + share * soft if soft else math.inf):
            return work()
    except SoftTimeLimitExceeded as exc:
        if during_document_work(exc):
            return give_up(TimeLimit(f"the task ran past its soft time limit of {soft} s "
                                     "(INGEST_TASK_SOFT_TIME_LIMIT)"))
        error: TransientError = Busy(f"the task ran past its soft time limit of {soft} s "
                                     "outside document work (a slow store or model): retried")
    except (RedisConnectionError, RedisTimeoutError) as exc:
        error = RedisUnavailable(f"Redis did not answer: {exc}")
    except TransientError as exc:
        error = exc
    if task.request.retries >= task.max_retries:
        return give_up(error)
    raise error


_started = time.monotonic()


@task_prerun.connect
def _task_started(**_):
    """Note when the task started: its soft time limit, and waiting budget, count from here."""
    global _started
    _started = time.monotonic()


@worker_ready.connect
def _release_dead_owners(sender, **_) -> None:
    """A worker starting gives back the leases of processes of this machine that died
    (a killed pool's commit locks and writers' turns), so nobody waits for them to lapse."""
    if not isinstance(sender.app, IngestApp):
        return
    try:
        locks.release_dead(sender.app.resources.redis,
                           [LOCK_KEY + "*", WRITER_KEY + "*", WRITERS_KEY + "*"])
    except (RedisConnectionError, RedisTimeoutError):
        pass  # they lapse by themselves within a lease


def ingest_document(self, ref: dict, model: str | None = None) -> dict:
    """Stream lane: ingest one document, given inline or by reference."""
    started, doc = time.time(), DocRef.from_dict(ref)
    results = _attempt(
        self,
        lambda: documents.ingest_documents([doc], self.app.resources, model),
        lambda exc: [ProcessingResult.failure(doc.doc_id, doc.source, exc.reason)],
    )
    _observe(self, STREAM_QUEUE, None, model, results, doc.submitted, started)
    # the document's own outcome (those of a mail's attachments are in the logs and metrics)
    return next(r for r in results if r.doc_id == doc.doc_id).to_dict()


def delete_document(self, doc_id: str, version: int, model: str | None = None) -> dict:
    """Stream lane: remove one document from the index, leaving a tombstone at `version`."""
    started = time.time()
    result = _attempt(
        self,
        lambda: documents.delete_document(doc_id, version, self.app.resources, model),
        lambda exc: ProcessingResult.failure(doc_id, "", exc.reason),
    )
    _observe(self, STREAM_QUEUE, None, model, [result], 0.0, started)
    return result.to_dict()


def delete_group(self, deletes: list[list], model: str | None = None) -> dict:
    """Bulk lane: remove documents from the index, each leaving a tombstone at its version."""
    started, resources = time.time(), self.app.resources
    results = _attempt(
        self,
        lambda: [documents.delete_document(doc_id, version, resources, model)
                 for doc_id, version in deletes],
        lambda exc: [ProcessingResult.failure(doc_id, "", exc.reason) for doc_id, _ in deletes],
    )
    _observe(self, BULK_QUEUE, None, model, results, 0.0, started)
    return dict(Counter(result.status for result in results))


def ingest_group(self, job_id: str, run: int, group: int, refs: list[dict],
                 model: str | None = None) -> dict:
    """Bulk lane: ingest a group of documents, record them in the job; return the counts.

    In batch mode the documents that need vectors go to the service's Batch API instead:
    counted as `batched`, they are recorded when the poll commits them.
    """
    resources, timeline = self.app.resources, Timeline()
    with timeline.span("yield"):
        yielded = yielding.wait_for_stream(resources)
    started, docs = time.time(), [DocRef.from_dict(ref) for ref in refs]
    if embedding_batches.batched(resources, model):
        work = lambda: embedding_batches.submit(docs, resources, model, job_id, run, group)  # noqa: E731
    else:
        work = lambda: documents.ingest_documents(docs, resources, model, bulk=True,  # noqa: E731
                                                  timeline=timeline)
    results = _attempt(
        self, work,
        lambda exc: [ProcessingResult.failure(d.doc_id, d.source, exc.reason) for d in docs],
    )
    if jobs.record(resources.redis, job_id, run, group, results, yielded,
                   timeline.to_dict()):  # once per group
        _observe(self, BULK_QUEUE, job_id, model, results, docs[0].submitted, started)
    counts = Counter(result.status for result in results)
    return {**counts, **({"batched": len(docs) - len(results)} if len(results) < len(docs) else {})}


def poll_batches(self) -> dict:
    """Bulk lane, the beat's in batch mode: commit what the open embedding batches answered."""
    return dict(embedding_batches.poll(self.app.resources))


def _observe(task, lane: str, job_id: str | None, model: str | None,
             results: list[ProcessingResult], submitted: float, started: float) -> None:
    """Log a task's outcomes, record its latency samples and add its outcomes to the metrics."""
    worklog.outcomes(results, lane, job_id, task.request.id, submitted, started)
    redis = task.app.resources.redis
    totals = latency.record(redis, lane, results, submitted, started)
    counters.count(redis, lane, model or task.app.resources.target().model, results, totals)


def copy_group(self, job_id: str, run: int, group: int, refs: list[dict], build: str) -> dict:
    """Bulk lane, a re-embedding build: copy a group of documents into the build's collection."""
    yielded = yielding.wait_for_stream(self.app.resources)
    started, doc_ids = time.time(), [ref["doc_id"] for ref in refs]
    plan = reembed.current(self.app.resources.redis, self.app.settings.collection_prefix)
    if plan is None or plan.build != build:
        results = [ProcessingResult.failure(d, "", f"build-abandoned: build {build} was replaced")
                   for d in doc_ids]
    else:
        results = _attempt(
            self,
            lambda: copying.copy_documents(doc_ids, plan.source, plan.target, self.app.resources),
            lambda exc: [ProcessingResult.failure(doc_id, "", exc.reason) for doc_id in doc_ids],
        )
    if jobs.record(self.app.resources.redis, job_id, run, group, results, yielded):
        _observe(self, BULK_QUEUE, job_id, plan.target.model if plan else None, results, 0.0,
                 started)
    return dict(Counter(result.status for result in results))


def summarize_job(self, _counts: list[dict], job_id: str, run: int, chord: int, started: float) -> dict | None:
    """Chord callback: count the chord ended; the last one builds the job summary."""
    redis = self.app.resources.redis
    if not jobs.chord_done(redis, job_id, run, chord):
        return None  # chords of the job are still running, or this run is stale
    summary = jobs.finish(redis, job_id, run, started, self.app.settings.job_ttl_seconds)
    if summary is None:  # a stale run: a newer run of the job owns it now
        return None
    return {key: value for key, value in summary.items() if key != "documents"}


def job_failed(request, exc, traceback, job_id: str, run: int) -> None:
    """Chord error path: mark the job's run as failed, with the reason.

    Celery calls an error callback with (request, exc, traceback) only if it is not bound,
    so it finds its app as the worker's.
    """
    if _worker_app is None:
        raise RuntimeError(f"{JOB_FAILED} is a chord's error callback: it runs in a worker, "
                           "which sets the app it reports to")
    jobs.fail(_worker_app.resources.redis, job_id, run, f"{type(exc).__name__}: {exc}")


def register(app: IngestApp) -> None:
    """Make the lanes' tasks the app's, with its settings' rate limits and retry budget."""
    settings = app.settings
    retries = retries_within(settings.retry_for_seconds)
    stream_limit, bulk_limit = settings.stream_rate_limit or None, settings.bulk_rate_limit or None
    for name, run, limit in ((STREAM_INGEST, ingest_document, stream_limit),
                             (STREAM_DELETE, delete_document, None),
                             (BULK_DELETE, delete_group, None),
                             (BULK_GROUP, ingest_group, bulk_limit),
                             (BULK_COPY, copy_group, bulk_limit)):
        app.task(name=name, base=LaneTask, bind=True, max_retries=retries, rate_limit=limit)(run)
    app.task(name=POLL_BATCHES, base=LaneTask, bind=True, max_retries=0)(poll_batches)
    app.task(name=SUMMARIZE, bind=True)(summarize_job)
    app.task(name=JOB_FAILED)(job_failed)
