"""Run the scaled day on a private stack, once per mode, and count what each used.

One stack serves both modes: Redis, the Chroma server behind a counting proxy per lane,
an embedding service process per lane. For each mode its pools are started (pointed at
their lane's proxy and service), the day is sent on its schedule, every document is
waited for, and the counters are read before and after; then the pools are stopped.
Hybrid's bulk lane embeds through the service's Batch API by default
(INGEST_BULK_EMBEDDING=batch), with a beat that asks after its batches every
BATCH_POLL_SECONDS; pure streaming has no bulk lane.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING

from ingest_tasks.cost.day import BULK_EMBEDDINGS, HYBRID, LANES, MODES, Arrival, pool_sizes
from ingest_tasks.cost.meters import (
    CountingProxy,
    Service,
    Span,
    TaskWatcher,
    busy_seconds,
    counting_proxy,
    cpu_seconds,
    embedding_service,
    peak,
)
from ingest_tasks.pipeline.embed import API_PREFIX

BATCH_POLL_SECONDS = 1  # the scaled day is short: its batches are committed as they end

if TYPE_CHECKING:
    from celery import Celery

    from ingest_tasks.interfaces.client import IngestClient
    from ingest_tasks.ops.stack import Stack


@dataclass
class Rig:
    """The stack and the meters in front of its services."""

    stack: Stack
    services: dict[str, Service]  # by lane
    proxies: dict[str, CountingProxy]  # by lane
    watcher: TaskWatcher

    def snapshot(self) -> dict:
        """Every counter now."""
        return {
            "cpu": {lane: cpu_seconds(self.stack.pid(lane)) for lane in LANES},
            "service": {lane: self.services[lane].counts() for lane in LANES},
            "service_cpu": {lane: cpu_seconds(self.services[lane].pid) for lane in LANES},
            "store": {lane: self.proxies[lane].counts() for lane in LANES},
            "chroma_cpu": cpu_seconds(self.stack.pid("chroma")),
        }


@dataclass
class Sent:
    """An arrival as sent: when, and its batch job or its stream tasks."""

    arrival: Arrival
    at: float
    job: str | None = None
    results: list = field(default_factory=list)  # AsyncResult per streamed document
    took: float = 0.0  # seconds from sending to its last document committed
    yielded: float = 0.0  # seconds its bulk groups waited for the stream lane


def measure(arrivals: list[Arrival], redis_url: str, model: str, timeout: float,
            report: Callable[[str], None], bulk_embedding: str = "batch") -> dict:
    """Both modes of the day on a stack of their own, hybrid's bulk lane embedding
    `bulk_embedding` (batch or online); each mode's figures."""
    from ingest_tasks.core.settings import get_settings
    from ingest_tasks.testing.stacks import isolate, private_stack

    if not model.startswith(API_PREFIX):
        raise ValueError(f"{model}: give an {API_PREFIX} model, so the embedding service counts")
    if bulk_embedding not in BULK_EMBEDDINGS:
        raise ValueError(f"bulk embedding {bulk_embedding!r}: "
                         f"choose from {', '.join(BULK_EMBEDDINGS)}")
    # The local service stands in for a hosted API and is far slower on a small machine:
    # a long timeout keeps its slowness from turning into retries that would be counted.
    state = isolate(redis_url, embedding_model=model, embedding_api_timeout="900",
                    batch_poll_seconds=str(BATCH_POLL_SECONDS))
    get_settings.cache_clear()
    settings = get_settings()
    with private_stack(state, parts=["redis", "chroma"]) as stack, ExitStack() as running:
        from ingest_tasks.lanes.factory import create_app

        app = create_app(settings)
        _refuse_busy(app, redis_url)
        app.control.purge()
        local = model.removeprefix(API_PREFIX)
        rig = Rig(stack, {
            lane: running.enter_context(embedding_service(state, local)) for lane in LANES
        }, {
            lane: running.enter_context(counting_proxy(settings.chroma_host, settings.chroma_port))
            for lane in LANES
        }, running.enter_context(TaskWatcher(app)))
        folders = _link_uploads(arrivals, state / "uploads")
        return {mode: run_mode(rig, mode, arrivals, folders, timeout, report,
                               bulk_embedding if mode == HYBRID else "online")
                for mode in MODES}


def run_mode(rig: Rig, mode: str, arrivals: list[Arrival], folders: dict[int, Path],
             timeout: float, report: Callable[[str], None], bulk_embedding: str) -> dict:
    """One mode: its pools (and in batch mode the beat) up, the day sent, every document
    waited for; its figures."""
    from ingest_tasks.core.settings import Settings, get_settings
    from ingest_tasks.interfaces.client import IngestClient
    from ingest_tasks.ops.stack import Stack

    settings = get_settings()
    sizes = pool_sizes(mode, settings.stream_concurrency, settings.bulk_concurrency)
    os.environ.update({"INGEST_COLLECTION_PREFIX": f"{settings.collection_prefix}-{mode}",
                       "INGEST_BULK_EMBEDDING": bulk_embedding})
    if bulk_embedding == "batch":  # the mode's settings: the beat's lock is under its prefix
        Stack(Settings()).up(["beat"], report=report)
    for lane, size in sizes.items():
        rig.stack.up([lane], report=report, env={
            "INGEST_CHROMA_PORT": str(rig.proxies[lane].port),
            "INGEST_EMBEDDING_API_URL": rig.services[lane].url,
            f"INGEST_{lane.upper()}_CONCURRENCY": str(size)})
    time.sleep(2)  # the pool processes finish starting before anything is counted
    client = IngestClient(Settings())
    before, started = rig.snapshot(), time.time()
    sent = _send(client, mode, arrivals, folders, started, report)
    docs = _wait(client, sent, timeout)
    wall = time.time() - started
    time.sleep(2)  # the last task events arrive
    after = rig.snapshot()
    rig.stack.down([*sizes, "beat"], report=report)
    for item in sent:
        if not item.job:
            item.took = max(rig.watcher.ended.get(r.id, item.at) for r in item.results) - item.at
    return _figures(rig, sizes, before, after, rig.watcher.since(started), sent, docs, wall)


def _send(client: IngestClient, mode: str, arrivals: list[Arrival], folders: dict[int, Path], started: float,
          report: Callable[[str], None]) -> list[Sent]:
    """Send each arrival at its time: a batch job (hybrid uploads) or one task per document."""
    from ingest_tasks.pipeline.sources import file_ref

    sent = []
    for index, arrival in enumerate(arrivals):
        time.sleep(max(0.0, started + arrival.at - time.time()))
        item = Sent(arrival, time.time())
        if mode == HYBRID and arrival.kind == "upload":
            item.job = client.submit_batch([folders[index]])
        else:
            item.results = [client.stream(file_ref(doc.path, doc.doc_id)) for doc in arrival.docs]
        sent.append(item)
        report(f"{mode}: t={item.at - started:5.1f} s sent {arrival.kind} of "
               f"{len(arrival.docs)} ({item.job and 'job ' + item.job or 'stream'})")
    return sent


def _wait(client: IngestClient, sent: list[Sent], timeout: float) -> list[dict]:
    """Every document's result, once its arrival is done."""
    docs: list[dict] = []
    for item in sent:
        if item.job:
            state = client.wait_job(item.job, poll=0.5, timeout=timeout)
            summary = state.get("summary")
            if summary is None:
                raise RuntimeError(f"job {item.job} ended with {state['status']}: {state.get('error')}")
            item.took, item.yielded = summary["wall_seconds"], summary["yielded_seconds"]
            docs += summary["documents"]
        else:
            docs += [result.get(timeout=timeout) for result in item.results]
    return docs


def _figures(rig: Rig, sizes: dict[str, int], before: dict, after: dict, spans: list[Span],
             sent: list[Sent], docs: list[dict], wall: float) -> dict:
    """A mode's figures: per lane, and for the run."""
    singles = [item.took for item in sent if item.arrival.kind == "single"]
    uploads = [item.took for item in sent if item.arrival.kind == "upload"]
    return {
        "lanes": {lane: _lane(lane, sizes.get(lane, 0), before, after,
                              [span for span in spans if span.lane == lane]) for lane in LANES},
        "documents": len(docs),
        "statuses": {s: sum(d["status"] == s for d in docs) for s in {d["status"] for d in docs}},
        "pipeline_tokens": sum(d.get("tokens", 0) for d in docs),
        "pipeline_chunks": sum(d.get("chunks", 0) for d in docs),
        "wall_seconds": round(wall, 1),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),  # the machine's business
        "chroma_cpu_seconds": round(after["chroma_cpu"] - before["chroma_cpu"], 2),
        "single_latency_seconds": _spread(singles),
        "upload_indexed_seconds": _spread(uploads),
        "bulk_yielded_seconds": round(sum(item.yielded for item in sent), 1),
    }


def _lane(lane: str, pool: int, before: dict, after: dict, spans: list[Span]) -> dict:
    """One lane's counts in the mode: embedding (online, and through batches), store writes,
    CPU and busy workers."""
    service = _delta(after["service"][lane], before["service"][lane])
    store = _delta(after["store"][lane], before["store"][lane])
    return {
        "pool": pool,
        "embedding_calls": service.get("requests", 0),
        "embedding_texts": service.get("texts", 0),
        "embedding_tokens": service.get("tokens", 0),
        "embedding_batches": service.get("batches", 0),
        "embedding_batch_requests": service.get("batch_requests", 0),
        "embedding_batch_texts": service.get("batch_texts", 0),
        "embedding_batch_tokens": service.get("batch_tokens", 0),
        "store_write_requests": store.get("write_requests", 0),
        "store_write_records": store.get("write_records", 0),
        "store_write_bytes": store.get("write_bytes", 0),
        "cpu_seconds": round(after["cpu"][lane] - before["cpu"][lane], 2),
        "busy_seconds": round(busy_seconds(spans), 2),
        "peak_busy": peak(spans),
        "store_requests_all": store.get("requests", 0),
        "store_write_wire_bytes": store.get("write_wire_bytes", 0),
        "store_writes_by_kind": {kind: store[f"write_{kind}"] for kind in _KINDS
                                 if f"write_{kind}" in store},
        "embedding_service_cpu_seconds": round(
            after["service_cpu"][lane] - before["service_cpu"][lane], 2),
    }


_KINDS = ("add", "upsert", "update", "delete")


def _delta(after: dict, before: dict) -> dict:
    return {key: value - before.get(key, 0) for key, value in after.items()}


def _spread(values: list[float]) -> dict:
    """Median and maximum, in seconds."""
    if not values:
        return {}
    return {"median": round(median(values), 2), "max": round(max(values), 2)}


def _refuse_busy(app: Celery, redis_url: str) -> None:
    """Stop if workers already serve this broker: they would take the run's tasks."""
    answered = app.control.ping(timeout=1.0)
    if answered:
        names = ", ".join(name for reply in answered for name in reply)
        raise RuntimeError(f"workers already serve {redis_url} ({names}): give `ingest cost` "
                           "a Redis database of its own (--redis-url, INGEST_REDIS_URL)")


def _link_uploads(arrivals: list[Arrival], root: Path) -> dict[int, Path]:
    """A folder per upload whose entries link to the corpus files under the documents' ids."""
    folders = {}
    for index, arrival in enumerate(arrivals):
        if arrival.kind == "upload":
            folders[index] = root / f"{index:03d}"
            folders[index].mkdir(parents=True)
            for doc in arrival.docs:
                (folders[index] / doc.doc_id).symlink_to(doc.path.resolve())
    return folders
