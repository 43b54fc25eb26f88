"""Stream latency under a bulk load: ingest-tasks' two lanes against one shared queue.

Run the same way each time (it brings up a stack of its own and takes it down after):

    .venv/bin/python scripts/bench_isolation.py [--runs 3] [--rounds 5] [--rate 2]
        [--idle-seconds 30] [--loaded-seconds 60] [--min-chunks 1500]

With the default model, a trickle of single-document stream submissions (`--rate` a
second, each a new ~150-word note sent inline) measured, in each of `--runs` runs:
- idle and two_lanes, taking turns `--rounds` times: the trickle on an idle stack for
  `--idle-seconds`, then for `--loaded-seconds` during a bulk job (the corpus repeated to
  `--min-chunks` chunks, a new copy each round) on ingest-tasks' stream and bulk pools.
  Turns spread the machine's drift over both phases; the samples of every round pool
  into one p50/p95/p99 per phase (the loaded trickle: rounds x loaded-seconds in all);
- one_queue: one such job with every task on one queue served by one plain `celery
  worker` pool (concurrency = cores, Celery's default prefetch, no nice), as most
  deployments start, and the trickle on that queue for `--idle-seconds`: the bulk
  baseline.
For each: stream p50/p95/p99 (submit -> searchable), the bulk jobs' chunks/s, the bulk
queue's peak depth against its high-water mark, and the seconds bulk groups yielded; the
slowest stream samples with what the bulk lane was doing then (writing to the store or
not). Prints one JSON object; exits 1 if a floor of issue 19 is missed in any run:
two_lanes p99 at most 2x idle p99, and two_lanes bulk chunks/s at least 0.8x one_queue's.
With `--yield-phases`, each run also measures two_lanes with a tight stream latency
target (1.25x idle p95) and with yielding off (issue 5's figures).
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


def stream_latency(rows: list[dict]) -> dict:
    """p50/p95/p99 (and the highest) of stream latency samples (state.latency)."""
    from ingest_tasks.state.latency import quantile

    totals = [row["total"] for row in rows]
    if not totals:
        return {"samples": 0}
    return {"samples": len(totals), **{f"p{q}": round(quantile(totals, q / 100), 3)
                                       for q in (50, 95, 99)}, "max": round(max(totals), 3)}


def slowest(rows: list[dict], writes: list[tuple[float, float]], share: float = 0.01) -> dict:
    """The slowest `share` of the samples: their parts, and how many were committed while a
    bulk store write ran (a stream write waits for it on the Chroma server)."""
    from ingest_tasks.state.latency import PARTS

    tail = sorted(rows, key=lambda row: -row["total"])[: max(1, int(len(rows) * share))]

    def during_write(row: dict) -> bool:
        store_from = row["at"] - row["store"]
        return any(start < row["at"] and end > store_from for start, end in writes)

    return {"samples": len(tail),
            "mean_parts_s": {part: round(sum(row[part] for row in tail) / len(tail), 3)
                             for part in PARTS},
            "committed_during_a_bulk_write": sum(during_write(row) for row in tail),
            "all_committed_during_a_bulk_write": round(
                sum(during_write(row) for row in rows) / max(len(rows), 1), 3)}


def phase(client, name: str, folder: Path | None, seconds: float, opts, queue: str) -> dict:
    """One measured phase: the trickle for `seconds`, during a bulk job of `folder` if given.
    Returns its stream latency samples, and the job's chunks, wall time, yield and writes."""
    from ingest_tasks.core.keys import LATENCY_KEY, STREAM_QUEUE
    from ingest_tasks.core.polling import poll_until
    from ingest_tasks.state import jobs
    from ingest_tasks.state.latency import KEEP
    from ingest_tasks.sync.factory import worker_app

    app = worker_app()
    redis = client.resources.redis
    redis.delete(LATENCY_KEY + STREAM_QUEUE)
    watch, job = DepthWatch(app), {}
    watch.start()
    if folder is not None:
        def run_job() -> None:
            started = time.perf_counter()
            job["id"] = client.submit_batch([folder])
            job["state"] = client.wait_job(job["id"], poll=0.1)
            job["wall"] = time.perf_counter() - started

        runner = threading.Thread(target=run_job)
        runner.start()
        poll_until(lambda: "id" in job and jobs.progress(redis, job["id"])["done"] > 0, 300,
                   "the bulk job's first documents")  # the bulk lane busy before the first note
    for result in trickle(name, opts.rate, seconds, queue):
        result.get(timeout=1800)
    if folder is not None:
        runner.join()
    watch.done.set()
    rows = [json.loads(raw) for raw in redis.lrange(LATENCY_KEY + STREAM_QUEUE, 0, KEEP - 1)]
    found = {"rows": rows, "peak": watch.peak}
    if folder is not None:
        summary = job["state"]["summary"]
        writes = [(span["start"], span["end"]) for group in jobs.timeline(redis, job["id"])
                  for span in group["spans"] if span["kind"] == "write"]
        found.update(chunks=summary["chunks"], wall=job["wall"], failed=summary["failed"],
                     yielded=summary["yielded_seconds"], writes=writes)
    print(json.dumps({name: {"stream": stream_latency(rows), "bulk_chunks_per_s":
                             round(found["chunks"] / found["wall"], 2) if folder else None}}),
          file=sys.stderr)
    return found


def figures(phases: list[dict]) -> dict:
    """One phase's figures, its rounds pooled."""
    rows = [row for found in phases for row in found["rows"]]
    writes = sorted(write for found in phases for write in found.get("writes", []))
    out: dict = {"rounds": len(phases), "stream": stream_latency(rows),
                 "bulk_queue_peak_depth": max(found["peak"] for found in phases),
                 "stream_tail": slowest(rows, writes)}
    if "wall" in phases[0]:
        out.update(bulk_chunks_per_s=round(sum(f["chunks"] for f in phases)
                                           / sum(f["wall"] for f in phases), 2),
                   bulk_chunks=sum(f["chunks"] for f in phases),
                   bulk_failed=sum(f["failed"] for f in phases),
                   bulk_yielded_seconds=round(sum(f["yielded"] for f in phases), 2))
    return out


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


def one_run(number: int, client, stack, state: Path, chunks: dict, opts) -> dict:
    """The rounds of idle and two_lanes, the one_queue baseline (and the yield phases)."""
    from bench_batch import repeat_corpus

    from ingest_tasks.core.keys import BULK_QUEUE, STREAM_QUEUE

    def folder(name: str) -> Path:
        made = state / "docs" / f"run{number}-{name}"
        repeat_corpus(opts.corpus, made, opts.min_chunks, chunks, tag=f"run{number}-{name}-")
        return made

    idle, loaded = [], []
    for round_ in range(opts.rounds):
        idle.append(phase(client, f"run{number}-idle{round_}", None, opts.idle_seconds, opts,
                          STREAM_QUEUE))
        loaded.append(phase(client, f"run{number}-two_lanes{round_}", folder(f"lanes{round_}"),
                            opts.loaded_seconds, opts, STREAM_QUEUE))
    results = {"idle": figures(idle), "two_lanes": figures(loaded)}
    quiet = {"report": lambda line: None}
    stack.down(["stream", "bulk"], **quiet)
    plain = plain_pool(state)
    try:
        results["one_queue"] = figures([phase(client, f"run{number}-one_queue", folder("one"),
                                              opts.idle_seconds, opts, BULK_QUEUE)])
    finally:
        os.killpg(plain.pid, 15)
        plain.wait(timeout=120)
    stack.up(["stream", "bulk"], **quiet)
    if opts.yield_phases:
        tight = round(1.25 * results["idle"]["stream"]["p95"], 3)
        for name, env in (("two_lanes_tight_target", {"INGEST_STREAM_LATENCY_TARGET": str(tight)}),
                          ("two_lanes_no_yield", {"INGEST_YIELD_TO_STREAM": "false"})):
            stack.down(["bulk"], **quiet)
            stack.up(["bulk"], env=env, **quiet)
            results[name] = figures([phase(client, f"run{number}-{name}", folder(name),
                                           opts.loaded_seconds, opts, STREAM_QUEUE)])
            results[name]["bulk_pool_env"] = env
        stack.down(["bulk"], **quiet)
        stack.up(["bulk"], **quiet)
    idle_p99, lanes = results["idle"]["stream"]["p99"], results["two_lanes"]
    results["ratios"] = {
        "two_lanes_p99_to_idle_p99": round(lanes["stream"]["p99"] / idle_p99, 2),
        "one_queue_p99_to_idle_p99": round(results["one_queue"]["stream"]["p99"] / idle_p99, 2),
        "two_lanes_bulk_to_one_queue_bulk": round(
            lanes["bulk_chunks_per_s"] / results["one_queue"]["bulk_chunks_per_s"], 3),
    }
    return results


def main() -> int:
    """Bring up a private stack, measure each run, take the stack down, print the figures."""
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args.add_argument("--runs", type=int, default=3)
    args.add_argument("--rounds", type=int, default=5)
    args.add_argument("--rate", type=float, default=2.0)
    args.add_argument("--idle-seconds", type=float, default=30.0)
    args.add_argument("--loaded-seconds", type=float, default=60.0)
    args.add_argument("--min-chunks", type=int, default=1500)
    args.add_argument("--yield-phases", action="store_true")
    args.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    opts = args.parse_args()
    state = isolate(opts.redis_url)
    from bench_batch import prepared_corpus

    from ingest_tasks.interfaces.client import IngestClient
    from ingest_tasks.pipeline.embed import get_embedder

    with private_stack(state) as stack:
        client = IngestClient()
        settings = client.settings
        docs = prepared_corpus(opts.corpus, get_embedder(settings.embedding_model), settings)
        chunks = {name: len(doc.chunks) for name, doc in docs.items()}
        runs = [one_run(number, client, stack, state, chunks, opts) for number in range(opts.runs)]
    print(json.dumps({"cpus": os.cpu_count(), "rate_per_s": opts.rate, "rounds": opts.rounds,
                      "idle_seconds": opts.idle_seconds, "loaded_seconds": opts.loaded_seconds,
                      "high_water": settings.bulk_queue_high_water, "runs": runs}, indent=2))
    met = all(run["ratios"]["two_lanes_p99_to_idle_p99"] <= 2
              and run["ratios"]["two_lanes_bulk_to_one_queue_bulk"] >= 0.8 for run in runs)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
