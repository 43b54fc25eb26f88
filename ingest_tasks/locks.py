"""Short-lived locks in Redis: a set of keys taken together, or one of a few slots.

A lock is a key set with NX and a time to live, holding a random token; it is given back
only by its owner (a Lua check-and-delete), so one that outlived its TTL and was taken
by another is left alone.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_POLL = 0.005


@contextmanager
def held(redis, keys: list[str], ttl: float, wait: float) -> Iterator[None]:
    """Hold every key for the block; TimeoutError if they are not all free within `wait`.

    All are asked for in one round trip; if any is held elsewhere, those taken are given
    back and the whole set is asked for again, so two holders never wait on each other.
    """
    def take(token: str) -> list[str] | None:
        return keys if _take_all(redis, keys, token, ttl) else None

    with _holding(redis, take, wait, TimeoutError, f"{len(keys)} locks"):
        yield


@contextmanager
def slot(redis, name: str, slots: int, ttl: float, wait: float,
         busy: type[Exception] = TimeoutError) -> Iterator[None]:
    """Hold one of `slots` slots named `name` for the block (a semaphore over Redis).

    Raises `busy` if none comes free within `wait`.
    """
    keys = [f"{name}:{number}" for number in range(slots)]

    def take(token: str) -> list[str] | None:
        return next(([key] for key in keys if redis.set(key, token, nx=True, px=int(ttl * 1000))),
                    None)

    with _holding(redis, take, wait, busy, f"all {slots} slots of {name}"):
        yield


@contextmanager
def _holding(redis, take: Callable[[str], list[str] | None], wait: float,
             busy: type[Exception], what: str) -> Iterator[None]:
    """Ask `take(token)` until it returns the keys it took, hold them for the block, give them back."""
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait
    while (taken := take(token)) is None:
        if time.monotonic() > deadline:
            raise busy(f"{what} still held after {wait:.0f} s")
        time.sleep(_POLL)
    try:
        yield
    finally:
        _release(redis, taken, token)


def _take_all(redis, keys: list[str], token: str, ttl: float) -> bool:
    with redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.set(key, token, nx=True, px=int(ttl * 1000))
        taken = pipe.execute()
    if all(taken):
        return True
    _release(redis, [key for key, ok in zip(keys, taken) if ok], token)
    return False


def _release(redis, keys: list[str], token: str) -> None:
    release = redis.register_script(_RELEASE)
    with redis.pipeline(transaction=False) as pipe:
        for key in keys:
            release(keys=[key], args=[token], client=pipe)
        pipe.execute()
