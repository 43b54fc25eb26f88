"""Helpers of the integration tests; their fixtures (the real stack: Redis, a Chroma
server, both pools and Flower) are in tests/stack_fixtures.py."""

from tests.stack_fixtures import worker_pids

__all__ = ["chunks_in_store", "worker_pids"]


def chunks_in_store(client, prefix: str, model: str | None = None) -> dict[str, int]:
    """Chunks per document id of the sources under a folder, counted in Chroma itself."""
    resources = client.resources
    name = resources.collection(resources.target(model))
    counts: dict[str, int] = {}
    for meta in resources.store.metadatas(name):
        if meta["source"].startswith(prefix):
            counts[meta["doc_id"]] = counts.get(meta["doc_id"], 0) + 1
    return counts
