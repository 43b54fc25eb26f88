"""Submit -> searchable through the HTTP API against the same through the Python client.

Run the same way each time (it brings up a stack of its own and takes it down after):

    .venv/bin/python scripts/bench_api.py [--docs 200]

One document at a time, alternating the two ways (which goes first alternates too):
- client: `IngestClient.submit_content` (stream lane), wait for its result, then
  `search` with a sentence of it until the document is found;
- API: `POST /v1/documents?wait=true`, then `GET /v1/search` until found, against
  `ingest serve` (one worker) in a process of its own on loopback.
Both clocks run from the submission to the search that finds the document. Prints one
JSON object with p50/p99 of each and their ratios; exits 1 if the API's p50 or p99 is
past 1.1x the client's (the floor of issue 16).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid

from benchkit import api_server, isolate, private_stack

FLOOR = 1.1
WARMUP = 3
WORDS = ("amber basalt cedar delta ember fjord glacier harbor island juniper kestrel lagoon "
         "meadow nectar orchard pebble quarry river saffron tundra umber valley willow yarrow "
         "zephyr anchor beacon canyon dune estuary falcon grove heron inlet jasper kelp lantern "
         "marsh nomad otter prairie quartz reef summit thistle urchin violet walrus yucca "
         "bramble cobalt drizzle fern gypsum hollow ivy jetty knoll lichen moss nettle oasis "
         "plover quill rapids sorrel tide upland vale wren alder birch coral drift elm").split()


def document(n: int, rng: random.Random) -> tuple[str, str, str]:
    """A document id, its text (words of its own, so no other document outranks it), and
    a sentence of it to search for."""
    tag = uuid.uuid4().hex[:8]
    sentence = " ".join(rng.sample(WORDS, 14)) + "."
    return f"note-{tag}", f"# Field note {n}\n\n{sentence}\n\n" + " ".join(rng.sample(WORDS, 40)), sentence


def timed(submit, found, doc_id: str, query: str, timeout: float = 60) -> float:
    """Seconds from the submission until a search finds the document."""
    from ingest_tasks.core.polling import poll_until

    started = time.perf_counter()
    submit()
    poll_until(lambda: doc_id in found(query), timeout, f"{doc_id} searchable", 0.01)
    return time.perf_counter() - started


def quantile(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of the values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def figures(samples: list[float]) -> dict:
    return {"samples": len(samples), "p50": round(quantile(samples, 0.5), 4),
            "p99": round(quantile(samples, 0.99), 4), "mean": round(statistics.fmean(samples), 4)}


def main() -> int:
    """Bring up a private stack and the API, measure both ways, print the figures."""
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("--docs", type=int, default=200, help="documents each way (default 200)")
    args.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    opts = args.parse_args()
    state = isolate(opts.redis_url)
    import httpx

    from ingest_tasks.interfaces.client import IngestClient
    from ingest_tasks.interfaces.http.auth import new_key

    secret, entry = new_key("bench", "write")
    with private_stack(state), api_server(entry) as url:
        client = IngestClient()
        web = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {secret}"}, timeout=60)

        rng = random.Random(16)

        def by_client(n: int) -> float:
            doc_id, text, query = document(n, rng)
            return timed(lambda: client.submit_content(doc_id, text, f"{doc_id}.md").get(timeout=60),
                         lambda q: [hit.doc_id for hit in client.search(q, k=3)], doc_id, query)

        def by_api(n: int) -> float:
            doc_id, text, query = document(n, rng)

            def submit() -> None:
                web.post("/v1/documents", params={"wait": "true"},
                         json={"doc_id": doc_id, "content": text, "name": f"{doc_id}.md"}
                         ).raise_for_status()

            return timed(submit, lambda q: [hit["doc_id"] for hit in web.get(
                "/v1/search", params={"q": q, "k": 3}).raise_for_status().json()], doc_id, query)

        samples: dict[str, list[float]] = {"client": [], "api": []}
        for n in range(opts.docs + WARMUP):
            order = (("client", by_client), ("api", by_api))
            for name, way in order if n % 2 else order[::-1]:
                took = way(n)
                if n >= WARMUP:
                    samples[name].append(took)
    result = {name: figures(values) for name, values in samples.items()}
    result["ratio"] = {q: round(result["api"][q] / result["client"][q], 3) for q in ("p50", "p99")}
    result["floor"] = FLOOR
    result["passed"] = all(ratio <= FLOOR for ratio in result["ratio"].values())
    print(json.dumps(result, indent=2))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
