"""The commit's check-and-set against the real Redis registry, on a MemoryStore."""


from ingest_tasks.core.results import COMMITTED, DELETED, SUPERSEDED, UNCHANGED
from ingest_tasks.pipeline.commit import chunk_records, commit_documents
from ingest_tasks.pipeline.documents import delete_document, prepare
from ingest_tasks.pipeline.sources import DocRef
from ingest_tasks.state import registry
from ingest_tasks.state.registry import Entry
from tests.tasks.in_memory import submit, text


def stored(resources, doc_id: str) -> list[dict]:
    """The metadata of a document's chunks in the live collection, in chunk order."""
    rows = resources.store.chunks_of(resources.collection(), [doc_id]).get(doc_id, [])
    return [meta for _, meta in rows]


def prepared(resources, doc_id: str, body: str, version: int):
    ref = DocRef.inline(doc_id, body.encode(), f"{doc_id}.md", version)
    return prepare(ref, resources.embedder(), resources.settings)


def test_an_older_version_never_overwrites_a_newer_one(resources):
    assert submit(resources, "d", text("kelp"), version=5).status == COMMITTED
    older = prepared(resources, "d", text("bread"), 4)  # read before version 5 was written

    (result,) = commit_documents([older], resources.embedder(), resources.target(), resources,
                                 {"d": None})

    assert result.status == SUPERSEDED and "version 5" in result.reason
    held = registry.get(resources.redis, resources.collection(), "d")
    assert held.version == 5 and {m["version"] for m in stored(resources, "d")} == {5}
    assert {m["content_hash"] for m in stored(resources, "d")} == {held.content_hash}
    assert delete_document("d", 4, resources).status == SUPERSEDED  # nor does an older delete
    assert len(stored(resources, "d")) == held.chunks


def test_a_tombstone_is_not_resurrected_by_a_stale_write(resources):
    first = submit(resources, "d", text("kelp"), version=1)
    assert delete_document("d", 3, resources).status == DELETED
    assert stored(resources, "d") == []
    stale = prepared(resources, "d", text("kelp", 5), 2)  # read before the delete

    (result,) = commit_documents([stale], resources.embedder(), resources.target(), resources,
                                 {"d": Entry(1, COMMITTED, "", first.chunks)})

    assert result.status == SUPERSEDED and stored(resources, "d") == []
    held = registry.get(resources.redis, resources.collection(), "d")
    assert (held.state, held.version) == (DELETED, 3)


def test_unchanged_text_at_a_new_version_is_recorded_without_embedding(resources, embedded):
    first = submit(resources, "d", text("ocelots"), version=1)
    embedded.clear()

    again = submit(resources, "d", text("ocelots"), version=2)

    assert again.status == UNCHANGED and embedded == []
    assert registry.get(resources.redis, resources.collection(), "d").version == 2
    assert len(stored(resources, "d")) == first.chunks  # the chunks written at version 1 stay


def test_a_shorter_version_leaves_no_chunks_of_the_longer_one(resources):
    longer = submit(resources, "d", text("glaciers", 60), version=1)
    shorter = submit(resources, "d", text("violins", 2), version=2)

    assert longer.chunks > 3 and shorter.chunks == 1
    metas = stored(resources, "d")
    assert [m["chunk_index"] for m in metas] == [0] and metas[0]["version"] == 2
    assert resources.store.count(resources.collection()) == 1


def test_text_unchanged_before_the_lock_but_changed_since_is_embedded_after_all(
        resources, embedded):
    mine = prepared(resources, "d", text("cranes"), 3)
    seen_before = {"d": Entry(1, COMMITTED, mine.digest, 1, 10)}  # what the group read first
    newer = Entry(2, COMMITTED, "other", 1, 11)
    registry.put(resources.redis, resources.collection(), {"d": newer})

    (result,) = commit_documents([mine], resources.embedder(), resources.target(), resources,
                                 seen_before)

    assert result.status == COMMITTED and embedded == [c.text for c in mine.chunks]
    assert {m["content_hash"] for m in stored(resources, "d")} == {mine.digest}
    assert registry.get(resources.redis, resources.collection(), "d").version == 3


def test_text_still_unchanged_is_recorded_without_embedding(resources, embedded):
    mine = prepared(resources, "d", text("cranes"), 3)
    held = Entry(1, COMMITTED, mine.digest, 1, 10)
    registry.put(resources.redis, resources.collection(), {"d": held})

    (result,) = commit_documents([mine], resources.embedder(), resources.target(), resources,
                                 {"d": held})

    assert result.status == UNCHANGED and embedded == []
    assert registry.get(resources.redis, resources.collection(), "d").version == 3


def test_a_write_cut_off_before_its_record_is_pruned_by_the_next_one(resources):
    name, embedder = resources.collection(), resources.embedder()
    cut = prepared(resources, "d", text("glaciers", 60), 1)
    vectors = embedder.embed_chunks(cut.chunks)
    resources.store.write(name, list(chunk_records(cut, vectors, embedder.name)), {})
    registry.writing(resources.redis, name, {"d": len(cut.chunks)})  # written, never recorded

    (result,) = commit_documents([prepared(resources, "d", text("bread", 1), 2)], embedder,
                                 resources.target(), resources, {"d": None})

    assert len(cut.chunks) > 3 and result.status == COMMITTED
    assert resources.store.count(name, "d") == 1
    assert registry.unrecorded(resources.redis, name, ["d"]) == {"d": 0}


def test_text_unchanged_but_with_a_write_cut_off_since_is_written_again(resources, embedded):
    name = resources.collection()
    mine = prepared(resources, "d", text("cranes"), 3)
    held = Entry(1, COMMITTED, mine.digest, 1, 10)
    registry.put(resources.redis, name, {"d": held})
    registry.writing(resources.redis, name, {"d": 4})  # other text's chunks written

    (result,) = commit_documents([mine], resources.embedder(), resources.target(), resources,
                                 {"d": held})

    assert result.status == COMMITTED and embedded == [c.text for c in mine.chunks]
    assert [body for body, _ in resources.store.chunks_of(name, ["d"])["d"]] == [
        c.text for c in mine.chunks]
