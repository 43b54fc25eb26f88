"""A sync of an unchanged source: how long it takes, and that it reads no document.

Run the same way each time (a Redis of its own, no workers: the first sync's job waits in
the private broker, which is all a later sync needs of it):

    .venv/bin/python scripts/bench_sync.py [--files 10000] [--repeat 5]

It writes a tree of small Markdown files (100 per folder), syncs it once (every file new),
then syncs it again `--repeat` times unchanged. Beside those, in the same run: a bare walk
(os.scandir and stat of every file: what any listing costs) and a naive sync that reads
and hashes every file (what comparing by content would cost). An audit hook counts the
files opened under the tree during the unchanged syncs: it must be 0. Prints one JSON
object: median seconds of each, and the ratios unchanged/walk and read-all/unchanged.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchkit import isolate, private_stack

from ingest_tasks.testing.stacks import free_port


def write_tree(root: Path, files: int) -> None:
    """`files` small Markdown documents, 100 to a folder."""
    for n in range(files):
        folder = root / f"part-{n // 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"note-{n:05d}.md").write_text(f"# Note {n}\n\nA short note, number {n}.\n")


def walk(root: Path) -> int:
    """Stat every file under the tree, as a listing must; how many there are."""
    count, folders = 0, [root]
    while folders:
        with os.scandir(folders.pop()) as found:
            for item in found:
                if item.is_dir(follow_symlinks=False):
                    folders.append(Path(item.path))
                else:
                    item.stat(follow_symlinks=False)
                    count += 1
    return count


def read_all(root: Path) -> int:
    """Read and hash every file: the cost a content comparison would add."""
    return sum(len(hashlib.sha256(path.read_bytes()).digest()) for path in root.rglob("*.md"))


def timed(run, repeat: int) -> float:
    """The median wall time of `run()` over `repeat` runs."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    opts = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    opts.add_argument("--files", type=int, default=10_000, help="files in the tree")
    opts.add_argument("--repeat", type=int, default=5, help="runs of each timed step")
    args = opts.parse_args()
    state = isolate(f"redis://127.0.0.1:{free_port()}/0", bulk_queue_high_water="1000000",
                    bulk_queue_low_water="1")
    from ingest_tasks.interfaces.client import IngestClient

    with private_stack(state, ["redis"]), tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "tree"
        write_tree(root, args.files)
        client = IngestClient()
        started = time.perf_counter()
        first = client.sync(str(root))
        first_s = time.perf_counter() - started
        assert first.counts["new"] == args.files, first.counts
        opened: list[str] = []
        prefix = str(root)
        sys.addaudithook(lambda event, info: opened.append(str(info[0])) if event == "open"
                         and str(info[0]).startswith(prefix) else None)
        reports = []
        unchanged_s = timed(lambda: reports.append(client.sync(str(root))), args.repeat)
        reads = len(opened)
        assert all(r.counts["unchanged"] == args.files and not r.job_id for r in reports)
        walk_s = timed(lambda: walk(root), args.repeat)
        read_s = timed(lambda: read_all(root), args.repeat)
    print(json.dumps({
        "files": args.files, "repeat": args.repeat, "first_sync_s": round(first_s, 3),
        "unchanged_sync_s": round(unchanged_s, 3), "bare_walk_s": round(walk_s, 3),
        "read_all_s": round(read_s, 3), "files_opened_by_unchanged_syncs": reads,
        "unchanged_over_walk": round(unchanged_s / walk_s, 2),
        "read_all_over_unchanged": round(read_s / unchanged_s, 2),
    }))


if __name__ == "__main__":
    main()
