"""The live collection: an alias in Redis that search and every writer resolve.

Chroma has no aliases, so this is ours. The alias names the collection that serves
(and its model); a swap moves it in one MULTI (see swap.py). Until the first swap the
configured model's collection is live. Writers enter a gate before they write a
collection: a swap closes the gate of the live one for a moment, and a writer that
resolved the alias before the swap finds on entering that it moved (LiveMoved), so it
does its work again on the new live collection instead of writing the old one.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from ingest_tasks.core.errors import LiveMoved
from ingest_tasks.core.keys import ALIAS_KEY, GATE_KEY, HISTORY_KEY, WRITERS_KEY
from ingest_tasks.core.polling import poll_until
from ingest_tasks.state import locks

if TYPE_CHECKING:
    from redis import Redis

    from ingest_tasks.core.settings import Settings

_POLL = 0.005


@dataclass(frozen=True)
class Target:
    """A collection to write or search, with the model whose vectors it holds."""

    collection: str
    model: str
    build: str = ""  # the build that made it ("" for a model's first collection)
    live: bool = False  # resolved through the alias: a write checks it still is

    def to_json(self) -> str:
        """The form kept in Redis."""
        return json.dumps({k: v for k, v in asdict(self).items() if k != "live"})

    @classmethod
    def from_json(cls, raw: str) -> Target:
        """Inverse of to_json."""
        return cls(**json.loads(raw))


def collection_name(prefix: str, model: str, build: str = "") -> str:
    """The collection of `model` (of one build of it, if given), named for both."""
    name = "-".join(part for part in (prefix, model, build) if part)
    return re.sub(r"[^a-zA-Z0-9._-]+", "-", name).strip("-.")


def live(redis: Redis, settings: Settings) -> Target:
    """The live collection: the alias, or before any swap the configured model's collection.

    Each collection prefix has an alias of its own: deployments may share a Redis.
    """
    fields = redis.hgetall(ALIAS_KEY + settings.collection_prefix)
    if not fields:
        model = settings.embedding_model
        return Target(collection_name(settings.collection_prefix, model), model, live=True)
    return Target(fields["collection"], fields["model"], fields.get("build", ""), live=True)


def resolve(redis: Redis, settings: Settings, model: str | None = None) -> Target:
    """The live collection, or for a model other than its own that model's collection."""
    current = live(redis, settings)
    if model is None or model == current.model:
        return current
    return Target(collection_name(settings.collection_prefix, model), model)


def alias_fields(redis: Redis, prefix: str) -> dict:
    """The alias as stored (empty before the first swap): collection, model, build, swap times."""
    return redis.hgetall(ALIAS_KEY + prefix)


def previous(redis: Redis, prefix: str) -> list[Target]:
    """The earlier live collections kept for rollback, newest first."""
    return [Target.from_json(raw) for raw in redis.lrange(HISTORY_KEY + prefix, 0, -1)]


# A writer enters the gate of a collection unless it is closed to it (0), or the collection
# was resolved through the alias and the alias names another one now (-1).
# ARGV: member (kind:owner tag), expiry ms, kind, the live collection resolved ("" if none)
_ENTER = """
local gate = redis.call('get', KEYS[1])
if gate == 'all' or (gate == 'bulk' and ARGV[3] == 'bulk') then return 0 end
if ARGV[4] ~= '' then
  local current = redis.call('hget', KEYS[3], 'collection')
  if current and current ~= ARGV[4] then return -1 end
end
redis.call('zadd', KEYS[2], ARGV[2], ARGV[1])
return 1
"""


@contextmanager
def writing(redis: Redis, target: Target, prefix: str, bulk: bool, wait: float,
            lease: float = 10.0) -> Iterator[None]:
    """Be counted as writing `target` for the block.

    Waits while a swap holds its gate closed (Busy after `wait` or the task's waiting
    budget: the task is retried); raises LiveMoved if the alias moved away from a live
    target. The place is a lease (see locks): a writer that dies leaves it within one.
    """
    kind = "bulk" if bulk else "stream"
    member = f"{kind}:{locks.new_owner().tag()}"
    enter = redis.register_script(_ENTER)
    keys = [GATE_KEY + target.collection, WRITERS_KEY + target.collection, ALIAS_KEY + prefix]

    def attempt() -> bool | None:
        expires = int((time.time() + lease) * 1000)
        entered = enter(keys=keys, args=[member, expires, kind, target.collection if target.live else ""])
        if entered == -1:
            raise LiveMoved(f"{target.collection} is no longer live")
        return True if entered == 1 else None

    locks.wait_for(attempt, wait, f"writes to {target.collection} paused")
    with locks.renewed(locks.Lease(redis, [keys[1]], member, lease, sorted=True)):
        yield


@dataclass
class Pause:
    """How long a paused collection's writers waited: bulk ones, and every one."""

    bulk_seconds: float = 0.0
    all_seconds: float = 0.0


@contextmanager
def paused(redis: Redis, collection: str, timeout: float) -> Iterator[Pause]:
    """Hold every writer of `collection` out for the block, once those inside have left.

    First new bulk writers wait while bulk writes in flight end (they may take seconds);
    then stream writers too, while the few in flight end. WaitTimeout, and the gate
    opened again, if writers are still inside after `timeout`. The gate expires by
    itself should this process die holding it.
    """
    gate, writers = GATE_KEY + collection, WRITERS_KEY + collection
    pause = Pause()
    started, closed = time.monotonic(), None
    try:
        redis.set(gate, "bulk", px=int(2 * timeout * 1000))
        _drain(redis, writers, "bulk:", started + timeout)
        redis.set(gate, "all", px=int(2 * timeout * 1000))
        closed = time.monotonic()
        _drain(redis, writers, "", started + timeout)
        yield pause
    finally:
        redis.delete(gate)
        ended = time.monotonic()
        pause.bulk_seconds = round(ended - started, 3)
        pause.all_seconds = round(ended - closed, 3) if closed is not None else 0.0


def _drain(redis: Redis, writers: str, kind: str, deadline: float) -> None:
    """Wait until no writer of this kind ("": any) holds an unexpired place in `writers`."""

    def drained() -> bool:
        locks.prune(redis, writers)  # writers whose lease lapsed, or who died here
        return not any(member.startswith(kind) for member in redis.zrange(writers, 0, -1))

    poll_until(drained, deadline - time.monotonic(),
               f"writers still busy in {writers.removeprefix(WRITERS_KEY)}", _POLL)
