"""The beat: celery-redbeat's scheduler, its schedule in Redis, one entry per configured
source with a schedule, each sending `ingest.sources.sync(name)` when due.

A beat runs the schedule only while it holds redbeat's lock, so a second beat (on another
machine, or a restart that overlaps) waits and nothing runs twice; one that died frees the
lock after INGEST_BEAT_LOCK_TIMEOUT s. The entries are redbeat's static ones, made from
INGEST_SOURCES when a beat starts; redbeat then deletes those of sources no longer
configured. The keys are under ingest:beat:{collection prefix}: (keys.BEAT_KEY).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from redbeat import RedBeatScheduler
from redbeat.decoder import RedBeatJSONDecoder

from ingest_tasks.core.keys import BEAT_KEY
from ingest_tasks.lanes.tasks import POLL_BATCHES
from ingest_tasks.sync import schedule
from ingest_tasks.sync.sources import Source, configured
from ingest_tasks.sync.tasks import SYNC

if TYPE_CHECKING:
    from redis import Redis

    from ingest_tasks.core.settings import Settings

SCHEDULER = "ingest_tasks.sync.beat:SourcesScheduler"
BATCH_POLL = "ingest:embedding-batches"  # the poll's entry: ':' is in no source's name


class SourcesScheduler(RedBeatScheduler):
    """redbeat's scheduler, its static entries the configured sources' schedules.

    They are read when the beat starts, not when the app is made: a bad schedule stops the
    beat, saying which source, and no worker pool.
    """

    def setup_schedule(self) -> None:
        """Make the configured sources' entries (and the batch poll's, in batch mode) the
        static ones; redbeat stores them."""
        settings = self.app.settings
        self.app.conf.beat_schedule = {**entries(configured(settings).values()),
                                       **batch_poll(settings)}
        super().setup_schedule()


def entries(sources: Iterable[Source]) -> dict[str, dict]:
    """The beat's schedule: an entry per source with a schedule, named for it; ValueError
    naming a source whose schedule is none."""
    now = datetime.now(timezone.utc)
    return {source.name: {"task": SYNC, "args": (source.name,),
                          "schedule": schedule.parse(source.name, source.schedule),
                          # a tick no sources pool took before the next one is dropped:
                          # syncs never pile up while the pool is down
                          "options": {"expires": schedule.period(source.name, source.schedule,
                                                                 now)}}
            for source in sources if source.schedule}


def batch_poll(settings: Settings) -> dict[str, dict]:
    """In batch mode (INGEST_BULK_EMBEDDING=batch), the entry that asks after the open
    embedding batches every INGEST_BATCH_POLL_SECONDS; none otherwise."""
    if settings.bulk_embedding != "batch":
        return {}
    every = settings.batch_poll_seconds
    return {BATCH_POLL: {"task": POLL_BATCHES, "schedule": timedelta(seconds=every),
                         "options": {"expires": every}}}


def configuration(settings: Settings) -> dict:
    """Celery's configuration of the beat: redbeat, its keys and lock; Redis restarts ridden out."""
    return dict(
        beat_scheduler=SCHEDULER,
        beat_max_loop_interval=settings.beat_lock_timeout // 5,  # it renews the lock each loop
        beat_enable_remote_control=True,  # the lock's holder answers `celery inspect ping`
        redbeat_redis_url=settings.redis_url,
        redbeat_key_prefix=prefix(settings),
        redbeat_lock_timeout=settings.beat_lock_timeout,
        redbeat_redis_options={"retry_period": settings.publish_retry_seconds},
    )


def prefix(settings: Settings) -> str:
    """The prefix of the beat's keys in Redis."""
    return f"{BEAT_KEY}{settings.collection_prefix}:"


def lock_key(settings: Settings) -> str:
    """redbeat's lock: a beat holds it while it runs the schedule."""
    return prefix(settings) + ":lock"


def record(redis: Redis, settings: Settings, name: str) -> dict:
    """The beat's record of a source's entry: last_run_at (a datetime) and total_run_count;
    {} if the beat has none."""
    raw = redis.hget(prefix(settings) + name, "meta")
    return json.loads(raw, cls=RedBeatJSONDecoder) if raw else {}
