"""The counters workers keep in Redis for the metrics exporter (ops.metrics serves them).

One Redis hash, so any number of workers on any number of machines add up: outcomes by
lane, model and reason, end-to-end latency in histogram buckets, rate-limiter waits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest_tasks.core.keys import COUNTERS_KEY
from ingest_tasks.core.results import COMMITTED, FAILED, ProcessingResult

if TYPE_CHECKING:
    from redis import Redis

LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)


def count(redis: Redis, lane: str, model: str, results: list[ProcessingResult],
          latencies: list[float]) -> None:
    """Add a task's outcomes and its documents' end-to-end latencies to the counters."""
    with redis.pipeline(transaction=False) as pipe:
        for result in results:
            pipe.hincrby(COUNTERS_KEY, f"docs|{lane}|{model}|{result.status}", 1)
            if result.status == COMMITTED:
                pipe.hincrby(COUNTERS_KEY, f"chunks|{lane}|{model}", result.chunks)
            elif result.status == FAILED:
                pipe.hincrby(COUNTERS_KEY, f"failures|{lane}|{result.reason.split(':', 1)[0]}", 1)
        for seconds in latencies:
            bound = next((b for b in LATENCY_BUCKETS if seconds <= b), "+Inf")
            pipe.hincrby(COUNTERS_KEY, f"latency|{lane}|{bound}", 1)
            pipe.hincrbyfloat(COUNTERS_KEY, f"latency_sum|{lane}", seconds)
        pipe.execute()


def count_wait(redis: Redis, bucket: str, seconds: float) -> None:
    """Add a wait for a rate limiter's token to the counters."""
    with redis.pipeline(transaction=False) as pipe:
        pipe.hincrby(COUNTERS_KEY, f"rate_waits|{bucket}", 1)
        pipe.hincrbyfloat(COUNTERS_KEY, f"rate_wait_seconds|{bucket}", seconds)
        pipe.execute()
