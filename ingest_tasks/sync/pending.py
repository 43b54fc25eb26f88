"""Work a sync sent that had not ended when it stopped, looked at again by the next sync.

The manifest notes a document as sent when it is sent, not when it is committed. A
document whose job or task then failed for a passing reason (a service down past every
retry: a transient error's failure record) would stay missing until it changed; the next
sync finds it here and sends it again. A document that failed for its content is not
sent again until it changes: it would fail the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest_tasks.core import errors
from ingest_tasks.core.keys import SOURCE_KEY
from ingest_tasks.core.results import FAILED
from ingest_tasks.state import jobs, registry
from ingest_tasks.sync import manifest
from ingest_tasks.sync.manifest import Sent

if TYPE_CHECKING:
    from ingest_tasks.lanes.app import IngestApp
    from ingest_tasks.sync.sources import Source

RESEND = "!resend"  # a stamp no listing gives: the document counts as changed


def _transient_codes() -> frozenset[str]:
    found, todo = set(), [errors.TransientError]
    while todo:
        cls = todo.pop()
        found.add(cls.code)
        todo += cls.__subclasses__()
    return frozenset(found)


PASSING = _transient_codes()


def _key(name: str) -> str:
    return f"{SOURCE_KEY}{name}:pending"


def remember(app: IngestApp, name: str, job_id: str | None, task_ids: list[str]) -> None:
    """Note a sync's job and tasks, to be looked at by the next sync."""
    fields: dict[str | bytes, bytes | float | int | str] = {
        **({f"job:{job_id}": ""} if job_id else {}), **dict.fromkeys(
        (f"task:{task_id}" for task_id in task_ids), "")}
    if fields:
        app.resources.redis.hset(_key(name), mapping=fields)


def reconcile(app: IngestApp, source: Source, model: str | None = None) -> int:
    """Mark for sending again the documents of ended work that failed for a passing reason
    and that the index does not hold at their version; how many. Work still running stays."""
    redis, failed, ended = app.resources.redis, [], []
    for field in redis.hkeys(_key(source.name)):
        kind, _, work_id = field.partition(":")
        found = _failed_in_job(app, work_id) if kind == "job" else _failed_task(app, work_id)
        if found is not None:
            failed += found
            ended.append(field)
    marked = _mark(app, source, failed, model)
    if ended:
        redis.hdel(_key(source.name), *ended)
    return marked


def _failed_in_job(app: IngestApp, job_id: str) -> list[dict] | None:
    """The job's failure records, once it ended (none if it expired); None while it runs."""
    redis = app.resources.redis
    state = jobs.progress(redis, job_id)
    if state is not None and state["status"] == jobs.RUNNING:
        return None
    if state is None:
        return []
    failed, cursor = [], 0
    while True:
        page, cursor = jobs.documents(redis, job_id, cursor, 1000, FAILED)
        failed += page
        if cursor == 0:
            return failed


def _failed_task(app: IngestApp, task_id: str) -> list[dict] | None:
    """A stream task's failure record, once it ended; None while it runs."""
    result = app.AsyncResult(task_id)
    if not result.ready():
        return None
    outcome = result.result if result.successful() else None
    return [outcome] if isinstance(outcome, dict) and outcome.get("status") == FAILED else []


def _mark(app: IngestApp, source: Source, failed: list[dict], model: str | None) -> int:
    """Mark the passing failures whose version the index does not hold."""
    passing = {row["doc_id"] for row in failed
               if row.get("reason", "").split(":", 1)[0] in PASSING}
    if not passing:
        return 0
    redis = app.resources.redis
    sent = manifest.load(redis, source.name)
    held = registry.get_many(redis, app.resources.target(model).collection, sorted(passing))
    marks = []
    for doc_id in sorted(passing):
        before, entry = sent.get(source.relative(doc_id)), held[doc_id]
        if before and not before.deleted and (entry is None or entry.version < before.version):
            marks.append((source.relative(doc_id), Sent(RESEND, before.version)))
    manifest.record(redis, source.name, marks)
    return len(marks)
