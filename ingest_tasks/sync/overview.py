"""What `ingest sources` and the metrics show of each source: the configured ones, then the
others synced before, each with its last sync and last full sync, its next run and its
watcher. A source synced by its URI alone is named by it; the URI of one that is no longer
configured is unknown (None)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ingest_tasks.pipeline.sources import S3_SCHEME
from ingest_tasks.sync import beat, schedule, status
from ingest_tasks.sync.sources import Source, configured

if TYPE_CHECKING:
    from redis import Redis

    from ingest_tasks.core.settings import Settings

OUTCOMES = ("new", "changed", "deleted", "unchanged")
_SHOWN = ("finished", "trigger", "scope", *OUTCOMES, "seconds", "job_id")


def sources(redis: Redis, settings: Settings, now: datetime | None = None) -> list[dict]:
    """One dict per source, as of `now` (default: now); a bad schedule is said, not raised."""
    now = now or datetime.now(timezone.utc)
    known = configured(settings)
    names = [*known, *(name for name in status.known(redis) if name not in known)]
    return [_source(redis, settings, name, known.get(name), now) for name in names]


def _source(redis: Redis, settings: Settings, name: str, source: Source | None,
            now: datetime) -> dict:
    return {
        "name": name, "uri": source.uri if source else _named_by_uri(name),
        "configured": source is not None,
        "schedule": source.schedule if source else "",
        "last": _sync(status.last(redis, name)),
        "last_full": _sync(status.last(redis, name, full=True)),
        **_next_run(redis, settings, source, now),
        "watcher": status.watcher(redis, name),
    }


def _named_by_uri(name: str) -> str | None:
    """The URI of a source not configured: its name if that is one (an absolute folder, or
    s3://...), else None."""
    return name if name.startswith(("/", S3_SCHEME)) else None


def _sync(report: dict | None) -> dict | None:
    """A sync's report as shown: when it finished (Unix time), its trigger, counts and job."""
    return None if report is None else {field: report.get(field) for field in _SHOWN}


def _next_run(redis: Redis, settings: Settings, source: Source | None, now: datetime
              ) -> dict:
    """When the beat runs the source's sync next (Unix time), after its last run: None
    without a schedule, or with a bad one (then `schedule_error` says why)."""
    if source is None or not source.schedule:
        return {"next_run": None}
    last_run = beat.record(redis, settings, source.name).get("last_run_at")
    try:
        when = schedule.next_run(source.name, source.schedule, now, last_run)
    except ValueError as exc:
        return {"next_run": None, "schedule_error": str(exc)}
    return {"next_run": when.timestamp()}
