"""Stream latency on an idle stack: submit -> committed (searchable), single-page documents.

Run the same way each time (it brings up a stack of its own and takes it down after):

    .venv/bin/python scripts/bench_latency.py [--docs 60] [--model all-MiniLM-L6-v2]

Pages of about 500 words are cut from the corpus's valid text files, streamed one at a
time (each waited for, so the stack is idle at every submit), after a warm-up. Prints the
lane's own figures (`ingest latency`: p50/p95/p99, share queued / parsing / embedding /
committing) and the client's view (submit -> result received), as one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchkit import DEFAULT_CORPUS, isolate, private_stack

PAGE_WORDS = 500
WARM_UP = 3


def pages(corpus: Path, count: int, folder: Path) -> list[Path]:
    """`count` single-page Markdown files cut from the corpus's valid text documents."""
    from ingest_tasks.core.errors import PermanentError
    from ingest_tasks.pipeline.parse import parse

    folder.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []
    for path in sorted(corpus.glob("*.txt")) + sorted(corpus.glob("*.md")):
        try:
            words = parse(path.read_bytes(), path.name).text.split()
        except PermanentError:
            continue
        for start in range(0, len(words) - PAGE_WORDS + 1, PAGE_WORDS):
            page = folder / f"page-{len(made):03d}.md"
            page.write_text(" ".join(words[start : start + PAGE_WORDS]))
            made.append(page)
            if len(made) == count:
                return made
    return made


def main() -> int:
    """Warm up, stream the pages one by one, print the figures."""
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("--docs", type=int, default=60)
    args.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args.add_argument("--model", default="all-MiniLM-L6-v2")
    args.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    opts = args.parse_args()
    state = isolate(opts.redis_url, embedding_model=opts.model)
    from ingest_tasks.core.keys import LATENCY_KEY, STREAM_QUEUE
    from ingest_tasks.interfaces.client import IngestClient
    from ingest_tasks.state.latency import percentiles, quantile

    with private_stack(state):
        client = IngestClient()
        docs = pages(opts.corpus, opts.docs + WARM_UP, state / "pages")
        for page in docs[:WARM_UP]:  # load the model in the stream worker
            client.submit(page).wait(timeout=300)
        client.resources.redis.delete(LATENCY_KEY + STREAM_QUEUE)
        seen = []
        for page in docs[WARM_UP:]:
            started = time.perf_counter()
            client.submit(page).wait(timeout=300)
            seen.append(time.perf_counter() - started)
        lane = percentiles(client.resources.redis, STREAM_QUEUE)
    print(json.dumps({
        "model": opts.model, "documents": len(seen), "words_per_document": PAGE_WORDS,
        "lane": lane,
        "client_seconds": {f"p{q}": round(quantile(seen, q / 100), 4) for q in (50, 95, 99)},
    }, indent=2))
    return 0 if lane["samples"] == len(seen) else 1


if __name__ == "__main__":
    sys.exit(main())
