"""Sources kept in sync: each one's last sync, next run and watcher; a sync started on the
sources pool, or a dry run answered at once (docs/sources.md)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from ingest_tasks.interfaces.http.auth import Reader, Writer
from ingest_tasks.interfaces.http.context import Client
from ingest_tasks.interfaces.http.errors import RESPONSES
from ingest_tasks.sync.plan import Plan
from ingest_tasks.sync.sources import configured

router = APIRouter(prefix="/v1/sources", tags=["sources"], responses=RESPONSES)
SHOWN = 1000  # paths a dry run lists, at most


class SyncStarted(BaseModel):
    """A sync sent to the sources pool: its task, to follow at status_url."""

    source: str
    task_id: str
    status_url: str


class SyncPlan(BaseModel):
    """What a sync would do now: its counts, and the first paths it would send or remove."""

    source: str
    new: int
    changed: int
    deleted: int
    unchanged: int
    send: list[str]
    remove: list[str]


@router.get("", summary="Each source: last sync and its counts, next run, watcher")
def sources(ingest: Client, _: Reader) -> list[dict]:
    """Configured sources first, then others synced before (by their URI)."""
    return ingest.sources()


@router.post("/{name}/sync", summary="Sync a configured source on the sources pool",
             status_code=202, response_model=SyncStarted)
def start_sync(name: str, ingest: Client, _: Writer) -> SyncStarted:
    """The sync runs as a scheduled one would: a second one of the source waits its turn there."""
    try:
        task_id = ingest.start_sync(name)
    except KeyError as exc:
        raise HTTPException(404, exc.args[0]) from None
    return SyncStarted(source=name, task_id=task_id, status_url=f"/v1/tasks/{task_id}")


@router.get("/{name}/plan", summary="What a sync of a configured source would do now",
            response_model=SyncPlan)
def plan(name: str, ingest: Client, _: Reader) -> SyncPlan:
    """A dry run: the source listed and compared, nothing sent (the first 1,000 paths each)."""
    if name not in configured(ingest.settings):
        raise HTTPException(404, f"no configured source is named {name!r} (INGEST_SOURCES)")
    found = ingest.sync(name, dry_run=True).plan or Plan()
    return SyncPlan(source=name, **found.counts(),
                    send=[entry.relative for entry, _ in found.upserts[:SHOWN]],
                    remove=[path for path, _ in found.deletes[:SHOWN]])
