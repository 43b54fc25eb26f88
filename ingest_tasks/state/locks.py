"""Leases in Redis: locks, writers' slots and places in a gate that die with their holder.

A lease is a key (or a member of a sorted set) whose value tags its owner: its machine
(host name and pid namespace), pid, the process's start time and a random token. While
the holder lives, one heartbeat thread of its process renews every lease it holds, a
short INGEST_LOCK_LEASE_SECONDS at a time; a holder that dies stops renewing, and its
leases lapse within one lease. On the owner's own machine sooner: a waiter that finds the
owner's pid gone (or now another process's) takes the lease over at once, and a worker
starting sweeps such leases away (`release_dead`). A holder whose lease lapsed all the
same (stopped, or cut off from Redis) is fenced: the registry records a commit only while
its token still holds the commit locks (registry.put), in the same script.

Every wait goes through `wait_for`: it ends in Busy (transient: the task is retried) at its
own limit or at the task's waiting budget (`budget`), whichever comes first, so waiting
never runs a task into its soft time limit.
"""

from __future__ import annotations

import contextvars
import math
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import psutil
from redis import Redis

from ingest_tasks.core.errors import Busy
from ingest_tasks.core.polling import poll_until

T = TypeVar("T")
_POLL = 0.005
_DEAD_CHECK = 0.25  # seconds between looks at whether blocking owners are alive

# KEYS: the keys; ARGV: tag, lease ms, 'all' or 'one'. Takes every key (all) or the first
# free one (one) if it can; returns {1, taken...} or {0, key, holder, key, holder...}.
_TAKE = """
local free, blockers = {}, {}
for _, key in ipairs(KEYS) do
  local holder = redis.call('get', key)
  if holder then
    table.insert(blockers, key); table.insert(blockers, holder)
  else
    table.insert(free, key)
  end
end
if #free == 0 or (ARGV[3] == 'all' and #blockers > 0) then return {0, unpack(blockers)} end
if ARGV[3] ~= 'all' then free = {free[1]} end
for _, key in ipairs(free) do redis.call('set', key, ARGV[1], 'PX', ARGV[2]) end
return {1, unpack(free)}
"""
# KEYS: keys or sorted sets; ARGV: value, lease ms, '1' for sorted sets, expiry ms (theirs).
# Renews those still held; returns how many were.
_RENEW = """
local held = 0
for _, key in ipairs(KEYS) do
  if ARGV[3] == '1' then
    if redis.call('zscore', key, ARGV[1]) then
      redis.call('zadd', key, ARGV[4], ARGV[1]); held = held + 1
    end
  elseif redis.call('get', key) == ARGV[1] then
    redis.call('pexpire', key, ARGV[2]); held = held + 1
  end
end
return held
"""
# KEYS: keys or sorted sets; ARGV: value, '1' for sorted sets. Gives back those still ours.
_RELEASE = """
for _, key in ipairs(KEYS) do
  if ARGV[2] == '1' then
    redis.call('zrem', key, ARGV[1])
  elseif redis.call('get', key) == ARGV[1] then
    redis.call('del', key)
  end
end
return 1
"""


@dataclass(frozen=True)
class Owner:
    """Who holds a lease: a process of a machine, and a token of this one holding."""

    machine: str
    pid: int
    started: float
    token: str

    def tag(self) -> str:
        """The lease's value."""
        return f"{self.machine}|{self.pid}|{self.started:.2f}|{self.token}"

    @classmethod
    def parse(cls, tag: str) -> Owner | None:
        """Inverse of tag; None for a value that is no owner's tag."""
        parts = tag.rsplit(":", 1)[-1].split("|") if "|" in tag else []
        if len(parts) != 4:
            return None
        try:
            return cls(parts[0], int(parts[1]), float(parts[2]), parts[3])
        except ValueError:
            return None


def machine() -> str:
    """This machine as owners name it: host name and pid namespace (containers differ)."""
    try:
        namespace = os.readlink("/proc/self/ns/pid").replace(":", "")
    except OSError:
        namespace = ""
    return f"{socket.gethostname()}/{namespace}".replace("|", "_").replace(":", "_")


def new_owner() -> Owner:
    """An owner tag for one holding by this process."""
    return Owner(machine(), os.getpid(), psutil.Process().create_time(), uuid.uuid4().hex)


def dead(tag: str) -> bool:
    """True if the tag's owner ran on this machine and has ended (its pid gone, a zombie,
    or another process's now). Owners of other machines are never judged: their leases lapse."""
    owner = Owner.parse(tag)
    if owner is None or owner.machine != machine():
        return False
    try:
        process = psutil.Process(owner.pid)
        return (process.status() == psutil.STATUS_ZOMBIE
                or abs(process.create_time() - owner.started) > 0.02)
    except psutil.NoSuchProcess:
        return True


# --- waiting ----------------------------------------------------------------------------

_budget: contextvars.ContextVar[float] = contextvars.ContextVar("wait_budget", default=math.inf)


@contextmanager
def budget(until: float) -> Iterator[None]:
    """Every wait in the block ends by `until` (time.monotonic()), raising Busy."""
    reset = _budget.set(min(until, _budget.get()))
    try:
        yield
    finally:
        _budget.reset(reset)


def wait_for(attempt: Callable[[], T | None], wait: float, what: str) -> T:
    """Call `attempt()` until it returns something; Busy after `wait` s or past the budget."""
    def found() -> tuple[T] | None:  # what attempt() found, true even if it is empty
        got = attempt()
        return None if got is None else (got,)

    return poll_until(found, min(wait, _budget.get() - time.monotonic()), what, _POLL, Busy)[0]


# --- leases -----------------------------------------------------------------------------

@dataclass(eq=False)
class Lease:
    """Keys (or members of sorted sets) held under one value, renewed while held."""

    redis: Redis
    keys: list[str]
    value: str
    seconds: float
    sorted: bool = False
    lost: bool = field(default=False)

    def renew(self) -> None:
        """Extend the lease; marks it lost if any of its keys is no longer ours."""
        expiry = int((time.time() + self.seconds) * 1000)
        held = self.redis.register_script(_RENEW)(
            keys=self.keys, args=[self.value, int(self.seconds * 1000), int(self.sorted), expiry])
        self.lost |= held < len(self.keys)

    def release(self) -> None:
        """Give back whichever of its keys are still ours."""
        self.redis.register_script(_RELEASE)(keys=self.keys, args=[self.value, int(self.sorted)])


@contextmanager
def held(redis, keys: list[str], lease: float, wait: float,
         what: str = "") -> Iterator[Lease]:
    """Hold every key for the block (all taken in one step, or none); Busy (saying `what`
    is held) if not within `wait`."""
    with _leased(redis, keys, "all", lease, wait, what or f"{len(keys)} commit locks still held"
                 ) as taken:
        yield taken


@contextmanager
def slot(redis, name: str, slots: int, lease: float, wait: float) -> Iterator[Lease]:
    """Hold one of `slots` slots named `name` for the block (a semaphore over Redis)."""
    keys = _slot_keys(name, slots)
    with _leased(redis, keys, "one", lease, wait, f"all {slots} slots of {name} still held") as taken:
        yield taken


def slots_free(redis, name: str, slots: int) -> bool:
    """Whether one of the `slots` slots named `name` is free now (see slot)."""
    return redis.exists(*_slot_keys(name, slots)) < slots


def _slot_keys(name: str, slots: int) -> list[str]:
    return [f"{name}:{number}" for number in range(slots)]


@contextmanager
def _leased(redis, keys: list[str], how: str, seconds: float, wait: float,
            what: str) -> Iterator[Lease]:
    """Take keys (`how`: all, or one of them) under a lease; renew it for the block."""
    tag = new_owner().tag()
    take, looked = redis.register_script(_TAKE), [0.0]

    def attempt() -> list[str] | None:
        reply = take(keys=keys, args=[tag, int(seconds * 1000), how])
        if reply[0] != 1 and time.monotonic() - looked[0] > _DEAD_CHECK:
            looked[0] = time.monotonic()
            gone = [(key, holder) for key, holder in zip(reply[1::2], reply[2::2]) if dead(holder)]
            for key, holder in gone:  # a dead owner's: taken over at once, even by a wait of 0
                Lease(redis, [key], holder, seconds).release()
            if gone:
                reply = take(keys=keys, args=[tag, int(seconds * 1000), how])
        return reply[1:] if reply[0] == 1 else None

    lease = Lease(redis, wait_for(attempt, wait, what), tag, seconds)
    with renewed(lease):
        yield lease


@contextmanager
def renewed(lease: Lease) -> Iterator[Lease]:
    """Renew the lease from the heartbeat thread for the block, then give it back."""
    _heart().add(lease)
    try:
        yield lease
    finally:
        _heart().remove(lease)
        try:
            lease.release()
        except Exception:  # noqa: BLE001 - Redis away (a restart): the heartbeat tries again
            _heart().release_later(lease)


def release_dead(redis, patterns: list[str], batch: int = 1000) -> int:
    """Give back every lease matching `patterns` (keys, or members of sorted sets) whose
    owner on this machine has ended; returns how many. A worker does this when it starts."""
    released = 0
    for pattern in patterns:
        for key in redis.scan_iter(match=pattern, count=batch):
            kind = redis.type(key)
            if kind == "string":
                holder = redis.get(key)
                if holder and dead(holder):
                    Lease(redis, [key], holder, 1.0).release()
                    released += 1
            elif kind == "zset":
                released += prune(redis, key)
    return released


def prune(redis, key: str) -> int:
    """Drop the lapsed members of a sorted set of leases (scored by expiry), and those of
    dead owners on this machine; returns how many."""
    dropped = redis.zremrangebyscore(key, "-inf", int(time.time() * 1000))
    gone = [member for member in redis.zrange(key, 0, -1) if dead(member)]
    if gone:
        dropped += redis.zrem(key, *gone)
    return dropped


class _Heart:
    """One heartbeat thread per process: renews the leases held, retries refused releases."""

    def __init__(self):
        self.lock = threading.Lock()
        self.held: set[Lease] = set()
        self.unreleased: dict[Lease, float] = {}  # lease -> when it lapses anyway
        self.wake = threading.Event()
        threading.Thread(target=self._beat, name="lease-heartbeat", daemon=True).start()

    def add(self, lease: Lease) -> None:
        with self.lock:
            self.held.add(lease)
        self.wake.set()  # the interval may be shorter now

    def remove(self, lease: Lease) -> None:
        with self.lock:
            self.held.discard(lease)

    def release_later(self, lease: Lease) -> None:
        with self.lock:
            self.unreleased[lease] = time.monotonic() + lease.seconds

    def _beat(self) -> None:
        while True:
            self.wake.clear()  # before reading what is held: a lease added now wakes the next wait
            with self.lock:
                held, unreleased = list(self.held), list(self.unreleased.items())
            for lease in held:
                try:
                    lease.renew()
                except Exception:  # noqa: BLE001 - Redis away: try again at the next beat
                    pass
            for lease, lapses in unreleased:
                self._release(lease, lapses)
            self.wake.wait(min((lease.seconds / 3 for lease in held), default=1.0))

    def _release(self, lease: Lease, lapses: float) -> None:
        try:
            if time.monotonic() < lapses:
                lease.release()
        except Exception:  # noqa: BLE001 - still away
            return
        with self.lock:
            self.unreleased.pop(lease, None)


_heart_of: dict[int, _Heart] = {}
_starting = threading.Lock()


def _heart() -> _Heart:
    """This process's heartbeat, started on first use (a forked child starts its own)."""
    pid = os.getpid()
    if pid not in _heart_of:
        with _starting:
            if pid not in _heart_of:
                _heart_of.clear()
                _heart_of[pid] = _Heart()
    return _heart_of[pid]
