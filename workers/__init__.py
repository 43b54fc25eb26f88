"""Worker pool profiles: a small stream pool for latency, a larger niced bulk pool for throughput.

`python -m workers stream|bulk [celery worker options...]` starts a pool with its profile;
the same profile as a plain command line is `celery -A ingest_tasks worker -Q stream -c 1
--prefetch-multiplier 1` (see `python -m workers stream --print`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from ingest_tasks.core.keys import BULK_QUEUE, STREAM_QUEUE
from ingest_tasks.core.settings import Settings


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
    """The two pools, sized by the settings."""
    quiet = settings.log_format == "json"
    return {
        "stream": Pool("stream", STREAM_QUEUE, settings.stream_concurrency,
                       settings.stream_prefetch, 0, quiet),
        "bulk": Pool("bulk", BULK_QUEUE, settings.bulk_concurrency,
                     settings.bulk_prefetch, settings.bulk_nice, quiet),
    }


def celery_argv(pool: Pool, extra: tuple[str, ...] = ()) -> list[str]:
    """The `celery worker` command line for a pool."""
    return [
        sys.executable, "-m", "celery", "-A", "ingest_tasks", *(["--quiet"] if pool.quiet else []),
        "worker",
        "-Q", pool.queue, "-c", str(pool.concurrency),
        "--prefetch-multiplier", str(pool.prefetch),
        "-n", f"{pool.name}@%h", "-E", "--without-gossip", "--without-mingle",
        *extra,
    ]
