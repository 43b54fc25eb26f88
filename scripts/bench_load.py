"""Sustained mixed load: a stream trickle and steady bulk jobs together, for minutes.

Run the same way each time (it brings up a stack of its own, with a Redis of its own on
a free port, and takes it down after):

    nice -n 19 .venv/bin/python scripts/bench_load.py [--minutes 10] [--stream-rate 3]
        [--job-docs 90] [--job-every 30] [--working-set 200] [--model all-MiniLM-L6-v2]

The stream lane gets `--stream-rate` edits a second of a working set of `--working-set`
documents (client.submit_content, a new ~150-word text each time); the bulk lane gets a
job of `--job-docs` documents every `--job-every` seconds (client.submit_batch): a new
folder each time, whose documents have the same ids (doc-000.md ...) and new texts, so
every job is a bulk update of the same documents.
Every `--sample` seconds it records the RSS of every worker process (main and children,
per lane) and of the Chroma server, both queues' depth, the documents outstanding
(stream tasks not done, documents of unfinished jobs) and the stream p95 of the window.
After the load it waits for everything to be committed and counts lost and duplicated
documents against ground truth (ground_truth.py). Prints one JSON object: the rates
held, memory per process after warm-up and at the end with its slope (MB/min), the
backlog's trend, and pass/fail against: every worker's memory slope under `--max-slope`
MB/min, the backlog of the last two minutes no more than `--backlog-bound` documents
above that of the first two after warm-up, everything committed within `--drain`
seconds of the load's end, and nothing lost or duplicated. Exits 1 on a fail.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from benchkit import isolate, private_stack
from ground_truth import Ledger

from ingest_tasks.core.polling import poll_until
from ingest_tasks.testing.stacks import free_port

WORDS = ["harbour", "lantern", "glacier", "orchard", "meridian", "cobalt", "falcon", "quarry",
         "willow", "ember", "lattice", "tundra", "saffron", "beacon", "canyon", "thistle"]


def note(n: int, words: int = 150) -> str:
    """A distinct Markdown note of about `words` words."""
    body = [WORDS[(n * 7 + i * i + i * n) % len(WORDS)] for i in range(words)]
    return f"# Note {n}\n\n" + " ".join(body) + f" (note {n})\n"


class Paced(threading.Thread):
    """Calls `step(n)` every `period` seconds on a fixed schedule until stopped."""

    def __init__(self, period: float, step):
        super().__init__(daemon=True)
        self.period, self.step, self.stop = period, step, threading.Event()
        self.errors: list[str] = []

    def run(self) -> None:
        due, n = time.monotonic(), 0
        while not self.stop.wait(max(0.0, due - time.monotonic())):
            try:
                self.step(n)
            except Exception as exc:  # noqa: BLE001 - a failed submission is a finding
                self.errors.append(f"{type(exc).__name__}: {exc}")
            n, due = n + 1, due + self.period


class Load:
    """The producers of both lanes and what they sent."""

    def __init__(self, client, ledger: Ledger, opts, folder: Path):
        self.client, self.ledger, self.opts, self.folder = client, ledger, opts, folder
        self.pending: list = []  # stream AsyncResults not yet seen done
        self.jobs: dict[str, int] = {}  # job id -> documents
        self.finished: set[str] = set()
        self.edits = 0
        self.lock = threading.Lock()

    def edit(self, n: int) -> None:
        """One stream edit of the working set."""
        from ingest_tasks.pipeline.sources import DocRef
        from ingest_tasks.state.clock import next_versions

        doc_id, text = f"live/{n % self.opts.working_set:04d}.md", note(n)
        version = next_versions(self.client.resources.redis)[0]
        self.ledger.tried()
        result = self.client.submit_content(doc_id, text, "note.md", version=version)
        self.ledger.accept(DocRef.inline(doc_id, text.encode(), "note.md", version))
        with self.lock:
            self.pending.append(result)
            self.edits += 1

    def job(self, n: int) -> None:
        """One bulk job: the same document ids as every job, new texts."""
        from ingest_tasks.pipeline.sources import discover

        folder = self.folder / f"job-{n:04d}"
        folder.mkdir(parents=True)
        for i in range(self.opts.job_docs):
            (folder / f"doc-{i:03d}.md").write_text(note(100_000 * (n + 1) + i, 200 + i % 3 * 150))
        refs, _ = discover([folder])
        self.ledger.tried(len(refs))
        job_id = self.client.submit_batch([folder])
        for ref in refs:
            self.ledger.accept(ref)
        with self.lock:
            self.jobs[job_id] = len(refs)

    def outstanding(self) -> tuple[int, int, int]:
        """Stream tasks not done, jobs not finished and their documents not done."""
        with self.lock:
            self.pending = [r for r in self.pending if not r.ready()]
            running = [j for j in self.jobs if j not in self.finished]
        docs = 0
        for job_id in running:
            state = self.client.job_status(job_id)
            if state["status"] != "running":
                self.finished.add(job_id)
                self.ledger.summaries.append(state.get("summary") or {"documents": []})
            else:
                docs += state["total"] - state["done"]
        return len(self.pending), len(running) - sum(j in self.finished for j in running), docs


def rss_mb(stack) -> dict[str, float]:
    """RSS (MB) of each worker process, named lane-main or lane-child-PID, and of Chroma."""
    import psutil

    found = {}
    for lane in ("stream", "bulk", "chroma"):
        pid = stack.pid(lane)
        if pid is None:
            continue
        main = psutil.Process(pid)
        found[f"{lane}-main"] = main.memory_info().rss / 2**20
        for child in main.children():
            found[f"{lane}-child-{child.pid}"] = child.memory_info().rss / 2**20
    return {name: round(mb, 1) for name, mb in found.items()}


def cpu_seconds(stack) -> float:
    """CPU-seconds used so far by the stack's processes (Redis, Chroma, both pools)."""
    import psutil

    total = 0.0
    for part in ("redis", "chroma", "stream", "bulk"):
        pid = stack.pid(part)
        try:
            procs = [psutil.Process(pid), *psutil.Process(pid).children()] if pid else []
            total += sum(sum(p.cpu_times()[:2]) for p in procs)
        except psutil.NoSuchProcess:
            pass
    return total


def sample(stack, load: Load, redis, started: float, cpu: list[float]) -> dict:
    """One look at the stack under load; `cpu` holds the stack's CPU-seconds at the last."""
    import psutil

    from ingest_tasks.core.keys import BULK_QUEUE, STREAM_QUEUE
    from ingest_tasks.lanes.backpressure import queue_depth
    from ingest_tasks.sync.factory import worker_app
    from ingest_tasks.state.latency import percentiles

    stream_tasks, jobs, job_docs = load.outstanding()
    window = percentiles(redis, STREAM_QUEUE, window=load.opts.sample)
    used, cpu[0] = cpu_seconds(stack) - cpu[0], cpu_seconds(stack)
    cores = psutil.cpu_count() or 1
    return {"t": round(time.monotonic() - started, 1), "rss_mb": rss_mb(stack),
            # how busy the machine was, and how much of it was this stack: a shared machine
            "cpu_pct": {"machine": psutil.cpu_percent(None),
                        "stack": round(100 * used / (load.opts.sample * cores), 1)},
            "depth": {q: queue_depth(worker_app(), q) for q in (STREAM_QUEUE, BULK_QUEUE)},
            "stream_pending": stream_tasks, "jobs_running": jobs,
            "outstanding_docs": stream_tasks + job_docs,
            "stream_p95": window.get("p95"), "stream_samples": window.get("samples", 0)}


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (t seconds, value) points, per minute."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mt, mv = sum(t for t, _ in points) / n, sum(v for _, v in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    return 60 * sum((t - mt) * (v - mv) for t, v in points) / var if var else 0.0


def memory(samples: list[dict]) -> dict:
    """Per worker process seen in every sample: MB at start and end, and MB/min."""
    names = set.intersection(*(set(s["rss_mb"]) for s in samples))
    return {name: {"start_mb": samples[0]["rss_mb"][name], "end_mb": samples[-1]["rss_mb"][name],
                   "slope_mb_per_min": round(slope([(s["t"], s["rss_mb"][name]) for s in samples]), 3)}
            for name in sorted(names)}


def backlog(samples: list[dict]) -> dict:
    """The outstanding documents' and queues' trend."""
    two = [s for s in samples if s["t"] <= samples[0]["t"] + 120]
    last = [s for s in samples if s["t"] >= samples[-1]["t"] - 120]

    def mean(rows, key):
        return round(sum(key(r) for r in rows) / len(rows), 1)

    docs = lambda s: s["outstanding_docs"]
    depth = lambda s: sum(s["depth"].values())
    return {"outstanding_first_2min": mean(two, docs), "outstanding_last_2min": mean(last, docs),
            "outstanding_max": max(docs(s) for s in samples),
            "outstanding_slope_per_min": round(slope([(s["t"], docs(s)) for s in samples]), 2),
            "depth_first_2min": mean(two, depth), "depth_last_2min": mean(last, depth),
            "depth_slope_per_min": round(slope([(s["t"], depth(s)) for s in samples]), 2)}


def run(stack, opts, state: Path) -> dict:
    """The load for `opts.minutes`, sampled; then the drain and the ground-truth audit."""
    from ingest_tasks.interfaces.client import IngestClient

    client = IngestClient()
    ledger = Ledger(client.settings, client.settings.embedding_model)
    load = Load(client, ledger, opts, state / "jobs")
    producers = [Paced(1 / opts.stream_rate, load.edit), Paced(opts.job_every, load.job)]
    started = time.monotonic()
    for producer in producers:
        producer.start()
    samples, cpu = [], [cpu_seconds(stack)]
    while time.monotonic() - started < opts.minutes * 60:
        time.sleep(max(0.0, started + (len(samples) + 1) * opts.sample - time.monotonic()))
        samples.append(sample(stack, load, client.resources.redis, started, cpu))
        print(json.dumps(samples[-1]), file=sys.stderr)
    for producer in producers:
        producer.stop.set()
        producer.join()
    ended = time.monotonic()
    try:
        poll_until(lambda: load.outstanding() == (0, 0, 0), opts.drain * 5, "the drain", 0.5)
    except TimeoutError:
        pass
    drained = round(time.monotonic() - ended, 1)
    wall = ended - started
    warm = [s for s in samples if s["t"] >= opts.warmup]
    return {
        "minutes": round(wall / 60, 2), "model": client.settings.embedding_model,
        "rates": {"stream_edits_per_s": round(load.edits / wall, 3),
                  "bulk_docs_per_s": round(sum(load.jobs.values()) / wall, 3),
                  "bulk_jobs": len(load.jobs), "job_docs": opts.job_docs,
                  "job_every_s": opts.job_every},
        "producer_errors": [e for p in producers for e in p.errors][:5],
        "memory": memory(warm), "backlog": backlog(warm), "drain_seconds": drained,
        "stream_p95_windows": [s["stream_p95"] for s in samples],
        "cpu_pct_mean": {who: round(sum(s["cpu_pct"][who] for s in samples) / len(samples), 1)
                         for who in ("machine", "stack")},
        "ground_truth": ledger.audit(client.resources),
    }


def verdict(report: dict, opts) -> dict:
    """Pass or fail against the stated bounds."""
    workers = {k: v for k, v in report["memory"].items() if not k.startswith("chroma")}
    trend = report["backlog"]
    checks = {
        "memory_slope_under_bound": all(v["slope_mb_per_min"] < opts.max_slope
                                        for v in workers.values()),
        "backlog_not_growing": trend["outstanding_last_2min"]
        <= trend["outstanding_first_2min"] + opts.backlog_bound,
        "drained_in_time": report["drain_seconds"] <= opts.drain,
        "nothing_lost_or_duplicated": report["ground_truth"]["lost"] == 0
        and report["ground_truth"]["duplicated"] == 0,
        "no_producer_errors": not report["producer_errors"],
    }
    return {"bounds": {"max_slope_mb_per_min": opts.max_slope,
                       "backlog_bound_docs": opts.backlog_bound, "drain_s": opts.drain},
            "checks": checks, "passed": all(checks.values())}


def main() -> int:
    """Bring up a private stack, run the load, take the stack down, print the figures."""
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("--minutes", type=float, default=10.0)
    args.add_argument("--stream-rate", type=float, default=3.0, help="stream edits a second")
    args.add_argument("--working-set", type=int, default=200)
    args.add_argument("--job-docs", type=int, default=90)
    args.add_argument("--job-every", type=float, default=30.0, help="seconds between jobs")
    args.add_argument("--model", default="all-MiniLM-L6-v2")
    args.add_argument("--sample", type=float, default=10.0, help="seconds between samples")
    args.add_argument("--warmup", type=float, default=120.0, help="seconds left out of trends")
    args.add_argument("--max-slope", type=float, default=1.0, help="MB/min per worker process")
    args.add_argument("--backlog-bound", type=int, default=0,
                      help="documents (default: one job's and 10 s of stream)")
    args.add_argument("--drain", type=float, default=60.0, help="seconds to commit after the load")
    opts = args.parse_args()
    opts.backlog_bound = opts.backlog_bound or int(opts.job_docs + 10 * opts.stream_rate)
    state = isolate(f"redis://127.0.0.1:{free_port()}/0", embedding_model=opts.model)
    with private_stack(state, parts=["redis", "chroma", "stream", "bulk"]) as stack:
        report = run(stack, opts, state)
    report.update(verdict(report, opts))
    print(json.dumps(report, indent=2))
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
