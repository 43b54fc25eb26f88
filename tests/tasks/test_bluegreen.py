"""A build's copy, its checks, the swap and the rollback, on a MemoryStore and the real Redis."""

from dataclasses import astuple

import pytest

from ingest_tasks.bluegreen import checks, reembed
from ingest_tasks.bluegreen.copying import copy_documents
from ingest_tasks.bluegreen.swap import rollback, swap_to
from ingest_tasks.core.errors import SwapRefused
from ingest_tasks.core.results import DELETED, UNCHANGED
from ingest_tasks.pipeline.chunk import chunk_id, chunk_text
from ingest_tasks.pipeline.documents import delete_document
from ingest_tasks.pipeline.resources import Resources
from ingest_tasks.state import alias, registry
from ingest_tasks.state.alias import Target, collection_name
from ingest_tasks.store.base import ChunkRecord
from tests.tasks.in_memory import MODEL, TOPICS, memory_resources, submit, text


@pytest.fixture
def resources():
    """Every topic committed to the live collection, at version 1."""
    with memory_resources() as resources:
        for topic in TOPICS:
            submit(resources, topic, text(topic), version=1)
        yield resources


def build(resources, build_id: str = "b1") -> Target:
    """A build of the live collection, every document copied into it."""
    started = reembed.begin(resources, MODEL, build_id)
    doc_ids = [ref.doc_id for ref in reembed.to_copy(resources, started)]
    copy_documents(doc_ids, started.source, started.target, resources)
    return started.target


def chunks(resources, target: Target, doc_ids) -> dict[str, list[str]]:
    """Chunk texts per document of a collection."""
    found = resources.store.chunks_of(target.collection, list(doc_ids))
    return {doc_id: [body for body, _ in rows] for doc_id, rows in found.items()}


def test_copy_brings_chunks_entries_and_tombstones_into_the_build(resources):
    delete_document("bread", 7, resources)
    live = resources.target()

    target = build(resources)

    assert chunks(resources, target, TOPICS) == chunks(resources, live, TOPICS)
    assert "bread" not in chunks(resources, target, TOPICS)
    for doc_id in TOPICS:
        here = registry.get(resources.redis, target.collection, doc_id)
        assert astuple(here) == astuple(registry.get(resources.redis, live.collection, doc_id))
    assert registry.get(resources.redis, target.collection, "bread").state == DELETED
    again = copy_documents(list(TOPICS), live, target, resources)
    assert {result.status for result in again} == {UNCHANGED}


def test_copy_cuts_chunks_again_for_a_smaller_window(resources):
    submit(resources, "long", text("glaciers", 12), version=3)
    live = resources.target()
    narrow = Resources(resources.settings.model_copy(update={"chunk_tokens": 24,
                                                             "chunk_overlap": 4}),
                       store=resources.store)
    target = Target(collection_name(resources.settings.collection_prefix, MODEL, "narrow"), MODEL)

    (result,) = copy_documents(["long"], live, target, narrow)

    before, after = chunks(resources, live, ["long"])["long"], chunks(resources, target, ["long"])
    embedder = resources.embedder()
    cut = [piece.text for whole in before
           for piece in chunk_text(whole, *embedder.tokenize(whole), 24, 4,
                                   narrow.settings.chunk_snap_tokens)]
    assert len(before) > 1 and after["long"] == cut and result.chunks == len(cut) > len(before)
    entry = registry.get(resources.redis, target.collection, "long")
    source = registry.get(resources.redis, live.collection, "long")
    assert (entry.version, entry.content_hash, entry.chunks) == (3, source.content_hash,
                                                                 len(after["long"]))


def test_checks_pass_a_full_copy_and_name_a_missing_chunk_and_another_models_chunk(resources):
    live, target = resources.target(), build(resources)
    assert checks.verify(resources, live, target).ok

    resources.store.delete(target.collection, [chunk_id("cranes", 0)])
    (body, meta), *_ = resources.store.chunks_of(target.collection, ["kelp"])["kelp"]
    vector = resources.embedder().embed([body])[0]
    resources.store.write(target.collection, [ChunkRecord(
        chunk_id("kelp", 0), vector, body, {**meta, "model": "all-MiniLM-L6-v2"})], {})
    submit(resources, "bread", text("bread", 4), version=2)  # in the live collection only

    report = checks.verify(resources, live, target)

    assert not report.ok and report.wrong_chunks == ["cranes", "kelp"]
    assert report.not_current == ["bread"]
    assert checks.verify(resources, live, target, docs=["cranes"]).wrong_chunks == ["cranes"]
    assert any("cranes, kelp" in line for line in report.problems())


def test_a_swap_moves_the_alias_and_a_rollback_moves_it_back_with_what_changed_since(resources):
    live = resources.target()
    started = reembed.begin(resources, MODEL, "b1")
    submit(resources, "late", text("violins", 2), version=1)  # after the build began: owed to it
    copy_documents(list(TOPICS), started.source, started.target, resources)

    swapped = swap_to(resources, started.target)

    assert resources.target().collection == started.target.collection
    kept = alias.previous(resources.redis, resources.settings.collection_prefix)
    assert [t.collection for t in kept] == [live.collection]
    assert swapped.check["ok"] and "late" in chunks(resources, started.target, ["late"])
    submit(resources, "after", text("ocelots", 2), version=1)  # to the new live collection
    assert "after" not in chunks(resources, live, ["after"])

    rollback(resources)

    assert resources.target().collection == live.collection
    assert chunks(resources, live, ["after"])["after"] == chunks(
        resources, started.target, ["after"])["after"]


def test_a_swap_to_a_build_missing_a_chunk_is_refused_and_the_alias_stays(resources):
    live, target = resources.target(), build(resources)
    resources.store.delete(target.collection, [chunk_id("glaciers", 0)])

    with pytest.raises(SwapRefused, match="glaciers"):
        swap_to(resources, target)

    assert resources.target().collection == live.collection
