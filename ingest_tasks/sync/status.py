"""What a source's syncs and watcher leave in Redis for `ingest sources` and the metrics:
the last sync's report, the names of sources synced, and the watcher's lease."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import TYPE_CHECKING

from ingest_tasks.core.errors import Busy, SyncBusy
from ingest_tasks.core.keys import SOURCE_KEY, SOURCES_KEY
from ingest_tasks.state import locks

if TYPE_CHECKING:
    from redis import Redis


def finished(redis: Redis, name: str, report: dict, trigger: str, scope: str | int) -> None:
    """Note a sync's report as the source's last, and the source as known."""
    now = time.time()
    last = {**report, "finished": now, "trigger": trigger, "scope": scope}
    with redis.pipeline() as pipe:
        pipe.set(f"{SOURCE_KEY}{name}:last", json.dumps(last))
        if scope == "all":
            pipe.set(f"{SOURCE_KEY}{name}:last-full", json.dumps(last))
        pipe.zadd(SOURCES_KEY, {name: now})
        pipe.execute()


def last(redis: Redis, name: str, full: bool = False) -> dict | None:
    """The source's last sync (`full`: of the whole source, not a watcher's paths), or None."""
    raw = redis.get(f"{SOURCE_KEY}{name}:{'last-full' if full else 'last'}")
    return None if raw is None else json.loads(raw)


def known(redis: Redis) -> list[str]:
    """The names of the sources synced before, the most recent first."""
    return list(redis.zrevrange(SOURCES_KEY, 0, -1))


def holder(redis: Redis, key: str) -> str:
    """Who holds a lease, as people read it: "pid N on HOST", or "another process"."""
    raw = redis.get(key)
    owner = locks.Owner.parse(raw) if raw else None
    return f"pid {owner.pid} on {owner.machine}" if owner else "another process"


def _watcher_key(name: str) -> str:
    return f"{SOURCE_KEY}{name}:watcher"


def watcher(redis: Redis, name: str) -> str | None:
    """Who watches the source ("pid N on HOST"), or None if no watcher runs."""
    key = _watcher_key(name)
    return holder(redis, key) if redis.exists(key) else None


def watching(redis: Redis, name: str, lease: float) -> AbstractContextManager[None]:
    """Hold the source's watcher lease for the block; SyncBusy if another watcher holds it."""
    return exclusive(redis, _watcher_key(name), lease, 0, f"{name} is watched already ({{}})")


@contextmanager
def exclusive(redis: Redis, key: str, lease: float, wait: float, refusal: str) -> Iterator[None]:
    """Hold the lease `key` for the block; SyncBusy, the refusal with its holder put in its
    {}, if it is not had within `wait` s."""
    with ExitStack() as stack:
        try:
            stack.enter_context(locks.held(redis, [key], lease, wait, refusal.format("held")))
        except Busy:
            raise SyncBusy(refusal.format(holder(redis, key))) from None
        yield
