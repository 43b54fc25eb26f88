"""The commit's check-and-set against the real Redis registry, with an in-memory store."""

import uuid
from types import SimpleNamespace

import numpy as np
import pytest
import redis as redis_lib

from ingest_tasks.core.settings import get_settings
from ingest_tasks.pipeline.chunk import Chunk
from ingest_tasks.pipeline.commit import Prepared, commit_documents
from ingest_tasks.pipeline.sources import DocRef
from ingest_tasks.state import registry
from ingest_tasks.state.alias import Target
from ingest_tasks.state.registry import COMMITTED, Entry


class MemoryStore:
    """Keeps what is written, by chunk id."""

    def __init__(self):
        self.chunks = {}

    def write(self, col, records, prune):
        for record in records:
            self.chunks[record.id] = record.metadata["content_hash"]


class CountingEmbedder:
    name, dim = "fake", 2

    def __init__(self):
        self.embedded = []

    def embed_chunks(self, chunks):
        self.embedded += [chunk.text for chunk in chunks]
        return np.ones((len(chunks), self.dim), dtype=np.float32)


@pytest.fixture
def setup():
    redis = redis_lib.Redis.from_url(get_settings().redis_url, decode_responses=True)
    target = Target(f"test-{uuid.uuid4().hex[:8]}", CountingEmbedder.name)
    col = SimpleNamespace(name=target.collection)
    resources = SimpleNamespace(redis=redis, store=MemoryStore(), settings=get_settings(),
                                collection=lambda _target: col)
    return resources, target, col, CountingEmbedder()


def doc(doc_id, version, text):
    return Prepared(DocRef(doc_id, f"/{doc_id}", version, len(text)), [Chunk(0, text, (1, 2, 3))],
                    f"hash-of-{text}", 0.0)


def test_text_unchanged_before_the_lock_but_changed_since_is_embedded_after_all(setup):
    resources, target, col, embedder = setup
    mine = doc("d", 3, "same words")
    seen_before = {"d": Entry(1, COMMITTED, mine.digest, 1, 10)}  # what the group read first
    registry.put(resources.redis, col.name, {"d": Entry(2, COMMITTED, "hash-of-other", 1, 11)})

    (result,) = commit_documents([mine], embedder, target, resources, seen_before)

    assert result.status == "committed" and embedder.embedded == ["same words"]
    assert resources.store.chunks == {"d#0": mine.digest}
    assert registry.get(resources.redis, col.name, "d").version == 3


def test_text_still_unchanged_is_recorded_without_embedding(setup):
    resources, target, col, embedder = setup
    mine = doc("d", 3, "same words")
    held = Entry(1, COMMITTED, mine.digest, 1, 10)
    registry.put(resources.redis, col.name, {"d": held})

    (result,) = commit_documents([mine], embedder, target, resources, {"d": held})

    assert result.status == "unchanged" and embedder.embedded == []
    assert registry.get(resources.redis, col.name, "d").version == 3


def test_a_write_cut_off_before_its_record_is_pruned_by_the_next_one(setup):
    resources, target, col, embedder = setup
    registry.writing(resources.redis, col.name, {"d": 5})  # 5 chunks written, never recorded
    pruned = []
    resources.store.write = lambda col, records, prune: pruned.append(prune)

    (result,) = commit_documents([doc("d", 2, "short")], embedder, target, resources, {"d": None})

    assert result.status == "committed" and pruned == [{"d": 1}]
    assert registry.unrecorded(resources.redis, col.name, ["d"]) == {"d": 0}


def test_text_unchanged_but_with_a_write_cut_off_since_is_written_again(setup):
    resources, target, col, embedder = setup
    mine = doc("d", 3, "same words")
    held = Entry(1, COMMITTED, mine.digest, 1, 10)
    registry.put(resources.redis, col.name, {"d": held})
    registry.writing(resources.redis, col.name, {"d": 4})  # other text's chunks written

    (result,) = commit_documents([mine], embedder, target, resources, {"d": held})

    assert result.status == "committed" and embedder.embedded == ["same words"]
