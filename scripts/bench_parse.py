"""Parse throughput per format, before and after, in one run: MB/s and docs/s.

"before" is the parser of a git revision (--baseline, default the merge-base with main),
exported with `git archive` into a temporary folder; "after" is the working tree's.
Each runs in a worker process of its own, its PYTHONPATH pointing at its tree. Times
are the worker's CPU seconds (time.process_time), so time spent waiting for a core of a
busy machine is not counted. The workers take turns file by file, in alternating order,
each parsing the file --repeats times and keeping the best; that is done --rounds times.
The ratio of a format is the median over rounds of before's time over after's in that
round: the two sides of a round ran seconds apart, under the same load. The throughputs
printed add up each file's best time over all rounds.

A format is a file extension of the corpus (every file with it, those that fail too:
refusing is work). A format whose files all raise UnsupportedFormat before is reported
as new, one that neither side parses as unsupported; neither has a ratio. Exit 1 if any other format is more than --floor slower after.
MB are 10^6 bytes.

Run: .venv/bin/python scripts/bench_parse.py [--baseline REV] [--corpus DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parents[1]
SIDES = ("before", "after")


def main() -> int:
    """Measure both sides, print the table, and exit 1 past the floor."""
    args = arguments()
    if args.worker:
        return worker(Path(args.worker))
    files = corpus_files(args.corpus)
    baseline = args.baseline or git("merge-base", "HEAD", "main")
    print(f"parse throughput: before = {baseline[:12]} (git archive), after = the working "
          f"tree {ROOT}; {len(files)} files of {args.corpus}, best of {args.repeats} parses "
          f"per turn, {args.rounds} rounds; CPU seconds", flush=True)
    with exported(baseline) as tree, Worker(tree) as before, Worker(ROOT) as after:
        results = measure(files, {"before": before, "after": after}, args.rounds, args.repeats)
    slower = report(summarise(files, results), args.floor)
    if slower:
        print(f"slower than the floor ({args.floor:.0%}): {', '.join(slower)}")
    return 1 if slower else 0


def arguments() -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", default="", help="git revision of 'before' (merge-base "
                   "with main if not given)")
    p.add_argument("--corpus", type=Path, default=default_corpus())
    p.add_argument("--repeats", type=int, default=8,
                   help="parses of a file per turn (8: small files time steadily)")
    p.add_argument("--rounds", type=int, default=5, help="turns of each side per file")
    p.add_argument("--floor", type=float, default=0.10, help="the slowdown that fails")
    p.add_argument("--worker", default="", help=argparse.SUPPRESS)  # the tree to import from
    return p.parse_args()


def default_corpus() -> Path:
    """The shared corpus the other benchmarks read (INGEST_CORPUS, or ../shared/corpus)."""
    from ingest_tasks.testing.stacks import DEFAULT_CORPUS

    return DEFAULT_CORPUS


def corpus_files(folder: Path) -> list[Path]:
    """The corpus's documents, by name; MANIFEST.tsv is none of them."""
    found = sorted(p for p in folder.iterdir() if p.is_file() and p.name != "MANIFEST.tsv")
    if not found:
        sys.exit(f"no files in {folder} (give --corpus)")
    return found


def git(*argv: str) -> str:
    """A git command's output in the repository of this script."""
    return subprocess.run(["git", "-C", str(ROOT), *argv], capture_output=True, text=True,
                          check=True).stdout.strip()


@contextmanager
def exported(revision: str) -> Iterator[Path]:
    """The revision's ingest_tasks package, in a temporary folder for the block."""
    with tempfile.TemporaryDirectory(prefix="bench-parse-") as folder:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "ingest_tasks"],
                                 capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        yield Path(folder)


class Worker:
    """A process parsing files with the parser of one tree, on request, line by line."""

    def __init__(self, tree: Path):
        """Start the worker, importing ingest_tasks from `tree`."""
        env = {**os.environ, "PYTHONPATH": str(tree)}
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", str(tree)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=tree,
        )

    def __enter__(self) -> Self:
        """The worker, once it has imported its parser."""
        self.ask({"ready": True})
        return self

    def __exit__(self, *exc: object) -> None:
        """Close its input: it ends."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)

    def ask(self, request: dict) -> dict:
        """Send one request, return its answer."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            sys.exit(f"the worker for {request} ended (exit {self.process.wait()})")
        return json.loads(line)


def worker(tree: Path) -> int:
    """Serve requests: {"path", "repeats"} -> {"seconds": best, "outcome": text or error}."""
    import ingest_tasks
    from ingest_tasks.pipeline.parse import parse

    logging.disable(logging.WARNING)  # what parsers log of odd files is not the figure
    if not Path(ingest_tasks.__file__).resolve().is_relative_to(tree.resolve()):
        sys.exit(f"ingest_tasks came from {ingest_tasks.__file__}, not {tree}")
    for line in sys.stdin:
        request = json.loads(line)
        answer = {"ready": True} if "ready" in request else timed(parse, request)
        print(json.dumps(answer), flush=True)
    return 0


def timed(parse: Callable[[bytes, str], object], request: dict) -> dict:
    """The best time of parsing a file `repeats` times, and what the parse gave."""
    path = Path(request["path"])
    data = path.read_bytes()
    best, outcome = float("inf"), ""
    for _ in range(request["repeats"]):
        started = time.process_time()
        try:
            parse(data, path.name)
            outcome = "text"
        except Exception as exc:  # noqa: BLE001 - a refusal is an outcome, timed like text
            outcome = type(exc).__name__
        best = min(best, time.process_time() - started)
    return {"seconds": best, "outcome": outcome}


def measure(files: list[Path], workers: dict[str, Worker], rounds: int,
            repeats: int) -> list[dict[str, dict[Path, dict]]]:
    """Per round, each file's best time and outcome on each side, the sides taking turns."""
    results = []
    for round_ in range(rounds):
        result: dict[str, dict[Path, dict]] = {side: {} for side in SIDES}
        for at, path in enumerate(files):
            for side in SIDES if (round_ + at) % 2 == 0 else SIDES[::-1]:
                result[side][path] = workers[side].ask({"path": str(path), "repeats": repeats})
        results.append(result)
        print(f"round {round_ + 1}/{rounds} done", file=sys.stderr, flush=True)
    return results


@dataclass
class Format:
    """One extension's files, their best times, and their total time in each round."""

    files: int = 0
    size: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SIDES, 0.0))
    rounds: dict[str, list[float]] = field(default_factory=lambda: {side: [] for side in SIDES})
    parsed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SIDES, 0))
    unsupported: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SIDES, 0))

    def verdict(self) -> str:
        """'unsupported' if neither side parses it, 'new' if only after does, else ''."""
        if self.unsupported["after"] == self.files:
            return "unsupported"
        return "new" if self.unsupported["before"] == self.files else ""

    def rates(self, side: str) -> tuple[float, float]:
        """MB/s and docs/s on one side, from each file's best time."""
        seconds = max(self.seconds[side], 1e-9)
        return self.size / 1e6 / seconds, self.files / seconds

    def ratio(self) -> float:
        """After's throughput over before's: the median of the rounds' ratios."""
        pairs = zip(self.rounds["before"], self.rounds["after"], strict=True)
        return statistics.median(before / max(after, 1e-9) for before, after in pairs)


def summarise(files: list[Path], results: list[dict[str, dict[Path, dict]]]) -> dict[str, Format]:
    """The per-file results added up by extension."""
    formats: dict[str, Format] = defaultdict(Format)
    for path in files:
        fmt = formats[path.suffix.lower() or "(none)"]
        fmt.files += 1
        fmt.size += path.stat().st_size
        for side in SIDES:
            times = [result[side][path]["seconds"] for result in results]
            fmt.seconds[side] += min(times)
            fmt.rounds[side] = [total + took for total, took
                                in zip_longest(fmt.rounds[side], times, fillvalue=0.0)]
            fmt.parsed[side] += results[0][side][path]["outcome"] == "text"
            fmt.unsupported[side] += results[0][side][path]["outcome"] == "UnsupportedFormat"
    return dict(sorted(formats.items()))


def report(formats: dict[str, Format], floor: float) -> list[str]:
    """Print one row per format; return the formats slower after than the floor allows."""
    print(f"\n{'format':<10}{'files':>6}{'MB':>8}  {'parsed b/a':>10}  "
          f"{'before MB/s':>11}{'docs/s':>9}  {'after MB/s':>10}{'docs/s':>9}  ratio")
    slower = []
    for name, fmt in formats.items():
        b_mb, b_docs = fmt.rates("before")
        a_mb, a_docs = fmt.rates("after")
        verdict = fmt.verdict() or f"{fmt.ratio():.2f}x"
        if not fmt.verdict() and fmt.ratio() < 1 - floor:
            slower.append(name)
            verdict += " SLOWER"
        before = f"{b_mb:>11.2f}{b_docs:>9.1f}" if not fmt.verdict() else f"{'-':>11}{'-':>9}"
        print(f"{name:<10}{fmt.files:>6}{fmt.size / 1e6:>8.2f}  "
              f"{fmt.parsed['before']:>4}/{fmt.parsed['after']:<5}  {before}  "
              f"{a_mb:>10.2f}{a_docs:>9.1f}  {verdict}")
    return slower


if __name__ == "__main__":
    sys.exit(main())
