"""Self-retrieval over a whole corpus: ingest it, then search each committed document's
middle sentence and count how often that document comes back in the top k.

Run the same way each time, on a stack brought up by `ingest up`:

    .venv/bin/python scripts/bench_retrieval.py [FOLDER] [--k 3]

Prints one JSON object: the share of documents found, and the misses, per minimum
sentence length (12 words by default, 8 for comparison).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from benchkit import DEFAULT_CORPUS

from ingest_tasks.core.results import COMMITTED, UNCHANGED
from ingest_tasks.core.settings import get_settings
from ingest_tasks.interfaces.client import IngestClient
from ingest_tasks.pipeline.retrieval import self_retrieval


def main() -> None:
    """Ingest the folder as one job, then score self-retrieval over every committed document."""
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("folder", nargs="?", type=Path, default=DEFAULT_CORPUS)
    args.add_argument("--k", type=int, default=3)
    args.add_argument("--min-words", type=int, nargs="+", default=[12, 8],
                      help="score once per minimum sentence length")
    opts = args.parse_args()
    settings = get_settings()
    client = IngestClient(settings)
    started = time.perf_counter()
    job = client.wait_job(client.submit_batch([opts.folder]))["summary"]
    ingest_s = time.perf_counter() - started
    held = (COMMITTED, UNCHANGED)  # a second run finds the documents already in the index
    committed = {d["doc_id"]: Path(d["source"]) for d in job["documents"] if d["status"] in held}
    scores = {}
    for min_words in opts.min_words:
        score = self_retrieval(client, committed, opts.k, min_words, settings.legacy_encoding)
        scores[f"sentences of {min_words}+ words"] = {
            "found": round(score.rate, 4), "misses": score.misses}
    print(json.dumps({
        "folder": str(opts.folder), "model": settings.embedding_model, "top_documents": opts.k,
        "documents": job["total"], "committed": len(committed), "ingest_s": round(ingest_s, 1),
        "scores": scores,
    }, indent=2))


if __name__ == "__main__":
    main()
