"""The in-memory Store keeps ChromaStore's semantics: model check, ids, prune, filters, search."""

import numpy as np
import pytest

from ingest_tasks.core.errors import ModelMismatch
from ingest_tasks.store.base import ChunkRecord, NoCollection
from ingest_tasks.store.memory import MemoryStore


def record(doc_id: str, index: int, vector, **meta) -> ChunkRecord:
    meta = {"doc_id": doc_id, "source": f"/{doc_id}", "chunk_index": index, **meta}
    return ChunkRecord(f"{doc_id}#{index}", np.asarray(vector, dtype=np.float32),
                       f"{doc_id} {index}", meta)


@pytest.fixture
def store() -> MemoryStore:
    store = MemoryStore()
    store.ensure("c", "m", 2)
    store.write("c", [record("a", 0, [1, 0]), record("a", 1, [0, 1]), record("a", 2, [1, 1]),
                      record("b", 0, [0.9, 0.1])], {})
    return store


def test_a_collection_holds_one_model_and_an_unknown_one_is_named(store):
    store.ensure("c", "m", 2)  # the same again: fine
    with pytest.raises(ModelMismatch):
        store.ensure("c", "other", 2)
    with pytest.raises(ModelMismatch):
        store.ensure("c", "m", 3)
    with pytest.raises(NoCollection):
        store.count("never")
    with pytest.raises(ValueError):
        store.write("c", [record("z", 0, [1, 0, 0])], {})  # not the collection's dimension
    with pytest.raises(ValueError):
        store.write("c", [record("z", 0, [1, 0], encoding=None)], {})  # Chroma holds no None


def test_upsert_by_id_and_prune_past_a_count(store):
    store.write("c", [record("a", 0, [0, 1], version=2)], {"a": 2})

    rows = store.chunks_of("c", ["a", "b", "absent"])
    assert sorted(rows) == ["a", "b"]
    assert [meta["chunk_index"] for _, meta in rows["a"]] == [0, 1]
    assert rows["a"][0][1]["version"] == 2 and store.count("c") == 3 and store.count("c", "a") == 2


def test_deletes_by_id_and_by_document(store):
    store.delete("c", ["a#1", "never#0"])
    assert store.count("c", "a") == 2
    store.delete_documents("c", ["a"])
    assert store.count("c") == 1 and [m["doc_id"] for m in store.metadatas("c")] == ["b"]
    store.drop("c")
    store.drop("c")  # nothing to drop: no error
    with pytest.raises(NoCollection):
        store.metadatas("c").__next__()


def test_search_is_by_cosine_best_first_within_the_filter(store):
    hits = store.search("c", np.array([1, 0], dtype=np.float32), k=3)
    assert [(h.doc_id, h.chunk_index) for h in hits] == [("a", 0), ("b", 0), ("a", 2)]
    assert hits[0].score == 1.0 and hits[0].text == "a 0"
    assert hits[0].metadata == {} and hits[0].system == {}  # neither the caller nor the system wrote more
    assert (hits[0].doc_id, hits[0].source, hits[0].chunk_index) == ("a", "/a", 0)
    assert hits[0].collection == "c"  # where it was found: the live one when it was resolved

    only_a = store.search("c", np.array([1, 0], dtype=np.float32), k=5, where={"doc_id": "a"})
    assert [h.chunk_index for h in only_a] == [0, 2, 1]
    later = {"$and": [{"doc_id": {"$in": ["a", "b"]}}, {"chunk_index": {"$gte": 1}}]}
    assert {h.text for h in store.search("c", np.array([0, 1.0]), where=later)} == {"a 1", "a 2"}
