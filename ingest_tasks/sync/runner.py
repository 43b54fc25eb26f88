"""Running a sync: list, plan, send, remember; under the source's lock, checkpointed.

A sync holds its source's lock (a lease: it dies with its holder) for its whole run, so
two syncs of one source never run at once: the second waits INGEST_SYNC_LOCK_WAIT s (or
its caller's wait), then refuses with SyncBusy naming the holder. The plan is stored
before anything is sent and dropped once the manifest records it: a sync cut off between
the two is finished by the next one, with the same versions and the same job id (whose
run resumes: committed documents are skipped unread).

A whole-source sync sends its new and changed documents as one batch job; a scoped one
(the watcher's) routes them as `submit` does: a few small ones stream, more make a job.
Tombstones go to the stream lane when few, else to the bulk lane in groups.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ingest_tasks.core.errors import SourceError
from ingest_tasks.core.keys import SOURCE_KEY
from ingest_tasks.lanes import batch, sending
from ingest_tasks.pipeline.sources import DocRef
from ingest_tasks.state.clock import next_versions
from ingest_tasks.sync import manifest, pending, status
from ingest_tasks.sync.listing import list_source
from ingest_tasks.sync.plan import Plan, make_plan
from ingest_tasks.sync.sources import Source

if TYPE_CHECKING:
    from ingest_tasks.lanes.app import IngestApp

Progress = Callable[[dict], None]
JOB_SOURCE = "sync:"  # a sync's job names its source so: `sync:docs`


@dataclass
class SyncReport:
    """What one sync found and sent: counts, and the ids of the work to wait for."""

    source: str
    counts: dict[str, int]
    job_id: str | None = None  # the batch job of new and changed documents
    tasks: list[str] = field(default_factory=list)  # stream and tombstone tasks
    resumed: bool = False  # a cut-off sync's plan was finished first
    dry_run: bool = False
    seconds: float = 0.0
    plan: Plan | None = None  # for a dry run: what would be sent

    def to_dict(self) -> dict:
        """JSON-ready form (the plan's documents left out)."""
        return {"source": self.source, **self.counts, "job_id": self.job_id,
                "tasks": self.tasks, "resumed": self.resumed, "dry_run": self.dry_run,
                "seconds": round(self.seconds, 3)}


def sync(app: IngestApp, source: Source, *, under: list[str] | None = None,
         hybrid: bool = False, dry_run: bool = False, wait: float | None = None,
         trigger: str = "cli", model: str | None = None,
         on_progress: Progress | None = None) -> SyncReport:
    """Sync the source (or the paths `under` it) into the index; see the module's docstring.

    `wait` (default INGEST_SYNC_LOCK_WAIT) is how long to wait for another sync of the
    source to end before SyncBusy. A dry run only lists and plans: nothing is sent or noted.
    """
    started, redis = time.monotonic(), app.resources.redis
    if dry_run:
        plan = _plan(app, source, under)
        return SyncReport(source.name, plan.counts(), dry_run=True, plan=plan,
                          seconds=time.monotonic() - started)
    with _lock(app, source, app.settings.sync_lock_wait if wait is None else wait):
        resumed = _finish_stored(app, source, on_progress)
        pending.reconcile(app, source, model)
        plan = _plan(app, source, under)
        scope: str | int = "all" if under is None else len(under)
        run = {"job_id": batch.new_job_id(), "hybrid": hybrid, "model": model,
               "trigger": trigger, "plan": plan.to_dict()}
        if not plan.empty:
            redis.set(_run_key(source), json.dumps(run))
        report = _send(app, source, plan, run, on_progress)
        report.resumed, report.seconds = resumed, time.monotonic() - started
        status.finished(redis, source.name, report.to_dict(), trigger, scope)
    return report


def _plan(app: IngestApp, source: Source, under: list[str] | None) -> Plan:
    """The source's listing (within `under`) against its manifest."""
    redis = app.resources.redis
    listed = list_source(source, app.settings, under)
    return make_plan(listed, manifest.load(redis, source.name),
                     lambda count: next_versions(redis, count), under)


def _finish_stored(app: IngestApp, source: Source, on_progress: Progress | None) -> bool:
    """Send the stored plan of a sync that was cut off, if any; whether there was one."""
    stored = app.resources.redis.get(_run_key(source))
    if stored is None:
        return False
    run = json.loads(stored)
    _send(app, source, Plan.from_dict(run["plan"]), run, on_progress)
    return True


def _send(app: IngestApp, source: Source, plan: Plan, run: dict,
          on_progress: Progress | None) -> SyncReport:
    """Send the plan's documents and tombstones, then note them in the manifest."""
    report = SyncReport(source.name, plan.counts())
    model, settings = run["model"], app.settings
    refs = [DocRef(source.doc_id(entry.relative), entry.location, version, entry.size)
            for entry, version in plan.upserts]
    small = (len(refs) <= settings.stream_max_docs
             and sum(ref.size for ref in refs) <= settings.stream_max_bytes)
    unread: set[str] = set()  # streamed files gone (or grown past a limit) since listed
    if refs and run["hybrid"] and small:
        for (entry, _), ref in zip(plan.upserts, refs):
            try:
                report.tasks.append(sending.stream(app, ref, model).id)
            except SourceError:  # not noted as sent: the next sync of its path decides again
                unread.add(entry.relative)
    elif refs:
        report.job_id = batch.start_job(refs, app, job_id=run["job_id"], model=model,
                                        sources=[JOB_SOURCE + source.name],
                                        on_progress=on_progress)
    deletes = [(source.doc_id(path), version) for path, version in plan.deletes]
    report.tasks += [result.id for result in sending.delete_many(app, deletes, model)]
    redis = app.resources.redis
    manifest.record(redis, source.name, [(path, sent) for path, sent in plan.sent()
                                         if path not in unread])
    pending.remember(app, source.name, report.job_id, report.tasks)
    redis.delete(_run_key(source))
    return report


def _lock(app: IngestApp, source: Source, wait: float) -> AbstractContextManager[None]:
    """Hold the source's lock for the block; SyncBusy, naming the holder, if not within `wait`."""
    return status.exclusive(app.resources.redis, f"{SOURCE_KEY}{source.name}:lock",
                            app.settings.lock_lease_seconds, wait,
                            f"a sync of {source.name} is running ({{}}): wait for it to end, "
                            "or wait longer (--wait SECONDS, INGEST_SYNC_LOCK_WAIT)")

def _run_key(source: Source) -> str:
    return f"{SOURCE_KEY}{source.name}:run"

