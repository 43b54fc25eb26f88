"""A caller's metadata through the pipeline, on a MemoryStore and the real Redis.

Every chunk carries it on both lanes; new metadata on unchanged text is written, the same
again is not; a bad one in a message is a failure record; search filters by it; a
build's copy keeps it, its checks compare it, and it is live after the swap. The client
refuses bad metadata and filters before sending anything.
"""

import pytest

from ingest_tasks.bluegreen import checks, reembed
from ingest_tasks.bluegreen.copying import _disagrees, copy_documents
from ingest_tasks.bluegreen.swap import swap_to
from ingest_tasks.core.errors import InvalidMetadata, InvalidWhere
from ingest_tasks.core.results import COMMITTED, FAILED, UNCHANGED
from ingest_tasks.interfaces.client import IngestClient
from ingest_tasks.pipeline.chunk import chunk_id
from ingest_tasks.pipeline.documents import ingest_documents, search
from ingest_tasks.pipeline.metadata import metadata_hash
from ingest_tasks.pipeline.sources import DocRef
from ingest_tasks.state import jobs, registry
from ingest_tasks.state.registry import Entry
from ingest_tasks.store.base import (
    PARENT,
    STRUCTURE_FIELDS,
    SYSTEM_FIELDS,
    ChunkRecord,
    caller_metadata,
)
from tests.tasks.in_memory import MODEL, TOPICS, memory_resources, text

RED = {"team": "red", "year": 2024, "score": 0.5, "draft": True}


def ingest(resources, doc_id: str, body: str, version: int, metadata=None, bulk=False):
    """One inline document through the pipeline, as a stream task (or a bulk group) runs it."""
    ref = DocRef.inline(doc_id, body.encode(), f"{doc_id}.md", version, metadata)
    (result,) = ingest_documents([ref], resources, bulk=bulk)
    return result


def carried(resources, doc_id: str, collection: str | None = None) -> list[dict]:
    """The caller's metadata of each chunk of a document, in chunk order."""
    name = collection or resources.collection()
    rows = resources.store.chunks_of(name, [doc_id]).get(doc_id, [])
    return [caller_metadata(meta) for _, meta in rows]


@pytest.mark.parametrize("bulk", [False, True], ids=["stream", "bulk"])
def test_every_chunk_carries_the_metadata_beside_the_systems_fields(resources, bulk):
    result = ingest(resources, "g", text("glaciers", 60), 1, RED, bulk=bulk)

    assert result.status == COMMITTED and result.chunks > 3
    assert carried(resources, "g") == [RED] * result.chunks
    rows = resources.store.chunks_of(resources.collection(), ["g"])["g"]
    always = SYSTEM_FIELDS - STRUCTURE_FIELDS - {"encoding", PARENT}  # PARENT: attachments
    assert all(always <= set(meta) and meta["doc_id"] == "g" for _, meta in rows)
    entry = registry.get(resources.redis, resources.collection(), "g")
    assert entry.meta_hash == metadata_hash(RED) != ""


def test_new_metadata_on_unchanged_text_is_written_and_the_same_again_is_not(resources, embedded):
    body = text("ocelots", 20)
    first = ingest(resources, "o", body, 1, {"team": "red"})
    embedded.clear()

    blue = ingest(resources, "o", body, 2, {"team": "blue"})

    assert blue.status == COMMITTED and len(embedded) == first.chunks
    assert carried(resources, "o") == [{"team": "blue"}] * first.chunks
    embedded.clear()
    assert ingest(resources, "o", body, 3, {"team": "blue"}).status == UNCHANGED
    assert embedded == []
    assert ingest(resources, "o", body, 4).status == COMMITTED  # none is a change too
    assert carried(resources, "o") == [{}] * first.chunks
    assert registry.get(resources.redis, resources.collection(), "o").meta_hash == ""


def test_the_same_version_and_size_with_new_metadata_is_read_again(resources):
    """A file submitted again unchanged (same mtime, same size) with other metadata."""
    body = text("kelp")
    assert ingest(resources, "k", body, 7, {"n": 1}).status == COMMITTED

    assert ingest(resources, "k", body, 7, {"n": 2}).status == COMMITTED
    assert carried(resources, "k")[0] == {"n": 2}
    assert ingest(resources, "k", body, 7, {"n": 2}).status == UNCHANGED


@pytest.mark.parametrize("metadata, says", [
    ({"doc_id": "forged"}, "metadata: metadata key 'doc_id' is reserved"),
    ({"a": None}, "metadata: metadata value of 'a' is null"),
    ({"a": {"nested": 1}}, "metadata: metadata value of 'a' is dict"),
    ("team=red", "metadata: metadata is an object of keys and values, not str"),
    (None, "metadata: metadata is an object of keys and values, not NoneType"),
    ({f"k{n}": n for n in range(40)}, "INGEST_METADATA_MAX_KEYS"),
])
def test_bad_metadata_in_a_message_is_a_failure_record_and_the_group_goes_on(
        resources, metadata, says):
    good = DocRef.inline("good", text("bread").encode(), "good.md", 1, {"team": "red"})
    bad = DocRef.from_dict({**DocRef.inline("bad", text("kelp").encode(), "bad.md", 1).to_dict(),
                            "metadata": metadata})

    results = {r.doc_id: r for r in ingest_documents([bad, good], resources, bulk=True)}

    assert results["good"].status == COMMITTED
    assert results["bad"].status == FAILED and results["bad"].reason.startswith("metadata: ")
    assert says in results["bad"].reason
    assert resources.store.count(resources.collection(), "bad") == 0


def test_search_filters_by_metadata_and_hits_carry_it(resources):
    for n, topic in enumerate(TOPICS):
        ingest(resources, topic, text(topic), 1, {"topic": topic, "n": n, "even": n % 2 == 0})

    hits = search("animals hunting at dusk", resources, k=10, where={"even": True})
    assert {h.doc_id for h in hits} == {t for n, t in enumerate(TOPICS) if n % 2 == 0}
    assert all(h.metadata == {"topic": h.doc_id, "n": list(TOPICS).index(h.doc_id),
                              "even": True} for h in hits)
    ranged = {"$and": [{"n": {"$gte": 1}}, {"n": {"$lt": 3}}]}
    assert {h.doc_id for h in search("water", resources, 10, where=ranged)} == {
        list(TOPICS)[1], list(TOPICS)[2]}
    assert search("water", resources, 10, where={"topic": {"$in": ["none"]}}) == []
    with pytest.raises(InvalidWhere, match="unknown operator"):
        search("water", resources, where={"topic": {"$like": "k%"}})


def test_a_job_keeps_its_metadata_for_a_resumed_run(resources):
    job = f"{resources.settings.collection_prefix}-job"  # deleted with the prefix's keys
    jobs.create(resources.redis, job, 1, 1, 1, 600, ["/x"], "", {"team": "red", "n": 1.5})
    assert jobs.progress(resources.redis, job)["metadata"] == {"team": "red", "n": 1.5}
    jobs.create(resources.redis, job, 1, 1, 1, 600, ["/x"])
    assert jobs.progress(resources.redis, job)["metadata"] == {}


def build_of(resources, build_id: str = "b1"):
    """A build of the live collection, every document copied into it."""
    started = reembed.begin(resources, MODEL, build_id)
    doc_ids = [ref.doc_id for ref in reembed.to_copy(resources, started)]
    copy_documents(doc_ids, started.source, started.target, resources)
    return started


def test_a_copy_keeps_the_metadata_and_new_metadata_at_one_version_is_copied_again(resources):
    for n, topic in enumerate(TOPICS):
        ingest(resources, topic, text(topic, 12), 1, {"topic": topic, "n": n})
    live = resources.target()
    target = build_of(resources).target

    for n, topic in enumerate(TOPICS):
        assert carried(resources, topic, target.collection) == carried(resources, topic)
        assert carried(resources, topic, target.collection)[0] == {"topic": topic, "n": n}
        assert registry.get(resources.redis, target.collection, topic).meta_hash == \
            registry.get(resources.redis, live.collection, topic).meta_hash
    assert checks.verify(resources, live, target).ok

    ingest(resources, "kelp", text("kelp", 12), 1, {"topic": "kelp", "n": 99})  # same version
    assert not checks.verify(resources, live, target, docs=["kelp"]).ok
    (copied,) = copy_documents(["kelp"], live, target, resources)

    assert copied.status == COMMITTED
    assert {meta["n"] for meta in carried(resources, "kelp", target.collection)} == {99}
    assert checks.verify(resources, live, target).ok


def test_checks_name_a_chunk_whose_metadata_disagrees_and_the_copy_refuses_it(resources):
    for topic in TOPICS:
        ingest(resources, topic, text(topic), 1, {"topic": topic})
    live, target = resources.target(), build_of(resources).target
    (body, meta), *_ = resources.store.chunks_of(target.collection, ["cranes"])["cranes"]
    vector = resources.embedder().embed([body])[0]
    resources.store.write(target.collection, [ChunkRecord(
        chunk_id("cranes", 0), vector, body, {**meta, "topic": "forged"})], {})

    assert checks.verify(resources, live, target).wrong_chunks == ["cranes"]
    rows = resources.store.chunks_of(target.collection, ["cranes"])["cranes"]
    entry = registry.get(resources.redis, target.collection, "cranes")
    assert "metadata" in _disagrees(entry, rows)
    assert _disagrees(Entry(1, COMMITTED, meta["content_hash"], 1, 1, ""), [
        (body, {k: v for k, v in meta.items() if k != "topic"})]) == ""


def test_after_a_swap_the_live_collection_filters_by_the_same_metadata(resources):
    for n, topic in enumerate(TOPICS):
        ingest(resources, topic, text(topic), 1, {"group": "a" if n < 3 else "b"})
    before = {h.doc_id for h in search("forest", resources, 10, where={"group": "b"})}
    started = build_of(resources)

    assert swap_to(resources, started.target).check["ok"]

    assert resources.target().collection == started.target.collection
    after = search("forest", resources, 10, where={"group": "b"})
    assert {h.doc_id for h in after} == before == set(list(TOPICS)[3:])
    assert all(h.metadata == {"group": "b"} for h in after)


def test_the_client_refuses_bad_metadata_and_filters_before_sending(monkeypatch, tmp_path):
    with memory_resources() as resources:
        client = IngestClient(resources.settings)
    sent = []
    monkeypatch.setattr(client.app, "send_task", lambda name, args: sent.append(args))
    (tmp_path / "a.md").write_text(text("kelp"))

    with pytest.raises(InvalidMetadata, match="reserved"):
        client.submit_content("d", "text", "d.md", version=1, metadata={"version": 2})
    with pytest.raises(InvalidMetadata, match="null"):
        client.submit(tmp_path / "a.md", metadata={"a": None})
    with pytest.raises(InvalidMetadata, match="object"):
        client.submit_batch([tmp_path], metadata=[("a", 1)])
    with pytest.raises(InvalidMetadata, match="finite"):
        client.stream(DocRef.inline("d", b"x", "d.md", 1), metadata={"a": float("nan")})
    with pytest.raises(ValueError, match="one field"):
        client.search("q", where={"a": 1, "b": 2})
    assert sent == []

    client.submit_content("d", "text", "d.md", version=1, metadata={"team": "red"})
    client.submit(tmp_path / "a.md", metadata={"n": 1})
    assert [args[0]["metadata"] for args in sent] == [{"team": "red"}, {"n": 1}]
