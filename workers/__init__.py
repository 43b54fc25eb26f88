"""Worker pool profiles: a small stream pool for latency, a larger niced bulk pool for
throughput, a pool of one for the syncs the beat starts; and the beat.

`python -m workers stream|bulk|sources [celery worker options...]` starts a pool with its
profile; the same profile as a plain command line is `celery -A ingest_tasks worker -Q
stream -c 1 --prefetch-multiplier 1` (see `python -m workers stream --print`).
`python -m workers beat` starts the beat (sync.beat: redbeat, its schedule in Redis).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from ingest_tasks.core.keys import BULK_QUEUE, SOURCES_QUEUE, STREAM_QUEUE
from ingest_tasks.core.settings import Settings
from ingest_tasks.sync.beat import SCHEDULER


@dataclass(frozen=True)
class Pool:
    """How one pool of worker processes is run."""

    name: str
    queue: str
    concurrency: int
    prefetch: int
    nice: int
    quiet: bool = False  # no startup banner: with INGEST_LOG_FORMAT=json, every line is JSON


def pools(settings: Settings) -> dict[str, Pool]:
    """The pools, sized by the settings; syncs run one at a time, niced as bulk work."""
    quiet = settings.log_format == "json"
    return {
        "stream": Pool("stream", STREAM_QUEUE, settings.stream_concurrency,
                       settings.stream_prefetch, 0, quiet),
        "bulk": Pool("bulk", BULK_QUEUE, settings.bulk_concurrency,
                     settings.bulk_prefetch, settings.bulk_nice, quiet),
        "sources": Pool("sources", SOURCES_QUEUE, 1, 1, settings.bulk_nice, quiet),
    }


def _celery(quiet: bool) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "ingest_tasks", *(["--quiet"] if quiet else [])]


def celery_argv(pool: Pool, extra: tuple[str, ...] = ()) -> list[str]:
    """The `celery worker` command line for a pool."""
    return [
        *_celery(pool.quiet), "worker",
        "-Q", pool.queue, "-c", str(pool.concurrency),
        "--prefetch-multiplier", str(pool.prefetch),
        "-n", f"{pool.name}@%h", "-E", "--without-gossip", "--without-mingle",
        *extra,
    ]


def beat_argv(settings: Settings, extra: tuple[str, ...] = ()) -> list[str]:
    """The `celery beat` command line: redbeat's scheduler, its lines at INFO (what it sends)."""
    return [*_celery(settings.log_format == "json"), "beat", "-S", SCHEDULER, "-l", "INFO",
            *extra]
