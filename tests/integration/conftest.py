"""Helpers of the integration tests; their fixtures (the real stack: Redis, a Chroma
server, both pools and Flower) are in tests/stack_fixtures.py."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from ingest_tasks.core.keys import ALIAS_KEY, BUILD_KEY, CHANGES_KEY, FEEDS_KEY, HISTORY_KEY
from ingest_tasks.state import alias, registry
from tests.stack_fixtures import worker_pids

__all__ = ["FAST", "chunks_in_store", "finished", "index_of", "live_collection", "worker_pids"]

TIMEOUT = 120
FAST = "wordllama"  # a static model: where tests need many commits, not MiniLM's vectors


def chunks_in_store(client, prefix: str, model: str | None = None) -> dict[str, int]:
    """Chunks per document id of the sources under a folder, counted in Chroma itself."""
    resources = client.resources
    name = resources.collection(resources.target(model))
    counts: dict[str, int] = {}
    for meta in resources.store.metadatas(name):
        if meta["source"].startswith(prefix):
            counts[meta["doc_id"]] = counts.get(meta["doc_id"], 0) + 1
    return counts


@contextmanager
def live_collection(client, settings, model: str) -> Iterator[alias.Target]:
    """A live collection of `model` of the block's own (the alias set to it); after, every
    collection it led to (builds, kept ones) dropped with the alias's and builds' state."""
    redis, prefix = client.resources.redis, settings.collection_prefix
    start = alias.Target(alias.collection_name(prefix, model, uuid.uuid4().hex[:6]), model)
    redis.hset(ALIAS_KEY + prefix, mapping={"collection": start.collection, "model": model, "build": ""})
    try:
        yield start
    finally:
        made = {start.collection, *(t.collection for t in alias.previous(redis, prefix)),
                redis.hget(ALIAS_KEY + prefix, "collection")}
        redis.delete(ALIAS_KEY + prefix, HISTORY_KEY + prefix, BUILD_KEY + prefix,
                     *redis.keys(FEEDS_KEY + "*"), *redis.keys(CHANGES_KEY + "*"))
        for collection in made:
            client.resources.store.drop(collection)
            registry.drop(redis, collection)


def index_of(client, doc_prefix: str) -> dict[str, str]:
    """doc id -> content hash of each document under the prefix that the live collection
    holds, read from Chroma itself; every chunk of a document must be of one version."""
    resources = client.resources
    name = resources.collection(resources.target())
    found: dict[str, set] = {}
    for meta in resources.store.metadatas(name):
        if meta["doc_id"].startswith(doc_prefix):
            found.setdefault(meta["doc_id"], set()).add((meta["version"], meta["content_hash"]))
    assert all(len(kinds) == 1 for kinds in found.values()), found
    return {doc_id: next(iter(kinds))[1] for doc_id, kinds in found.items()}


def finished(client, report) -> None:
    """Wait for a sync's job and tasks; every document went through."""
    if report.job_id:
        state = client.wait_job(report.job_id, timeout=TIMEOUT)
        assert state["summary"]["failed"] == 0, state["summary"]
    client.wait_tasks(report.tasks, timeout=TIMEOUT)
