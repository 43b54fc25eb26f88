"""Search load through the HTTP API against the Python client, with as many workers.

Run the same way each time (loopback only; a stack of its own, taken down after):

    .venv/bin/python scripts/load_api.py [--clients 100] [--seconds 60] [--workers 2]

It loads the corpus (a batch job), then for `--seconds` each, in this order:
- client: `--workers` processes, `--clients` threads in all, each calling
  `IngestClient.search` in a loop;
- API: `--clients` concurrent HTTP clients (aiohttp, one connection each) calling
  `GET /v1/search` in a loop against `ingest serve --workers N`.
Queries are sentences of the corpus's documents, in turn. Prints one JSON object with
each way's searches/s, p50 and p99 latency and errors; exits 1 on any error through the
API or if its throughput is below 0.8x the client's (the floors of issue 16).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from benchkit import DEFAULT_CORPUS, api_server, isolate, private_stack

FLOOR = 0.8
SETTLE = 15.0  # seconds for every process to load its model before the clock starts


def queries(corpus: Path, count: int = 64) -> list[str]:
    """Sentences of the corpus's valid documents, to search for."""
    from ingest_tasks.cost.day import valid_files
    from ingest_tasks.pipeline.parse import parse
    from ingest_tasks.pipeline.retrieval import middle_sentence

    from ingest_tasks.core.errors import IngestError

    found = []
    for path in valid_files(corpus):
        try:
            found.append(middle_sentence(parse(path.read_bytes(), path.name).text, 8))
        except IngestError:  # a file this parser reads no text from (docs/parsing.md)
            continue
    if not found:
        raise SystemExit(f"no valid documents in {corpus}/MANIFEST.tsv")
    return (found * (count // len(found) + 1))[:count]


def figures(latencies: list[float], errors: int, seconds: float) -> dict:
    ordered = sorted(latencies) or [0.0]
    rank = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"searches": len(latencies), "errors": errors,
            "per_second": round(len(latencies) / seconds, 1),
            "p50": round(rank(0.5), 4), "p99": round(rank(0.99), 4)}


def client_process(threads: int, texts: list[str], start: float, seconds: float
                   ) -> tuple[list[float], int]:
    """One process of the client way: `threads` threads searching from `start` for `seconds`."""
    from ingest_tasks.interfaces.client import IngestClient

    client = IngestClient()
    client.search(texts[0], k=5)  # the model loaded before the clock starts
    latencies: list[float] = []
    errors = [0]

    def loop(offset: int) -> None:
        n = offset
        while time.time() < start:
            time.sleep(0.01)
        while time.time() < start + seconds:
            began = time.perf_counter()
            try:
                client.search(texts[n % len(texts)], k=5)
                latencies.append(time.perf_counter() - began)
            except Exception:  # noqa: BLE001 - counted, the load goes on
                errors[0] += 1
            n += 1

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return latencies, errors[0]


def by_client(opts, texts: list[str]) -> dict:
    start = time.time() + SETTLE
    shares = [opts.clients // opts.workers + (i < opts.clients % opts.workers)
              for i in range(opts.workers)]
    with ProcessPoolExecutor(opts.workers, mp_context=get_context("spawn")) as pool:
        runs = [pool.submit(client_process, share, texts, start, opts.seconds) for share in shares]
        results = [run.result() for run in runs]
    return figures([x for lat, _ in results for x in lat], sum(e for _, e in results), opts.seconds)


def by_api(opts, texts: list[str], url: str, key: str) -> dict:
    """`--clients` concurrent HTTP clients (aiohttp: a light client, so the load
    generator takes little of the CPU it measures) searching through the API."""
    import aiohttp

    async def run() -> dict:
        latencies: list[float] = []
        errors = 0
        connector = aiohttp.TCPConnector(limit=opts.clients)
        headers = {"Authorization": f"Bearer {key}"}
        async with aiohttp.ClientSession(url, connector=connector, headers=headers,
                                         timeout=aiohttp.ClientTimeout(total=60)) as web:
            for text in texts[: opts.workers * 4]:  # every worker has loaded its model
                async with web.get("/v1/search", params={"q": text, "k": 5}) as response:
                    await response.read()
            end = time.time() + opts.seconds

            async def loop(offset: int) -> None:
                nonlocal errors
                n = offset
                while time.time() < end:
                    began = time.perf_counter()
                    try:
                        async with web.get("/v1/search",
                                           params={"q": texts[n % len(texts)], "k": 5}) as response:
                            await response.read()
                            if response.status == 200:
                                latencies.append(time.perf_counter() - began)
                            else:
                                errors += 1
                    except (aiohttp.ClientError, TimeoutError):
                        errors += 1
                    n += 1

            await asyncio.gather(*(loop(i) for i in range(opts.clients)))
        return figures(latencies, errors, opts.seconds)

    return asyncio.run(run())


def main() -> int:
    """Bring up a private stack, load the corpus, run both ways, print the figures."""
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("--clients", type=int, default=100)
    args.add_argument("--seconds", type=float, default=60.0)
    args.add_argument("--workers", type=int, default=2, help="API workers = client processes")
    args.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    opts = args.parse_args()
    state = isolate(opts.redis_url)
    from ingest_tasks.interfaces.client import IngestClient
    from ingest_tasks.interfaces.http.auth import new_key

    texts = queries(opts.corpus)
    secret, entry = new_key("load", "read")
    with private_stack(state):
        client = IngestClient()
        job = client.wait_job(client.submit_batch([opts.corpus]), timeout=3600)
        result: dict = {"corpus_chunks": job["chunks"]}
        result["client"] = by_client(opts, texts)
        with api_server(entry, opts.workers) as url:
            result["api"] = by_api(opts, texts, url, secret)
    result["ratio"] = round(result["api"]["per_second"] / max(result["client"]["per_second"], 1e-9), 3)
    result["floor"] = FLOOR
    result["passed"] = result["api"]["errors"] == 0 and result["ratio"] >= FLOOR
    print(json.dumps({"clients": opts.clients, "seconds": opts.seconds, "workers": opts.workers,
                      **result}, indent=2))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
