"""The alias, the writers' gate and the change log, on the real Redis."""

import threading
import uuid

import pytest
import redis as redis_lib

from ingest_tasks.bluegreen.swap import _switch
from ingest_tasks.core.errors import LiveMoved
from ingest_tasks.core.keys import (
    ALIAS_KEY,
    CHANGES_KEY,
    FEEDS_KEY,
    GATE_KEY,
    HISTORY_KEY,
    WRITERS_KEY,
)
from ingest_tasks.core.polling import poll_until
from ingest_tasks.core.settings import get_settings
from ingest_tasks.state import alias, changes
from ingest_tasks.state.alias import Target

PREFIX = f"t-{uuid.uuid4().hex[:8]}"  # the collection prefix whose alias these tests move


@pytest.fixture
def redis():
    """The test Redis; the alias of PREFIX is gone after the test."""
    client = redis_lib.Redis.from_url(get_settings().redis_url, decode_responses=True)
    yield client
    client.delete(ALIAS_KEY + PREFIX, HISTORY_KEY + PREFIX)


def name() -> str:
    return f"{PREFIX}-{uuid.uuid4().hex[:8]}"


def test_changes_are_owed_only_to_followers_in_order_and_a_newer_mark_survives_a_clear(redis):
    source, target = name(), name()
    changes.record(redis, source, ["a"])
    assert changes.pending(redis, target) == []  # nobody followed yet

    changes.follow(redis, source, target)
    changes.record(redis, source, ["b", "a"])
    changes.record(redis, source, ["c"])
    assert changes.pending(redis, target) == ["b", "a", "c"]

    seen = changes.read(redis, target, ["a", "b"])
    changes.record(redis, source, ["a"])  # a changes again while it is being copied
    changes.clear(redis, target, seen)
    assert changes.pending(redis, target) == ["c", "a"]


def test_a_writer_of_a_live_collection_finds_that_the_alias_moved(redis):
    old, new = Target(name(), "m", live=True), Target(name(), "m")
    redis.hset(ALIAS_KEY + PREFIX, mapping={"collection": old.collection, "model": "m"})
    with alias.writing(redis, old, PREFIX, bulk=False, wait=1):
        pass
    redis.hset(ALIAS_KEY + PREFIX, "collection", new.collection)
    with pytest.raises(LiveMoved), alias.writing(redis, old, PREFIX, bulk=False, wait=1):
        pass
    with alias.writing(redis, old, "another-prefix", bulk=False, wait=1):
        pass  # another deployment's alias is not this one's
    with alias.writing(redis, Target(old.collection, "m"), PREFIX, bulk=False, wait=1):
        pass  # named directly, not through the alias: no check


def test_a_pause_waits_for_writers_inside_and_holds_new_ones_out(redis):
    target = Target(name(), "m")
    inside, leave, paused, entered = (threading.Event() for _ in range(4))
    pauses, held_out = [], []

    def write(started: threading.Event, done: threading.Event, bulk: bool):
        with alias.writing(redis, target, PREFIX, bulk=bulk, wait=30):
            started.set()
            done.wait(30)

    def pause():
        with alias.paused(redis, target.collection, timeout=30) as held:
            paused.set()
            late.start()
            held_out.append(not entered.wait(0.2))
        pauses.append(held)

    first = threading.Thread(target=write, args=(inside, leave, True))
    at_once = threading.Event()
    at_once.set()
    late = threading.Thread(target=write, args=(entered, at_once, False))
    first.start()
    inside.wait(5)
    swapper = threading.Thread(target=pause)
    swapper.start()
    poll_until(lambda: redis.get(GATE_KEY + target.collection) == "bulk", 5, "gate closing")
    assert not paused.is_set()  # the bulk writer inside is still writing
    leave.set()
    assert paused.wait(10)
    swapper.join(10)
    assert held_out == [True] and entered.wait(10)  # held out, then let in after the pause
    late.join(10)
    assert pauses[0].all_seconds <= pauses[0].bulk_seconds
    assert redis.zcard(WRITERS_KEY + target.collection) == 0


def test_a_pause_with_a_writer_stuck_inside_times_out_and_opens_the_gate(redis):
    target, leave = Target(name(), "m"), threading.Event()
    inside = threading.Event()

    def write():
        with alias.writing(redis, target, PREFIX, bulk=False, wait=5):
            inside.set()
            leave.wait(10)

    writer = threading.Thread(target=write)
    writer.start()
    inside.wait(5)
    with pytest.raises(TimeoutError), alias.paused(redis, target.collection, timeout=0.2):
        pass
    assert redis.get(GATE_KEY + target.collection) is None
    leave.set()
    writer.join(10)


def test_a_swap_moves_alias_history_and_feeds_in_one_step_and_drops_past_retention(redis):
    first, second, third = (Target(name(), "m", str(n)) for n in range(3))
    changes.follow(redis, first.collection, second.collection)
    assert _switch(redis, PREFIX, first, second, keep=1) == []
    assert redis.hget(ALIAS_KEY + PREFIX, "collection") == second.collection
    assert alias.previous(redis, PREFIX) == [first]
    assert changes.feeds(redis, second.collection) == {first.collection}
    assert not redis.exists(FEEDS_KEY + first.collection)

    changes.record(redis, second.collection, ["x"])
    assert changes.pending(redis, first.collection) == ["x"]  # owed to the kept one
    dropped = _switch(redis, PREFIX, second, third, keep=1)
    assert dropped == [first] and alias.previous(redis, PREFIX) == [second]
    assert not redis.exists(CHANGES_KEY + first.collection)
    assert changes.feeds(redis, third.collection) == {second.collection}
