"""One batch job of 100,000 small generated documents, with the memory it takes.

Run the same way each time, on a stack brought up by `ingest up`:

    .venv/bin/python scripts/bench_scale.py [--docs 100000] [--model wordllama]

It writes the documents under the state folder (once; later runs reuse them), submits
them as one job, follows it to the end, and samples every half second this process's
RSS and Redis's `used_memory`. Prints one JSON object; exits 1 if a document is missing
or either peak is over its bound (300 MB each, issue 3).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Self

from ingest_tasks.core.settings import get_settings
from ingest_tasks.interfaces.client import IngestClient

MB = 1024 * 1024
BOUND_MB = 300
WORDS = ["harbour", "lantern", "ledger", "quarry", "meadow", "cipher", "orchard", "beacon",
         "mortar", "saddle", "thimble", "vessel", "furnace", "lattice", "pollen", "signal"]


def write_documents(folder: Path, count: int) -> None:
    """`count` distinct Markdown notes of a few sentences, 100 per sub-folder."""
    for n in range(count):
        path = folder / f"{n // 100:04d}" / f"note-{n:06d}.md"
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        words = " ".join(WORDS[(n * 7 + i) % len(WORDS)] for i in range(24))
        path.write_text(f"# Note {n}\n\nRecord {n} of the ledger: {words}.\n")


def current_rss() -> int:
    """This process's resident set size, in bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


class Peaks:
    """Samples the submitter's RSS and Redis's used_memory in the background."""

    def __init__(self, redis, interval: float = 0.5):
        self.redis, self.interval = redis, interval
        self.rss = self.redis_memory = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        """Take one sample of both."""
        self.rss = max(self.rss, current_rss())
        self.redis_memory = max(self.redis_memory, self.redis.info("memory")["used_memory"])

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def main() -> int:
    """Generate, submit, follow, measure; print the figures."""
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("--docs", type=int, default=100_000)
    args.add_argument("--model", default="wordllama")
    opts = args.parse_args()
    settings = get_settings()
    folder = settings.state_dir / "bench-scale" / str(opts.docs)
    write_documents(folder, opts.docs)
    client = IngestClient(settings)
    with Peaks(client.resources.redis) as peaks:
        started = time.perf_counter()
        job_id = client.submit_batch([folder], model=opts.model)
        submitted = time.perf_counter() - started
        summary = client.wait_job(job_id, poll=1.0)["summary"]
        wall = time.perf_counter() - started
    stored = summary["committed"] + summary["unchanged"]
    report = {
        "documents": opts.docs, "model": opts.model, "job_id": job_id,
        "committed": summary["committed"], "unchanged": summary["unchanged"],
        "failed": summary["failed"], "chunks": summary["chunks"],
        "submit_seconds": round(submitted, 1), "wall_seconds": round(wall, 1),
        "docs_per_second": round(opts.docs / wall, 1),
        "submitter_peak_rss_mb": round(peaks.rss / MB, 1),
        "redis_peak_used_memory_mb": round(peaks.redis_memory / MB, 1),
    }
    print(json.dumps(report, indent=2))
    ok = stored == opts.docs and max(peaks.rss, peaks.redis_memory) < BOUND_MB * MB
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
