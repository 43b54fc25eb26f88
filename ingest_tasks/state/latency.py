"""End-to-end latency per lane, submit -> committed (searchable), kept in Redis.

Each committed document of a task that carries a submit stamp adds one sample: the total
and its parts (queued before a worker took it, parse and chunk, embed, commit). Each
lane keeps its latest samples in a capped list; `percentiles` reads a time window.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from ingest_tasks.core.keys import LATENCY_KEY
from ingest_tasks.core.results import COMMITTED, ProcessingResult

if TYPE_CHECKING:
    from redis import Redis

KEEP = 20_000  # samples kept per lane
PARTS = ("queued", "parse_chunk", "embed", "store")


def sample(result: ProcessingResult, submitted: float, started: float, now: float) -> dict:
    """One latency sample: the total and the seconds of each part."""
    parts = {"queued": max(started - submitted, 0.0)}
    parts.update({name: result.timings.get(name, 0.0) for name in PARTS[1:]})
    return {"at": now, "total": max(now - submitted, 0.0), **parts}


def record(redis: Redis, lane: str, results: list[ProcessingResult], submitted: float,
           started: float) -> list[float]:
    """Add a sample for each committed result of a task submitted at `submitted`; their totals."""
    if not submitted:
        return []
    now = time.time()
    samples = [sample(r, submitted, started, now) for r in results if r.status == COMMITTED]
    if samples:
        with redis.pipeline() as pipe:
            pipe.lpush(LATENCY_KEY + lane, *(json.dumps(s) for s in samples))
            pipe.ltrim(LATENCY_KEY + lane, 0, KEEP - 1)
            pipe.execute()
    return [s["total"] for s in samples]


def quantile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of the values, nearest rank."""
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def _samples(redis: Redis, lane: str, window: float | None, latest: int = KEEP) -> list[dict]:
    """The lane's newest samples (at most `latest`) of the last `window` seconds (None: all)."""
    since = time.time() - window if window else 0.0
    rows = (json.loads(raw) for raw in redis.lrange(LATENCY_KEY + lane, 0, latest - 1))
    return [row for row in rows if row["at"] >= since]


def recent_totals(redis: Redis, lane: str, window: float, latest: int = 64) -> list[float]:
    """Totals of the lane's newest samples (at most `latest`) of the last `window` seconds."""
    return [row["total"] for row in _samples(redis, lane, window, latest)]


def percentiles(redis: Redis, lane: str, window: float | None = None) -> dict:
    """p50/p95/p99 of the total over the last `window` seconds, and each part's share."""
    rows = _samples(redis, lane, window)
    if not rows:
        return {"lane": lane, "samples": 0}
    totals = [row["total"] for row in rows]
    spent = sum(totals) or 1.0
    return {
        "lane": lane, "samples": len(rows),
        **{f"p{q}": round(quantile(totals, q / 100), 4) for q in (50, 95, 99)},
        "share": {part: round(sum(row[part] for row in rows) / spent, 3) for part in PARTS},
    }
