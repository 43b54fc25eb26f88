"""Stream latency under a bulk load: ingest-tasks' two lanes against one shared queue.

Run the same way each time (it brings up a stack of its own and takes it down after):

    .venv/bin/python scripts/bench_isolation.py [--rate 2] [--seconds 60] [--min-chunks 2500]

In one run, with the default model, a trickle of single-document stream submissions
(`--rate` a second for `--seconds`, each a new ~150-word note sent inline) measured:
- (a) idle: on an idle stack;
- (c) one_queue: during a bulk job (the corpus repeated to `--min-chunks` chunks), with
  every task on one queue served by one plain `celery worker` pool (concurrency = cores,
  Celery's default prefetch, no nice), as most deployments start;
- (b) two_lanes: the same job and trickle with ingest-tasks' stream and bulk pools;
- (b) two_lanes_tight_target: the same with the stream latency target at 1.25x the idle
  p95, so that the bulk lane yields to streaming;
- (b) two_lanes_no_yield: the same with yielding to streaming switched off.
For each: stream p50/p95/p99 (submit -> searchable), the bulk job's chunks/s, the bulk
queue's peak depth against its high-water mark, and the seconds bulk groups yielded.
Prints one JSON object; exits 1 if a floor of issue 5 is missed: two_lanes p99 at most
2x idle p99, and two_lanes bulk chunks/s at least 0.8x one_queue's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

from benchkit import DEFAULT_CORPUS, isolate, private_stack

WORDS = ["harbour", "lantern", "glacier", "orchard", "meridian", "cobalt", "falcon", "quarry",
         "willow", "ember", "lattice", "tundra", "saffron", "beacon", "canyon", "thistle"]


def note(n: int) -> str:
    """A distinct note of about 150 words: one chunk."""
    words = [WORDS[(n * 7 + i * i) % len(WORDS)] for i in range(150)]
    return f"# Note {n}\n\n" + " ".join(words) + f" (note {n})\n"


def trickle(phase: str, rate: float, seconds: float, queue: str) -> list:
    """Send `rate` notes a second to `queue` on a fixed schedule; returns their results."""
    from ingest_tasks.sync.factory import worker_app
    from ingest_tasks.lanes.tasks import STREAM_INGEST
    from ingest_tasks.pipeline.sources import DocRef
    from ingest_tasks.state.clock import next_versions

    sent, started = [], time.monotonic()
    for n in range(int(rate * seconds)):
        time.sleep(max(0.0, started + n / rate - time.monotonic()))
        version = next_versions(worker_app().resources.redis)[0]
        ref = DocRef.inline(f"trickle/{phase}/{n}", note(n).encode(), "note.md", version)
        sent.append(worker_app().send_task(
            STREAM_INGEST, args=[replace(ref, submitted=time.time()).to_dict(), None], queue=queue))
    return sent


class DepthWatch(threading.Thread):
    """Samples the bulk queue's depth until stopped; keeps the peak."""

    def __init__(self, app):
        super().__init__(daemon=True)
        self.app, self.peak, self.done = app, 0, threading.Event()

    def run(self) -> None:
        from ingest_tasks.lanes.backpressure import queue_depth

        while not self.done.wait(0.25):
            self.peak = max(self.peak, queue_depth(self.app))


def stream_latency(redis) -> dict:
    """p50/p95/p99 of the stream lane's samples since the last reset."""
    from ingest_tasks.core.keys import STREAM_QUEUE
    from ingest_tasks.state.latency import percentiles

    found = percentiles(redis, STREAM_QUEUE)
    return {key: found.get(key) for key in ("samples", "p50", "p95", "p99")}


def phase(client, name: str, folder: Path | None, opts, queue: str) -> dict:
    """One measured phase: the trickle, during a bulk job of `folder` if given."""
    from ingest_tasks.core.keys import LATENCY_KEY, STREAM_QUEUE
    from ingest_tasks.sync.factory import worker_app

    app = worker_app()
    redis = client.resources.redis
    redis.delete(LATENCY_KEY + STREAM_QUEUE)
    watch, job = DepthWatch(app), {}
    watch.start()
    if folder is not None:
        def run_job() -> None:
            started = time.perf_counter()
            job["state"] = client.wait_job(client.submit_batch([folder]), poll=0.5)
            job["wall"] = time.perf_counter() - started

        runner = threading.Thread(target=run_job)
        runner.start()
        time.sleep(5)  # the bulk lane busy before the first note
    for result in trickle(name, opts.rate, opts.seconds, queue):
        result.get(timeout=1800)
    if folder is not None:
        runner.join()
    watch.done.set()
    figures = {"stream": stream_latency(redis), "bulk_queue_peak_depth": watch.peak}
    if folder is not None:
        summary = job["state"]["summary"]
        figures.update(bulk_chunks_per_s=round(summary["chunks"] / job["wall"], 2),
                       bulk_committed=summary["committed"], bulk_failed=summary["failed"],
                       bulk_yielded_seconds=summary["yielded_seconds"])
    print(json.dumps({name: figures}), file=sys.stderr)
    return figures


def plain_pool(state: Path):
    """One `celery worker` on the bulk queue with Celery's defaults, as most deployments start."""
    from ingest_tasks.core.polling import poll_until
    from ingest_tasks.sync.factory import worker_app

    app = worker_app()
    with open(state / "plain.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "ingest_tasks", "worker", "-Q", "bulk",
             "-c", str(os.cpu_count() or 1), "-n", "plain@%h", "--without-gossip",
             "--without-mingle"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    poll_until(lambda: bool(app.control.ping(["plain@" + os.uname().nodename], timeout=0.5)),
               120, "the plain pool")
    return proc


def main() -> int:
    """Bring up a private stack, run the four phases, take the stack down, print the figures."""
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args.add_argument("--rate", type=float, default=2.0)
    args.add_argument("--seconds", type=float, default=60.0)
    args.add_argument("--min-chunks", type=int, default=2500)
    args.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    opts = args.parse_args()
    state = isolate(opts.redis_url)
    from bench_batch import prepared_corpus, repeat_corpus

    from ingest_tasks.core.keys import BULK_QUEUE, STREAM_QUEUE
    from ingest_tasks.interfaces.client import IngestClient
    from ingest_tasks.pipeline.embed import get_embedder

    with private_stack(state) as stack:
        client = IngestClient()
        settings = client.settings
        docs = prepared_corpus(opts.corpus, get_embedder(settings.embedding_model), settings)
        chunks = {name: len(doc.chunks) for name, doc in docs.items()}
        folders = {}
        for name in ("one_queue", "two_lanes", "two_lanes_tight_target", "two_lanes_no_yield"):
            folders[name] = state / "docs" / name
            repeat_corpus(opts.corpus, folders[name] / name, opts.min_chunks, chunks)
        results = {"idle": phase(client, "idle", None, opts, STREAM_QUEUE)}
        quiet = {"report": lambda line: None}
        stack.down(["stream", "bulk"], **quiet)
        plain = plain_pool(state)
        try:
            results["one_queue"] = phase(client, "one_queue", folders["one_queue"], opts, BULK_QUEUE)
        finally:
            os.killpg(plain.pid, 15)
            plain.wait(timeout=120)
        stack.up(["stream", "bulk"], **quiet)
        results["two_lanes"] = phase(client, "two_lanes", folders["two_lanes"], opts, STREAM_QUEUE)
        tight = round(1.25 * results["idle"]["stream"]["p95"], 3)
        for name, env in (("two_lanes_tight_target", {"INGEST_STREAM_LATENCY_TARGET": str(tight)}),
                          ("two_lanes_no_yield", {"INGEST_YIELD_TO_STREAM": "false"})):
            stack.down(["bulk"], **quiet)
            stack.up(["bulk"], env=env, **quiet)
            results[name] = phase(client, name, folders[name], opts, STREAM_QUEUE)
            results[name]["bulk_pool_env"] = env
    idle, lanes, shared = results["idle"], results["two_lanes"], results["one_queue"]
    ratios = {
        "two_lanes_p99_to_idle_p99": round(lanes["stream"]["p99"] / idle["stream"]["p99"], 2),
        "one_queue_p99_to_idle_p99": round(shared["stream"]["p99"] / idle["stream"]["p99"], 2),
        "two_lanes_bulk_to_one_queue_bulk": round(
            lanes["bulk_chunks_per_s"] / shared["bulk_chunks_per_s"], 3),
    }
    print(json.dumps({"cpus": os.cpu_count(), "rate_per_s": opts.rate, "seconds": opts.seconds,
                      "high_water": settings.bulk_queue_high_water, "results": results,
                      "ratios": ratios}, indent=2))
    met = (ratios["two_lanes_p99_to_idle_p99"] <= 2
           and ratios["two_lanes_bulk_to_one_queue_bulk"] >= 0.8)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
