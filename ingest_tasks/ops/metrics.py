"""Metrics for Prometheus: the exporter of the counters workers keep in Redis (state.counters).

Workers count what they commit and fail (by lane, model and reason), latency into
histogram buckets, and rate-limiter waits, in one Redis hash, so any number of workers
on any number of machines add up. `ingest metrics` serves those counters with what it
reads at each scrape: queue depth through the broker (Flower cannot show it), the age
of each queue's oldest message and the unacknowledged messages (Redis broker), the
progress of running jobs, and each source's last sync and watcher.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ingest_tasks.core.keys import BULK_QUEUE, COUNTERS_KEY, SOURCES_QUEUE, STREAM_QUEUE
from ingest_tasks.state.counters import LATENCY_BUCKETS

if TYPE_CHECKING:
    from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
    from prometheus_client.metrics_core import Metric
    from redis import Redis

    from ingest_tasks.core.settings import Settings
    from ingest_tasks.lanes.app import IngestApp


def oldest_age(redis: Redis, queue: str) -> float | None:
    """Seconds since the oldest message of a Redis queue was submitted (None: empty or unknown)."""
    raw = redis.lindex(queue, -1)  # kombu pushes on the left and pops on the right
    if raw is None:
        return None
    message = json.loads(raw)
    args = json.loads(base64.b64decode(message["body"]))[0]
    submitted = [item.get("submitted") for arg in args
                 for item in (arg if isinstance(arg, list) else [arg]) if isinstance(item, dict)]
    stamps: list[float] = [stamp for stamp in submitted if stamp]
    return max(time.time() - min(stamps), 0.0) if stamps else None


class Collector:
    """The prometheus_client collector of ingest-tasks: reads Redis and the broker at each scrape."""

    def __init__(self, app: IngestApp, redis: Redis, broker_redis: Redis | None = None) -> None:
        self.app, self.redis, self.broker_redis = app, redis, broker_redis

    def collect(self) -> Iterator[Metric]:
        """Every metric, read now."""
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        from ingest_tasks.lanes.backpressure import queue_depth
        from ingest_tasks.state import jobs

        depth = GaugeMetricFamily("ingest_queue_depth", "Messages waiting in a queue", labels=["queue"])
        age = GaugeMetricFamily("ingest_queue_oldest_age_seconds",
                                "Seconds since the oldest waiting message was submitted", labels=["queue"])
        for queue in (STREAM_QUEUE, BULK_QUEUE, SOURCES_QUEUE):
            depth.add_metric([queue], queue_depth(self.app, queue))
            if self.broker_redis is not None:
                age.add_metric([queue], oldest_age(self.broker_redis, queue) or 0.0)
        yield depth
        if self.broker_redis is not None:
            yield age
            unacked = GaugeMetricFamily("ingest_unacked_messages",
                                        "Messages taken by workers and not yet acknowledged")
            unacked.add_metric([], self.broker_redis.hlen("unacked"))
            yield unacked
        yield from _counters(self.redis.hgetall(COUNTERS_KEY), CounterMetricFamily,
                             HistogramMetricFamily)
        yield from _index(self.redis, self.app.settings)
        yield from _sources(self.redis, self.app.settings)
        running = [state for state in jobs.recent(self.redis, 100) if state["status"] == jobs.RUNNING]
        progress = GaugeMetricFamily("ingest_job_documents", "Documents of running batch jobs",
                                     labels=["job", "state"])
        for state in running:
            progress.add_metric([state["job_id"], "done"], state["done"])
            progress.add_metric([state["job_id"], "total"], state["total"])
        yield progress


def _index(redis: Redis, settings: Settings) -> Iterator[Metric]:
    """The live collection, the last swap's pause, and the changes owed to other collections."""
    from prometheus_client.core import GaugeMetricFamily

    from ingest_tasks.bluegreen import reembed
    from ingest_tasks.state import alias, changes

    prefix = settings.collection_prefix
    live = alias.live(redis, settings)
    info = GaugeMetricFamily("ingest_live_collection", "The collection searches and writes use",
                             labels=["collection", "model"])
    info.add_metric([live.collection, live.model], 1)
    pause = GaugeMetricFamily("ingest_swap_pause_seconds", "How long the last swap paused writers")
    pause.add_metric([], float(alias.alias_fields(redis, prefix).get("pause_seconds", 0)))
    owed = GaugeMetricFamily("ingest_changes_owed", "Documents changed since a collection copied them",
                             labels=["collection"])
    build = reembed.current(redis, prefix)
    others = [t.collection for t in alias.previous(redis, prefix)]
    if build is not None and build.status == reembed.BUILDING:
        others.append(build.target.collection)
    for collection in others:
        owed.add_metric([collection], changes.owed(redis, collection))
    yield from (info, pause, owed)


def _sources(redis: Redis, settings: Settings) -> Iterator[Metric]:
    """Per source: when its last sync ended, how long it took, its documents by outcome, and
    whether a watcher follows it."""
    from prometheus_client.core import GaugeMetricFamily

    from ingest_tasks.sync import overview

    ended = GaugeMetricFamily("ingest_source_last_sync_timestamp_seconds",
                              "When the source's last sync ended (Unix time)", labels=["source"])
    took = GaugeMetricFamily("ingest_source_last_sync_seconds",
                             "How long the source's last sync took", labels=["source"])
    docs = GaugeMetricFamily("ingest_source_last_sync_documents",
                             "Documents of the source's last sync by outcome",
                             labels=["source", "outcome"])
    watched = GaugeMetricFamily("ingest_source_watcher_up", "1 while a watcher follows the source",
                                labels=["source"])
    for row in overview.sources(redis, settings):
        name, last = row["name"], row["last"]
        watched.add_metric([name], int(row["watcher"] is not None))
        if last is not None:
            ended.add_metric([name], last["finished"])
            took.add_metric([name], last["seconds"])
            for outcome in overview.OUTCOMES:
                docs.add_metric([name, outcome], last[outcome])
    yield from (ended, took, docs, watched)


def _counters(fields: dict[str, str], counter: type[CounterMetricFamily],
              histogram: type[HistogramMetricFamily]) -> Iterator[Metric]:
    """The metric families of the counters hash."""
    docs = counter("ingest_documents", "Documents by lane, model and outcome",
                   labels=["lane", "model", "status"])
    chunks = counter("ingest_chunks_committed", "Chunks committed by lane and model",
                     labels=["lane", "model"])
    failures = counter("ingest_failures", "Failed documents by lane and reason", labels=["lane", "reason"])
    waits = counter("ingest_rate_limiter_waits", "Waits for a rate limiter's token", labels=["bucket"])
    waited = counter("ingest_rate_limiter_wait_seconds", "Seconds waited for tokens", labels=["bucket"])
    families = {"docs": docs, "chunks": chunks, "failures": failures, "rate_waits": waits,
                "rate_wait_seconds": waited}
    buckets: dict[str, dict[str, int]] = {}
    sums: dict[str, float] = {}
    for field, value in fields.items():
        kind, *labels = field.split("|")
        if kind == "latency":
            buckets.setdefault(labels[0], {})[labels[1]] = int(value)
        elif kind == "latency_sum":
            sums[labels[0]] = float(value)
        elif kind in families:
            families[kind].add_metric(labels, float(value))
    yield from families.values()
    latency = histogram("ingest_latency_seconds", "End-to-end latency, submit to searchable",
                        labels=["lane"])
    for lane, counts in buckets.items():
        total, cumulative = 0, []
        for bound in (*map(str, LATENCY_BUCKETS), "+Inf"):
            total += counts.get(bound, 0)
            cumulative.append((bound, total))
        latency.add_metric([lane], cumulative, sum_value=sums.get(lane, 0.0))
    yield latency


def serve(settings: Settings, port: int) -> None:
    """Serve the metrics on http://0.0.0.0:port/metrics until interrupted."""
    import redis as redis_lib
    from prometheus_client import start_http_server
    from prometheus_client.core import REGISTRY

    from ingest_tasks.lanes.factory import create_app

    app = create_app(settings)
    redis = redis_lib.Redis.from_url(settings.redis_url, decode_responses=True)
    broker = settings.broker
    broker_redis = redis_lib.Redis.from_url(broker) if broker.startswith(("redis://", "rediss://")) else None
    REGISTRY.register(Collector(app, redis, broker_redis))
    start_http_server(port)
    while True:
        time.sleep(3600)
