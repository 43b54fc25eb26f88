"""Yielding to streaming: bulk groups wait while the stream lane misses its latency target."""

import json
import time
from types import SimpleNamespace

import pytest
import redis as redis_lib

from ingest_tasks.core.keys import LATENCY_KEY, STREAM_QUEUE
from ingest_tasks.core.settings import get_settings
from ingest_tasks.lanes import yielding


@pytest.fixture
def resources():
    redis = redis_lib.Redis.from_url(get_settings().redis_url, decode_responses=True)
    redis.delete(LATENCY_KEY + STREAM_QUEUE)
    settings = get_settings().model_copy(update={
        "stream_latency_target": 1.0, "yield_window": 10.0, "yield_max_wait": 0.6})
    yield SimpleNamespace(redis=redis, settings=settings)
    redis.delete(LATENCY_KEY + STREAM_QUEUE)


def add_samples(redis, *totals, age: float = 0.0):
    at = time.time() - age
    redis.lpush(LATENCY_KEY + STREAM_QUEUE, *(json.dumps({"at": at, "total": t}) for t in totals))


def test_a_slow_stream_lane_holds_bulk_groups_back_up_to_the_longest_wait(resources):
    add_samples(resources.redis, *[0.4] * 18, 3.0, 3.5)  # p95 past the 1 s target
    assert yielding.stream_over_target(resources.redis, resources.settings)
    assert 0.6 <= yielding.wait_for_stream(resources) < 1.5


def test_a_fast_or_quiet_stream_lane_holds_nothing_back(resources):
    assert yielding.wait_for_stream(resources) < 0.1  # no samples at all
    add_samples(resources.redis, 5.0, 5.0, age=60)  # slow, but long ago
    add_samples(resources.redis, *[0.4] * 20)
    assert not yielding.stream_over_target(resources.redis, resources.settings)
    assert yielding.wait_for_stream(resources) < 0.1


def test_yielding_can_be_switched_off(resources):
    add_samples(resources.redis, 9.0, 9.0)
    off = SimpleNamespace(redis=resources.redis,
                          settings=resources.settings.model_copy(update={"yield_to_stream": False}))
    assert yielding.wait_for_stream(off) == 0.0
