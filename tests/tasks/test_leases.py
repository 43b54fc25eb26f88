"""Locks and slots that die with their holder, on the real Redis (locks.py, registry.put)."""

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
import redis as redis_lib

from ingest_tasks.core.errors import Busy, LeaseLost
from ingest_tasks.core.polling import poll_until
from ingest_tasks.core.settings import get_settings
from ingest_tasks.state import locks, registry
from ingest_tasks.state.registry import COMMITTED, Entry

# A holder in a process of its own: takes the lock, says so, and sleeps until killed.
HOLDER = """
import sys, time, redis
from ingest_tasks.state import locks
r = redis.Redis.from_url(sys.argv[1], decode_responses=True)
with locks.held(r, [sys.argv[2]], lease=float(sys.argv[3]), wait=10):
    print("held", flush=True)
    time.sleep(600)
"""


@pytest.fixture
def redis():
    return redis_lib.Redis.from_url(get_settings().redis_url, decode_responses=True)


@pytest.fixture
def key():
    return f"ingest:lock:test-{uuid.uuid4().hex[:8]}:doc"


def holder(key: str, lease: float) -> subprocess.Popen:
    """A process of this machine holding `key`, once it says so."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, get_settings().redis_url, key, str(lease)],
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_live_holder_keeps_its_lock_past_its_lease(redis, key):
    proc = holder(key, lease=1.0)
    try:
        time.sleep(2.5)  # the lease renewed twice or more meanwhile: nothing to wait on here
        with pytest.raises(Busy):
            with locks.held(redis, [key], lease=1.0, wait=1.0):
                pass
        assert 0 < redis.pttl(key) <= 1000
    finally:
        proc.kill()
        proc.wait()


def test_a_killed_holder_s_lock_is_taken_over_at_once_on_its_machine(redis, key):
    proc = holder(key, lease=60.0)  # a lease far longer than the wait below
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    started = time.monotonic()
    with locks.held(redis, [key], lease=60.0, wait=0):  # no wait: a restarted holder's case
        assert time.monotonic() - started < 1.0


def test_a_worker_starting_releases_the_locks_of_dead_owners_of_its_machine(redis, key):
    proc = holder(key, lease=60.0)
    other_machine = locks.Owner("elsewhere/pid[1]", proc.pid, 1.0, "t").tag()
    redis.set(key + "-elsewhere", other_machine, px=60_000)
    proc.kill()
    proc.wait()
    locks.release_dead(redis, [key + "*"])
    assert redis.get(key) is None
    assert redis.get(key + "-elsewhere") == other_machine  # not judged: it lapses by itself
    redis.delete(key + "-elsewhere")


def test_a_holder_of_another_machine_that_stops_renewing_lapses_within_its_lease(redis, key):
    redis.set(key, locks.Owner("elsewhere/pid[1]", 1, 1.0, "t").tag(), px=1500)
    started = time.monotonic()
    with locks.held(redis, [key], lease=1.5, wait=10.0):
        assert time.monotonic() - started < 3.0


def test_a_slot_of_a_dead_holder_is_taken_at_once(redis):
    name = f"ingest:writer:test-{uuid.uuid4().hex[:8]}"
    proc = holder(f"{name}:0", lease=60.0)
    proc.kill()
    proc.wait()
    with locks.slot(redis, name, 1, lease=60.0, wait=5.0) as lease:
        assert lease.keys == [f"{name}:0"]


def test_waiting_ends_in_busy_at_the_task_s_budget_not_its_own_limit(redis, key):
    redis.set(key, locks.Owner("elsewhere/pid[1]", 1, 1.0, "t").tag(), px=60_000)
    started = time.monotonic()
    with pytest.raises(Busy), locks.budget(time.monotonic() + 0.5):
        with locks.held(redis, [key], lease=10.0, wait=120.0):
            pass
    assert time.monotonic() - started < 3.0
    redis.delete(key)


def test_a_commit_whose_lock_lapsed_and_was_taken_records_nothing(redis):
    collection = f"test-{uuid.uuid4().hex[:8]}"
    with registry.locked(redis, collection, ["d"], lease=10.0) as lease:
        registry.put(redis, collection, {"d": Entry(1, COMMITTED, "h", 1, 1)}, lease)
        redis.set(lease.keys[0], "another holder")  # as if it lapsed, and another took it
        with pytest.raises(LeaseLost):
            registry.put(redis, collection, {"d": Entry(2, COMMITTED, "h2", 1, 1)}, lease)
        poll_until(lambda: lease.lost, 10, "the heartbeat noticing the lease lost", 0.05)
    assert registry.get(redis, collection, "d").version == 1
    assert redis.get(lease.keys[0]) == "another holder"  # released only what was its own
