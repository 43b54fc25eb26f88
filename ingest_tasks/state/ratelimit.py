"""A token bucket in Redis, shared by every process on every machine of the fleet.

One hash per bucket holds its tokens and when they were counted. One Lua script refills
it by the time elapsed on the Redis clock (so the clocks of the machines do not matter)
and takes the tokens asked for, atomically. Tokens may go below zero: a caller reserves
its turn and sleeps until it comes, so callers are served in the order they asked, with
one round trip each and no polling.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ingest_tasks.core.keys import RATE_KEY
from ingest_tasks.state import counters

if TYPE_CHECKING:
    from redis import Redis

# KEYS[1] the bucket; ARGV rate (tokens/s), burst (capacity), tokens wanted.
# Returns the seconds until the tokens may be used, as a string: Lua numbers become integers.
_TAKE = """
local rate, burst, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate) - want
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return tostring(math.max(0, -tokens) / rate)
"""


def reserve(redis: Redis, name: str, rate_per_s: float, burst: int, tokens: int = 1) -> float:
    """Take `tokens` from the bucket `name` now; the seconds until they may be used."""
    if rate_per_s <= 0:
        return 0.0
    take = redis.register_script(_TAKE)
    return float(take(keys=[RATE_KEY + name], args=[rate_per_s, burst, tokens]))


def acquire(redis: Redis, name: str, rate_per_s: float, burst: int, tokens: int = 1) -> float:
    """Block until `tokens` of the bucket `name` are granted; the seconds waited (rate 0: none)."""
    wait = reserve(redis, name, rate_per_s, burst, tokens)
    if wait > 0:
        counters.count_wait(redis, name, wait)
        time.sleep(wait)
    return wait
