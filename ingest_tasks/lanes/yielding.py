"""Yielding to streaming: the bulk lane pauses while the stream lane misses its latency target.

Before each group, a bulk task reads the stream lane's newest latency samples; while
their p95 is past INGEST_STREAM_LATENCY_TARGET it waits (at most INGEST_YIELD_MAX_WAIT
seconds, so a bulk job always moves on). The pause frees the CPU cores and the Chroma
server for the stream lane until its latency recovers. INGEST_YIELD_TO_STREAM=false
turns it off.
"""

from __future__ import annotations

import time
from contextlib import suppress

from ingest_tasks.core.errors import WaitTimeout
from ingest_tasks.core.keys import STREAM_QUEUE
from ingest_tasks.core.polling import poll_until
from ingest_tasks.state import latency

_POLL = 0.25


def stream_over_target(redis, settings) -> bool:
    """True if the stream lane's recent p95 latency is past its target."""
    totals = latency.recent_totals(redis, STREAM_QUEUE, settings.yield_window)
    return bool(totals) and latency.quantile(totals, 0.95) > settings.stream_latency_target


def wait_for_stream(resources) -> float:
    """Pause while the stream lane is over its target; returns the seconds waited."""
    settings = resources.settings
    if not settings.yield_to_stream:
        return 0.0
    started = time.monotonic()
    with suppress(WaitTimeout):  # a bulk job always moves on
        poll_until(lambda: not stream_over_target(resources.redis, settings),
                   settings.yield_max_wait, "the stream lane back on target", _POLL)
    return time.monotonic() - started
