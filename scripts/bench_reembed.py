"""Re-embedding throughput against the embedding limit, and how long swaps pause writers.

Run the same way each time (it brings up a stack of its own and takes it down after):

    .venv/bin/python scripts/bench_reembed.py [--min-chunks 2000] [--rate 2] [--queries 5]

On a stack whose live collection is wordllama, loaded with the corpus repeated to
`--min-chunks` chunks, all in one run:
- quiet: `reembed` to all-MiniLM-L6-v2 with nothing else running, then the swap;
- limit: the new collection's chunk texts embedded by all-MiniLM-L6-v2 in one process,
  on every core, at the fastest batch size (bench_batch.py's embedding limit);
- rollback: back to the wordllama collection;
- loaded: `reembed` to all-MiniLM-L6-v2 again while a writer streams `--rate` edits a
  second and a searcher runs `--queries` searches a second, then the swap.
For each build: chunks copied per second and the ratio to the limit; for each swap: the
seconds writers were paused (stream and bulk), documents caught up and replayed; for the
loaded run: searches failed or empty, stream edits and their p95 latency. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from pathlib import Path

from bench_batch import embedding_limit, prepared_corpus, repeat_corpus
from benchkit import DEFAULT_CORPUS, isolate, private_stack

OLD, NEW = "wordllama", "all-MiniLM-L6-v2"
QUERIES = ("how to install the package", "error handling and retries", "license terms",
           "configuration options", "the history of the project")


class Paced(threading.Thread):
    """Calls `step` `rate` times a second on a fixed schedule until stopped."""

    def __init__(self, rate: float, step):
        super().__init__(daemon=True)
        self.rate, self.step, self.stop = rate, step, threading.Event()
        self.outcomes: list = []

    def run(self):
        due = time.monotonic()
        while not self.stop.wait(max(0.0, due - time.monotonic())):
            due += 1 / self.rate
            try:
                self.outcomes.append(self.step())
            except Exception as exc:  # noqa: BLE001 - a failed step is a finding
                self.outcomes.append(exc)


def build(client, report: dict) -> dict:
    """Re-embed the live collection with NEW and swap it in; the build's figures."""
    from ingest_tasks.bluegreen import reembed
    from ingest_tasks.lanes import rebuild

    resources = client.resources
    started = rebuild.start(resources, NEW)
    summary = client.wait_job(started.job_id, poll=0.5)["summary"]
    for doc in summary["documents"]:
        if doc["status"] == "failed":
            print(f"copy failed: {doc['doc_id']}: {doc['reason']}", file=sys.stderr)
    swapped = reembed.finish(resources).to_dict()
    rate = summary["chunks"] / summary["wall_seconds"]
    report.update(chunks=summary["chunks"], failed=summary["failed"],
                  chunks_per_s=round(rate, 1), swap=_swap_figures(swapped))
    return report


def _swap_figures(swapped: dict) -> dict:
    keys = ("writers_paused_seconds", "bulk_writers_paused_seconds", "caught_up", "replayed")
    return {key: swapped[key] for key in keys} | {"check_ok": swapped["check"]["ok"]}


def live_texts(client, page: int = 500) -> list[str]:
    """Every chunk text of the live collection, by document id and chunk index."""
    from ingest_tasks.state import registry

    resources = client.resources
    name = resources.collection()
    doc_ids = sorted(doc_id for doc_id, _ in registry.entries(resources.redis, name))
    texts: list[str] = []
    for start in range(0, len(doc_ids), page):
        chunks = resources.store.chunks_of(name, doc_ids[start : start + page])
        texts += [text for doc_id in sorted(chunks) for text, _ in chunks[doc_id]]
    return texts


def editor(client, doc_ids: list[str]):
    """One stream edit: a document replaced by a short note of its own."""
    from ingest_tasks.state.clock import next_versions

    rng, redis = random.Random(7), client.resources.redis

    def step():
        doc_id = rng.choice(doc_ids)
        version = next_versions(redis)[0]
        text = f"# Edit {version}\n\nA stream edit of {doc_id} made during a re-embedding build.\n"
        return client.submit_content(doc_id, text, "edit.md", version)

    return step


def searcher(client):
    rng = random.Random(3)
    return lambda: len(client.search(rng.choice(QUERIES), k=5))


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    args.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args.add_argument("--min-chunks", type=int, default=2000)
    args.add_argument("--rate", type=float, default=2.0, help="stream edits a second, loaded run")
    args.add_argument("--queries", type=float, default=5.0, help="searches a second, loaded run")
    args.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    opts = args.parse_args()
    state = isolate(opts.redis_url, embedding_model=OLD, preload_models=NEW)
    from ingest_tasks.bluegreen.swap import rollback
    from ingest_tasks.interfaces.client import IngestClient
    from ingest_tasks.pipeline.embed import get_embedder
    from ingest_tasks.state.latency import percentiles

    with private_stack(state):
        client = IngestClient()
        docs = prepared_corpus(opts.corpus, get_embedder(OLD), client.settings)
        folder = state / "docs"
        repeat_corpus(opts.corpus, folder, opts.min_chunks, {n: len(d.chunks) for n, d in docs.items()})
        loaded = client.wait_job(client.submit_batch([folder]), poll=0.5)["summary"]
        doc_ids = [d["doc_id"] for d in loaded["documents"] if d["status"] == "committed"]
        print(f"live {OLD}: {len(doc_ids)} documents, {loaded['chunks']} chunks", file=sys.stderr)

        quiet = build(client, {})
        limit, batch, _, _ = embedding_limit(live_texts(client), NEW)
        quiet["ratio_to_embed_limit"] = round(quiet["chunks_per_s"] / limit, 3)
        print(json.dumps({"quiet": quiet, "limit": limit}), file=sys.stderr)
        back = _swap_figures(rollback(client.resources).to_dict())

        edits = Paced(opts.rate, editor(IngestClient(), doc_ids))
        searches = Paced(opts.queries, searcher(IngestClient()))
        edits.start()
        searches.start()
        began = time.time()
        try:
            busy = build(client, {})
        finally:
            edits.stop.set()
            searches.stop.set()
            edits.join()
            searches.join()
        results = [r.get(timeout=300) if not isinstance(r, Exception) else r for r in edits.outcomes]
        busy.update(
            ratio_to_embed_limit=round(busy["chunks_per_s"] / limit, 3),
            stream_edits=len(results),
            stream_edits_failed=sum(isinstance(r, Exception) or r["status"] == "failed" for r in results),
            stream_p95_s=percentiles(client.resources.redis, "stream", time.time() - began).get("p95"),
            searches=len(searches.outcomes),
            searches_failed=sum(isinstance(r, Exception) for r in searches.outcomes),
            searches_empty=sum(r == 0 for r in searches.outcomes),
        )
    print(json.dumps({
        "documents": len(doc_ids), "embed_limit_chunks_per_s": round(limit, 1),
        "embed_limit_batch": batch, "quiet": quiet, "rollback": back, "loaded": busy,
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
