"""all-MiniLM-L6-v2 in float32 and int8 compute: speed and quality on the same chunks.

Run the same way each time (no stack needed, one process):

    .venv/bin/python scripts/bench_embed.py [--corpus ../shared/corpus] [--chunks 300] [--json]

The chunks: the corpus's documents in a fixed shuffled order, each parsed and chunked as
the workers do (INGEST_CHUNK_TOKENS, INGEST_CHUNK_OVERLAP); of each, its first
`--per-document` chunks (10), in a row, so a chunk's overlapping neighbours are in the
index too and no long document fills it; until `--chunks` chunks.

Each model runs as the workers run it: batches of INGEST_EMBED_BATCH (`--batch`), which
the int8 model embeds one text at a time. For 1 thread (the pools' default,
INGEST_EMBED_THREADS) and 2:
- speed: the same chunks, in the same order, in blocks of `--block`; each block is
  embedded by both variants back to back, the first of the two alternating from block to
  block, so noise from other processes falls on both alike (chunks/s, int8/fp32); also
  this process's CPU-seconds per chunk, less shaken by other processes on busy cores
  (at 2 threads it counts onnxruntime's spinning pool thread too);
- quality (from the one-thread vectors): the cosine of each chunk's int8 vector to its
  float32 vector (mean, minimum);
- self-retrieval top-3: for each chunk, a query of 20 consecutive words from its middle
  (the whole text if shorter); found when that chunk is among the 3 chunks nearest the
  query by cosine, out of all the chunks, in the same variant's vectors (percent; and how
  many queries only one of the two found).

Then a verdict against issue 18's criteria for making int8 the default: at least 1.5x as
fast at both thread counts, mean cosine at least 0.98, self-retrieval within 1 point of
float32. Exits 0 either way (a measurement, not a test).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from benchkit import DEFAULT_CORPUS

FP32, INT8 = "all-MiniLM-L6-v2", "all-MiniLM-L6-v2-int8"
THREADS = (1, 2)
QUERY_WORDS = 20
TOP = 3
MIN_SPEEDUP, MIN_MEAN_COSINE, MAX_RETRIEVAL_LOSS = 1.5, 0.98, 1.0
REPO = Path(__file__).resolve().parents[1]


def corpus_folder(named: Path | None) -> Path:
    """The corpus asked for, else ../shared/corpus of the repo if present, else tests/data/corpus."""
    if named is not None:
        return named
    return DEFAULT_CORPUS if DEFAULT_CORPUS.is_dir() else REPO / "tests" / "data" / "corpus"


def corpus_chunks(corpus: Path, count: int, per_document: int, embedder, settings,
                  seed: int = 18) -> tuple[list, int]:
    """The first `per_document` chunks of each document, documents in a fixed shuffled
    order, until `count` chunks; and how many documents they come from."""
    from ingest_tasks.core.errors import PermanentError
    from ingest_tasks.pipeline.documents import prepare
    from ingest_tasks.pipeline.sources import discover

    refs, _ = discover([corpus])
    refs = sorted(refs, key=lambda ref: ref.doc_id)
    random.Random(seed).shuffle(refs)
    chunks: list = []
    documents = 0
    for ref in refs:
        try:
            taken = prepare(ref, embedder, settings).chunks[:per_document]
        except PermanentError:
            continue
        chunks += taken[: count - len(chunks)]
        documents += 1
        if len(chunks) >= count:
            break
    return chunks, documents


def query_of(text: str) -> str:
    """QUERY_WORDS consecutive words from the middle of a chunk's text (all of a shorter one)."""
    words = text.split()
    start = max(0, len(words) // 2 - QUERY_WORDS // 2)
    return " ".join(words[start : start + QUERY_WORDS])


def timed_rates(models: dict, chunks: list, block: int) -> tuple[dict, dict, dict]:
    """Chunks/s and CPU ms per chunk of each model over the same chunks, blocks
    interleaved; and the vectors."""
    seconds = dict.fromkeys(models, 0.0)
    cpu = dict.fromkeys(models, 0.0)
    vectors: dict[str, list] = {name: [] for name in models}
    for index, start in enumerate(range(0, len(chunks), block)):
        part = chunks[start : start + block]
        order = list(models) if index % 2 == 0 else list(reversed(models))
        for name in order:
            began, began_cpu = time.perf_counter(), time.process_time()
            vectors[name].append(models[name].embed_chunks(part))
            seconds[name] += time.perf_counter() - began
            cpu[name] += time.process_time() - began_cpu
    rates = {name: len(chunks) / seconds[name] for name in models}
    cpu_ms = {name: 1000 * cpu[name] / len(chunks) for name in models}
    return rates, cpu_ms, {name: np.concatenate(parts) for name, parts in vectors.items()}


def self_retrieval(embedder, chunks: list, vectors: np.ndarray) -> np.ndarray:
    """Whether each chunk is among the TOP nearest to a query of its own middle words."""
    queries = np.stack([embedder.embed_query(query_of(chunk.text)) for chunk in chunks])
    scores = queries @ vectors.T
    top = np.argsort(-scores, axis=1)[:, :TOP]
    return (top == np.arange(len(chunks))[:, None]).any(axis=1)


def measure(chunks: list, block: int, batch: int) -> dict:
    """Every figure, for each thread count, on the same chunks."""
    from ingest_tasks.pipeline.embed import get_embedder

    figures: dict = {"threads": {}}
    for threads in THREADS:
        models = {name: get_embedder(name, threads=threads, batch=batch) for name in (FP32, INT8)}
        for model in models.values():  # warm up: first runs allocate
            model.embed_chunks(chunks[:4])
        rates, cpu_ms, vectors = timed_rates(models, chunks, block)
        figures["threads"][threads] = {
            "fp32_chunks_per_s": round(rates[FP32], 2), "int8_chunks_per_s": round(rates[INT8], 2),
            "speedup": round(rates[INT8] / rates[FP32], 3),
            "fp32_cpu_ms_per_chunk": round(cpu_ms[FP32], 1),
            "int8_cpu_ms_per_chunk": round(cpu_ms[INT8], 1),
            "cpu_speedup": round(cpu_ms[FP32] / cpu_ms[INT8], 3)}
        if threads == THREADS[0]:
            cosines = (vectors[FP32] * vectors[INT8]).sum(axis=1)
            figures["cosine_mean"] = round(float(cosines.mean()), 4)
            figures["cosine_min"] = round(float(cosines.min()), 4)
            found = {name: self_retrieval(models[name], chunks, vectors[name])
                     for name in models}
            figures["self_retrieval_top3"] = {
                name: round(100.0 * float(hits.mean()), 2) for name, hits in found.items()}
            figures["self_retrieval_found_by_one_only"] = {
                FP32: int((found[FP32] & ~found[INT8]).sum()),
                INT8: int((found[INT8] & ~found[FP32]).sum())}
    return figures


def verdict(figures: dict) -> dict:
    """Each of issue 18's three criteria for int8 as the default, and whether all hold."""
    retrieval = figures["self_retrieval_top3"]
    checks = {
        f"speedup >= {MIN_SPEEDUP} at 1 and 2 threads":
            all(t["speedup"] >= MIN_SPEEDUP for t in figures["threads"].values()),
        f"mean cosine >= {MIN_MEAN_COSINE}": figures["cosine_mean"] >= MIN_MEAN_COSINE,
        f"self-retrieval within {MAX_RETRIEVAL_LOSS} point of fp32":
            retrieval[INT8] >= retrieval[FP32] - MAX_RETRIEVAL_LOSS,
    }
    return {"checks": checks, "default": all(checks.values())}


def report(result: dict) -> str:
    """The figures as lines of text."""
    lines = [f"{result['chunks']} chunks of {result['documents']} documents of "
             f"{result['corpus']}, {result['mean_tokens']:.0f} tokens on average, batch "
             f"{result['batch']}, {result['when']}"]
    for threads, row in result["threads"].items():
        lines.append(f"threads {threads}: fp32 {row['fp32_chunks_per_s']:.2f} chunks/s, int8 "
                     f"{row['int8_chunks_per_s']:.2f} chunks/s, int8/fp32 {row['speedup']:.2f}x; "
                     f"CPU ms/chunk fp32 {row['fp32_cpu_ms_per_chunk']:.1f}, int8 "
                     f"{row['int8_cpu_ms_per_chunk']:.1f} ({row['cpu_speedup']:.2f}x)")
    retrieval = result["self_retrieval_top3"]
    lines.append(f"cosine int8 vs fp32: mean {result['cosine_mean']:.4f}, "
                 f"min {result['cosine_min']:.4f}")
    only = result["self_retrieval_found_by_one_only"]
    lines.append(f"self-retrieval top-{TOP}: fp32 {retrieval[FP32]:.2f}%, "
                 f"int8 {retrieval[INT8]:.2f}% (found by fp32 only {only[FP32]}, "
                 f"by int8 only {only[INT8]})")
    checks = result["verdict"]["checks"]
    lines.append("verdict: " + "; ".join(f"{k}: {'yes' if ok else 'NO'}" for k, ok in checks.items())
                 + (" -> int8 may be the default" if result["verdict"]["default"]
                    else " -> int8 stays opt-in"))
    return "\n".join(lines)


def main() -> int:
    """Chunk the corpus, measure both variants at 1 and 2 threads, print the figures."""
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("--corpus", type=Path, default=None,
                      help="default: ../shared/corpus beside the repo, else tests/data/corpus")
    args.add_argument("--chunks", type=int, default=300, help="chunks to embed (default 300)")
    args.add_argument("--per-document", type=int, default=10,
                      help="chunks taken from each document (default 10)")
    args.add_argument("--block", type=int, default=20, help="chunks per interleaved block")
    args.add_argument("--batch", type=int, default=None, help="default: INGEST_EMBED_BATCH")
    args.add_argument("--json", action="store_true", help="one JSON object instead of text")
    opts = args.parse_args()
    from ingest_tasks.core.settings import Settings
    from ingest_tasks.pipeline.embed import get_embedder

    corpus = corpus_folder(opts.corpus)
    settings = Settings(source_roots=str(corpus.resolve()))  # documents are read from there
    batch = opts.batch or settings.embed_batch
    chunks, documents = corpus_chunks(corpus, opts.chunks, opts.per_document,
                                      get_embedder(FP32), settings)
    if not chunks:
        raise SystemExit(f"no chunks in {corpus}")
    figures = measure(chunks, opts.block, batch)
    result = {"when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "corpus": str(corpus),
              "chunks": len(chunks), "documents": documents,
              "mean_tokens": float(np.mean([len(c.ids) for c in chunks])), "batch": batch,
              **figures}
    result["verdict"] = verdict(result)
    print(json.dumps(result, indent=2) if opts.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
