"""Batch throughput against its limits and against the seed's in-process pattern.

Run the same way each time (it brings up a stack of its own and takes it down after):

    .venv/bin/python scripts/bench_batch.py [--corpus ../shared/corpus] [--min-chunks 2000 20000]

For each model (all-MiniLM-L6-v2 and wordllama) and each job size (the corpus repeated
to at least each `--min-chunks` chunks), all in one run:
- limit, embedding: the job's distinct chunk texts embedded in one process, all cores,
  in batches of the fastest size (calibrated on a sample: 1 to 64), no I/O (chunks/s);
- limit, store: the job's vectors bulk-written to a fresh Chroma collection (vectors/s),
  before the lane's job and again after it (the mean: the store's rate drifts);
- seed (at the first size only): an asyncio semaphore + gather over the same parse,
  chunk, embed and store functions, in one process (chunks/s);
- ingest-tasks: the Celery batch lane, one job through the bulk pool (chunks/s), with
  the phases of its wall time and a picture of its timeline (state/timelines.py);
- limit, CPU: the machine's cores over the CPU-seconds the job needs at the least: the
  bulk pool's own (parsing, embedding, sending) plus the Chroma server's for the store
  limit's write of the same vectors. No lane that parses as ours does can go faster on
  this machine; where it is below the store's limit, the store's cannot be reached.
Each measurement starts once the machine is quiet (under 10% CPU and 5 MB written in a
second: the Chroma server persists and compacts for a while after large writes).
Prints one JSON object with the figures and ratios; exits 1 if a floor is missed: at
every size wordllama at least 0.8x the lower limit (the store's) and MiniLM at least 0.95x
its embedding limit (issue 19), and MiniLM above the seed (issue 3).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

from benchkit import DEFAULT_CORPUS, isolate, private_stack

MODELS = ("all-MiniLM-L6-v2", "wordllama")
SEED_CONCURRENCY = 4
CALIBRATION_SAMPLE = 256
CALIBRATION_BATCHES = (1, 8, 32, 64)


def repeat_corpus(corpus: Path, folder: Path, min_chunks: int, chunks_per_file: dict,
                  tag: str = "") -> None:
    """Copy the corpus's parseable files into `folder` until they hold `min_chunks` chunks
    (in folders named `{tag}copy{n}`, so that jobs of different tags have different ids)."""
    total, copy = 0, 0
    while total < min_chunks:
        for name, chunks in chunks_per_file.items():
            target = folder / f"{tag}copy{copy}" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(corpus / name, target)
            total += chunks
            if total >= min_chunks:
                return
        copy += 1


def prepared_corpus(corpus: Path, embedder, settings):
    """Every parseable corpus file, parsed and chunked (chunks per file name)."""
    from ingest_tasks.core.errors import PermanentError
    from ingest_tasks.pipeline.documents import prepare
    from ingest_tasks.pipeline.sources import discover

    refs, _ = discover([corpus])
    ready = {}
    for ref in refs:
        try:
            ready[ref.doc_id] = prepare(ref, embedder, settings)
        except PermanentError:
            pass
    return ready


def embedding_limit(texts: list[str], model: str) -> tuple[float, int, dict, object]:
    """Chunks/s embedding `texts` (distinct) in this process on every core, no I/O.

    The batch size is the fastest of CALIBRATION_BATCHES on a sample (large batches pad
    to their longest text, so on CPU they are not always faster); returns the rate, that
    batch size, the sample's rate per batch size, and the vectors.
    """
    from ingest_tasks.pipeline.embed import get_embedder

    sample = random.Random(5).sample(texts, min(CALIBRATION_SAMPLE, len(texts)))
    rates = {}
    for batch in CALIBRATION_BATCHES:
        embedder = get_embedder(model, threads=os.cpu_count() or 1, batch=batch)
        embedder.embed(sample[:4])  # warm up
        started = time.perf_counter()
        embedder.embed(sample)
        rates[batch] = round(len(sample) / (time.perf_counter() - started), 1)
    best = max(rates, key=rates.get)
    embedder = get_embedder(model, threads=os.cpu_count() or 1, batch=best)
    started = time.perf_counter()
    vectors = embedder.embed(texts)
    return len(texts) / (time.perf_counter() - started), best, rates, vectors


def store_limit(store, name: str, docs, vectors: dict, model: str, dim: int,
                stack) -> tuple[float, float]:
    """Vectors/s writing the documents' chunks with their vectors (by text) to a fresh
    collection, as one bulk write, and the Chroma server's CPU-seconds for it."""
    from ingest_tasks.cost.meters import cpu_seconds
    from ingest_tasks.pipeline.commit import chunk_records

    store.ensure(name, model, dim)
    records = []
    for doc in docs:
        records += chunk_records(doc, [vectors[c.text] for c in doc.chunks], model)
    cpu, started = cpu_seconds(stack.pid("chroma")), time.perf_counter()
    store.write(name, records, {})
    return len(records) / (time.perf_counter() - started), cpu_seconds(stack.pid("chroma")) - cpu


async def _seed(refs, embedder, store, name, settings) -> int:
    """The seed's pattern: one coroutine per document, a semaphore, gather."""
    from ingest_tasks.core.errors import PermanentError
    from ingest_tasks.pipeline.commit import chunk_records
    from ingest_tasks.pipeline.documents import prepare

    gate = asyncio.Semaphore(SEED_CONCURRENCY)

    async def one(ref) -> int:
        async with gate:
            try:
                doc = await asyncio.to_thread(prepare, ref, embedder, settings)
            except PermanentError:  # the seed counted bad documents and went on
                return 0
            vectors = await asyncio.to_thread(embedder.embed, [c.text for c in doc.chunks])
            records = list(chunk_records(doc, vectors, embedder.name))
            await asyncio.to_thread(store.write, name, records, {ref.doc_id: len(records)})
            return len(records)

    return sum(await asyncio.gather(*(one(ref) for ref in refs)))


def seed_pattern(folder: Path, model: str, store, settings) -> float:
    """Chunks/s of the seed's asyncio pattern over the repeated corpus."""
    from ingest_tasks.pipeline.embed import get_embedder
    from ingest_tasks.pipeline.sources import discover

    embedder = get_embedder(model, threads=os.cpu_count() or 1, batch=settings.embed_batch)
    name = f"{settings.collection_prefix}-seed-{embedder.dim}"
    store.ensure(name, model, embedder.dim)
    refs, _ = discover([folder])
    started = time.perf_counter()
    chunks = asyncio.run(_seed(refs, embedder, store, name, settings))
    return chunks / (time.perf_counter() - started)


def celery_lane(client, folder: Path, model: str, stack) -> tuple[float, dict, list[str], dict]:
    """Chunks/s of one batch job through the bulk pool, submit to summary; its summary, the
    picture of its timeline, and the CPU-seconds of the bulk pool and of the Chroma server."""
    from ingest_tasks.cost.meters import cpu_seconds
    from ingest_tasks.state import jobs

    def cpu() -> dict[str, float]:
        return {part: cpu_seconds(stack.pid(pid))
                for part, pid in (("bulk_pool", "bulk"), ("chroma", "chroma"))}

    before, started = cpu(), time.perf_counter()
    job_id = client.submit_batch([folder], model=model)
    state = client.wait_job(job_id, poll=0.05)
    wall = time.perf_counter() - started
    used = {part: round(seconds - before[part], 2) for part, seconds in cpu().items()}
    summary = state.get("summary")
    if summary is None:
        raise RuntimeError(f"the batch job ended with {state['status']}: {state.get('error')}")
    drawn = picture(jobs.timeline(client.resources.redis, job_id), summary["started"],
                    summary["finished"])
    return summary["chunks"] / wall, summary, drawn, used


MARKS = {"parse": "p", "embed": "e", "wait": "w", "write": "W", "yield": "y"}


def picture(groups: list[dict], started: float, finished: float, width: int = 100) -> list[str]:
    """A job's timeline as text: two rows per worker process, its parsing thread and its
    writing thread (embed, wait, write), one character per 1/width of the job's wall time."""
    step = (finished - started) / width
    rows: dict[str, list[list[str]]] = {}
    for group in groups:
        lines = rows.setdefault(group["worker"], [[" "] * width, [" "] * width])
        for at in range(int((group["start"] - started) / step), int((group["end"] - started) / step)):
            for line in lines:
                if 0 <= at < width and line[at] == " ":
                    line[at] = "."
        for span in group["spans"]:
            line = lines[0] if span["kind"] in ("parse", "yield") else lines[1]
            first = int((span["start"] - started) / step)
            for at in range(first, max(int((span["end"] - started) / step), first + 1)):
                if 0 <= at < width:
                    line[at] = MARKS.get(span["kind"], "?")
    out = [f"one column = {step:.3f} s; p parse, e embed, w wait for the store, W write, "
           ". idle in a group, blank: no group"]
    for number, lines in enumerate(rows.values()):
        out += [f"process {number} parse |{''.join(lines[0])}|",
                f"process {number} store |{''.join(lines[1])}|"]
    return out


def settle(timeout: float = 300.0) -> float:
    """Wait until the machine is quiet: under 10% CPU and 5 MB written in a second (the
    Chroma server persists and compacts for a while after large writes, and a measurement
    taken meanwhile runs at a fraction of its rate); returns the seconds waited."""
    import psutil

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        written = psutil.disk_io_counters().write_bytes
        if psutil.cpu_percent(interval=1.0) < 10 and \
                psutil.disk_io_counters().write_bytes - written < 5_000_000:
            break
    return round(time.monotonic() - started, 1)


def bench_model(model: str, corpus: Path, root: Path, sizes: list[int], client, stack) -> dict:
    """Every figure for one model, by job size; each measurement on a quiet machine (settle)."""
    from ingest_tasks.pipeline.embed import get_embedder

    settings, store = client.settings, client.resources.store
    embedder = get_embedder(model, threads=1, batch=settings.embed_batch)
    docs = prepared_corpus(corpus, embedder, settings)
    found = {}
    for number, size in enumerate(sizes):
        folder = root / model / str(size)
        repeat_corpus(corpus, folder, size, {name: len(d.chunks) for name, d in docs.items()},
                      tag=f"n{size}-")
        repeated = [  # the corpus's prepared documents, under the ids of their copies
            replace(docs[path.name], ref=replace(docs[path.name].ref, doc_id=path.relative_to(folder).as_posix()))
            for path in sorted(folder.rglob("*")) if path.is_file()
        ]
        texts = [c.text for d in repeated for c in d.chunks]
        distinct = list(dict.fromkeys(texts))
        embed_rate, best_batch, calibration, vectors = embedding_limit(distinct, model)
        by_text = dict(zip(distinct, vectors))
        name = f"{settings.collection_prefix}-limit-{model}-{size}"
        settled = [settle()]
        store_before, store_cpu = store_limit(store, f"{name}-before", repeated, by_text, model,
                                              embedder.dim, stack)
        seed_rate = None
        if number == 0:
            settled.append(settle())
            seed_rate = seed_pattern(folder, model, store, settings)
        settled.append(settle())
        lane_rate, summary, drawn, lane_cpu = celery_lane(client, folder, model, stack)
        # measured again after the lane: the store's rate drifts as it fills
        settled.append(settle())
        store_after, store_cpu_after = store_limit(store, f"{name}-after", repeated, by_text,
                                                   model, embedder.dim, stack)
        store_rate = (store_before + store_after) / 2
        limit = min(embed_rate, store_rate)
        least_cpu = lane_cpu["bulk_pool"] + (store_cpu + store_cpu_after) / 2
        cpu_rate = len(texts) * (os.cpu_count() or 1) / least_cpu
        found[size] = {
            "documents": len(repeated), "chunks": len(texts), "distinct_chunks": len(distinct),
            "limit_embed_chunks_per_s": round(embed_rate, 1),
            "limit_embed_batch": best_batch, "limit_embed_calibration": calibration,
            "limit_store_vectors_per_s": round(store_rate),
            "limit_store_before_after": [round(store_before), round(store_after)],
            "limit_store_chroma_cpu_seconds": [round(store_cpu, 2), round(store_cpu_after, 2)],
            "limit_cpu_chunks_per_s": round(cpu_rate),
            "settled_seconds": settled,
            "ingest_tasks_chunks_per_s": round(lane_rate, 1),
            "lane_job": {k: summary[k] for k in ("committed", "failed", "chunks", "wall_seconds")},
            "lane_phases": summary["phases"],
            "lane_cpu_seconds": lane_cpu,
            "ratio_to_cpu_limit": round(lane_rate / cpu_rate, 3),
            "ratio_to_embed_limit": round(lane_rate / embed_rate, 3),
            "ratio_to_lower_limit": round(lane_rate / limit, 3),
            **({"seed_chunks_per_s": round(seed_rate, 1),
                "ratio_to_seed": round(lane_rate / seed_rate, 3)} if seed_rate else {}),
            "timeline": drawn,
        }
        print(json.dumps({model: {size: found[size]}}), file=sys.stderr)
    return found


FLOORS = {"all-MiniLM-L6-v2": ("ratio_to_embed_limit", 0.95), "wordllama": ("ratio_to_lower_limit", 0.8)}


def floors_met(results: dict) -> bool:
    """Issue 19's floors at every size (FLOORS), and MiniLM above the seed (issue 3)."""
    ok = True
    for model, sizes in results.items():
        ratio, floor = FLOORS.get(model, ("ratio_to_lower_limit", 0.0))
        ok &= all(figures[ratio] >= floor for figures in sizes.values())
        if model == "all-MiniLM-L6-v2":
            ok &= all(figures.get("ratio_to_seed", 2) > 1 for figures in sizes.values())
    return ok


def main() -> int:
    """Bring up a private stack, measure each model, take the stack down, print the figures."""
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args.add_argument("--min-chunks", type=int, nargs="+", default=[2000, 20000])
    args.add_argument("--models", nargs="+", default=list(MODELS))
    args.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    opts = args.parse_args()
    state = isolate(opts.redis_url, preload_models=",".join(opts.models))
    from ingest_tasks.interfaces.client import IngestClient

    with private_stack(state) as stack:
        client = IngestClient()
        results = {}
        for model in opts.models:
            results[model] = bench_model(model, opts.corpus, state / "docs", opts.min_chunks,
                                         client, stack)
    print(json.dumps({"cpus": os.cpu_count(),
                      "bulk_concurrency": client.settings.bulk_concurrency,
                      "results": results}, indent=2))
    return 0 if floors_met(results) else 1


if __name__ == "__main__":
    sys.exit(main())
