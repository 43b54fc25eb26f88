"""Versions assigned at submit time: one monotonic clock in Redis, in nanoseconds.

A version from the clock is above every one it gave before and never below the current
time, so it orders after file modification times (the default version of a file) taken
before it: a delete requested now outranks every copy saved earlier.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from redis.exceptions import WatchError

from ingest_tasks.core.keys import VERSION_CLOCK_KEY

if TYPE_CHECKING:
    from redis import Redis


def next_versions(redis: Redis, count: int = 1) -> range:
    """`count` fresh versions, each above every version given before and not below now."""
    with redis.pipeline() as pipe:
        while True:
            try:
                pipe.watch(VERSION_CLOCK_KEY)
                # watching, the pipeline runs commands at once; the stubs type get() as queued
                last = int(pipe.get(VERSION_CLOCK_KEY) or 0)  # type: ignore[arg-type]
                first = max(time.time_ns(), last + 1)
                pipe.multi()
                pipe.set(VERSION_CLOCK_KEY, first + count - 1)
                pipe.execute()
                return range(first, first + count)
            except WatchError:  # another client took versions meanwhile: read again
                continue
