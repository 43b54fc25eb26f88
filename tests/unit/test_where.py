"""`where` filters: what is refused before a search, and how MemoryStore runs the rest.

The expected matches are the Chroma server's (1.5), as probed: an int equals a float of
its value, a boolean is no number, $ne and $nin match chunks without the field.
"""

import numpy as np
import pytest

from ingest_tasks.core.errors import InvalidWhere
from ingest_tasks.store.base import ChunkRecord, Hit
from ingest_tasks.store.memory import MemoryStore
from ingest_tasks.store.where import check_where, matches

CHUNKS = {"int1": {"k": 1}, "float1": {"k": 1.0}, "true": {"k": True}, "str1": {"k": "1"},
          "none": {"other": 5}, "float2.5": {"k": 2.5}, "int3": {"k": 3}, "false": {"k": False},
          "int0": {"k": 0}}


@pytest.mark.parametrize("where, expected", [
    ({"k": 1}, {"int1", "float1"}),
    ({"k": 1.0}, {"int1", "float1"}),
    ({"k": True}, {"true"}),
    ({"k": "1"}, {"str1"}),
    ({"k": 0}, {"int0"}),
    ({"k": {"$eq": False}}, {"false"}),
    ({"k": {"$ne": 1}}, set(CHUNKS) - {"int1", "float1"}),
    ({"k": {"$ne": True}}, set(CHUNKS) - {"true"}),
    ({"k": {"$nin": [1]}}, set(CHUNKS) - {"int1", "float1"}),
    ({"k": {"$in": [1, 3]}}, {"int1", "float1", "int3"}),
    ({"k": {"$in": [1.0]}}, {"int1", "float1"}),
    ({"k": {"$gt": 1}}, {"float2.5", "int3"}),
    ({"k": {"$gte": 1}}, {"int1", "float1", "float2.5", "int3"}),
    ({"k": {"$lt": 2.6}}, {"int1", "float1", "float2.5", "int0"}),
    ({"k": {"$lte": 0}}, {"int0"}),
    ({"$and": [{"k": {"$gte": 1}}, {"k": {"$lt": 3}}]}, {"int1", "float1", "float2.5"}),
    ({"$or": [{"k": True}, {"other": 5}]}, {"true", "none"}),
    ({"$or": [{"$and": [{"k": {"$gt": 0}}, {"k": {"$lt": 2}}]}, {"k": "1"}]},
     {"int1", "float1", "str1"}),
    ({}, set(CHUNKS)),
])
def test_filters_match_as_on_the_chroma_server(where, expected):
    assert check_where(where) == where
    assert {name for name, meta in CHUNKS.items() if matches(meta, where)} == expected


@pytest.mark.parametrize("where, says", [
    ([{"k": 1}], "is an object"),
    ({"a": 1, "b": 2}, "join more with $and"),
    ({"$and": [{"a": 1}]}, "two or more"),
    ({"$or": {"a": 1}}, "two or more"),
    ({"$not": {"a": 1}}, "unknown operator $not"),
    ({"a": {"$regex": "x"}}, "unknown operator '$regex'"),
    ({"a": {"$contains": "x"}}, "unknown operator '$contains'"),
    ({"a": {"$gt": 1, "$lt": 3}}, "one operator"),
    ({"a": {"$gt": "b"}}, "compares numbers"),
    ({"a": {"$gte": True}}, "compares numbers"),
    ({"a": {"$in": []}}, "non-empty list"),
    ({"a": {"$in": "abc"}}, "non-empty list"),
    ({"a": {"$nin": [1, 2.5]}}, "one type"),
    ({"a": {"$in": [True, 1]}}, "one type"),
    ({"a": None}, "string, number or boolean"),
    ({"a": [1, 2]}, "string, number or boolean"),
    ({"a": {"$eq": {"b": 1}}}, "string, number or boolean"),
    ({"a": float("nan")}, "finite"),
    ({"a": {"$lt": float("inf")}}, "finite"),
    ({"a": 2**63}, "64 bits"),
    ({"": 1}, "non-empty"),
    ({"#document": "x"}, "Chroma's own"),
    ({"$and": [{"$and": [{"$and": [{"$and": [{"$and": [{"$and": [{"$and": [{"$and": [
        {"a": 1}, {"a": 2}]}, {"a": 3}]}, {"a": 4}]}, {"a": 5}]}, {"a": 6}]}, {"a": 7}]},
        {"a": 8}]}, {"a": 9}]}, "nests at most"),
])
def test_a_filter_the_server_would_refuse_is_refused_first(where, says):
    with pytest.raises(InvalidWhere, match=says.replace("$", r"\$")) as refused:
        check_where(where)
    assert isinstance(refused.value, ValueError)


def test_none_is_no_filter():
    assert check_where(None) == {}


def test_memory_store_search_filters_and_hits_carry_the_callers_metadata():
    store = MemoryStore()
    store.ensure("c", "m", 2)
    rows = [("a", 0, [1, 0], {"team": "red", "year": 2024}), ("a", 1, [1, 0.2], {"team": "red"}),
            ("b", 0, [1, 0.1], {"team": "blue", "year": 2020, "draft": True})]
    store.write("c", [ChunkRecord(f"{d}#{i}", np.asarray(v, dtype=np.float32), f"{d} {i}",
                                  {"doc_id": d, "source": f"/{d}", "chunk_index": i,
                                   "version": 1, "content_hash": "h", "model": "m", **meta})
                      for d, i, v, meta in rows], {})
    query = np.array([1, 0], dtype=np.float32)

    hits = store.search("c", query, k=5, where={"$or": [{"year": {"$gte": 2021}}, {"draft": True}]})

    assert [(h.doc_id, h.chunk_index) for h in hits] == [("a", 0), ("b", 0)]
    assert hits[0].metadata == {"team": "red", "year": 2024}  # the system's fields left out
    assert hits[1].to_dict()["metadata"] == {"team": "blue", "year": 2020, "draft": True}
    assert [h.doc_id for h in store.search("c", query, where={"team": {"$ne": "red"}})] == ["b"]
    with pytest.raises(InvalidWhere):
        store.search("c", query, where={"team": {"$like": "r%"}})


def test_a_hit_of_a_chunk_without_caller_metadata_has_none():
    hit = Hit.of({"doc_id": "d", "source": "/d", "chunk_index": 0, "version": 3,
                  "content_hash": "h", "model": "m", "encoding": "cp1252"}, 0.5, "text", "c")
    assert hit.metadata == {} and hit.to_dict()["metadata"] == {}
    assert hit.system == {"version": 3, "content_hash": "h", "model": "m", "encoding": "cp1252"}
