"""The bulk lane on a Batch API (lanes/embedding_batches.py): a group's documents sent as
batches to the bundled server's /v1/files and /v1/batches, committed by the poll.

Real parts: the bundled embedding server in a process of its own (its batch delay and
faults set per test) and Redis; the store is the in-memory one (tests.tasks.in_memory).
"""

from collections import Counter
from contextlib import contextmanager

import httpx

from ingest_tasks.core.polling import poll_until
from ingest_tasks.core.results import COMMITTED, DELETED, FAILED, SUPERSEDED, UNCHANGED
from ingest_tasks.lanes import embedding_batches
from ingest_tasks.pipeline.documents import delete_document, ingest_documents, prepare
from ingest_tasks.pipeline.embed import get_embedder
from ingest_tasks.pipeline.sources import DocRef
from ingest_tasks.state import embed_batches, jobs, registry
from ingest_tasks.testing.stacks import free_port
from tests.servers import serving
from tests.tasks.in_memory import TOPICS, memory_resources, text

MODEL = "api:wordllama"


def settings_of(url: str, **settings) -> dict:
    """Batch mode against the server at `url`; two texts a request, so a document takes
    several requests."""
    return dict(embedding_model=MODEL, bulk_embedding="batch", embedding_api_url=url,
                embedding_api_batch=2, **settings)


@contextmanager
def batch_mode(tmp_path, *faults: str, **settings):
    """Resources of their own in batch mode against a server of their own with `faults`."""
    with serving(tmp_path, *faults) as url, memory_resources(**settings_of(url, **settings)) as resources:
        yield resources, url


def refs(version: int = 1, sentences: int = 40) -> list[DocRef]:
    """One inline document per topic, of several chunks."""
    return [DocRef.inline(topic, text(topic, sentences).encode(), f"{topic}.md", version)
            for topic in TOPICS]


def start(resources, docs: list[DocRef], group: int = 0) -> tuple[str, list]:
    """A one-group, one-chord job whose group is sent in batch mode and whose chord has
    ended; its id and the outcomes known at once."""
    job_id = f"job-{resources.settings.collection_prefix}"
    run = jobs.create(resources.redis, job_id, len(docs), 1, 1, 600, [], MODEL)
    results = embedding_batches.submit(docs, resources, None, job_id, run, group)
    jobs.record(resources.redis, job_id, run, group, results)
    jobs.chord_done(resources.redis, job_id, run, 0)
    return job_id, results


def polled(resources, timeout: float = 60) -> Counter:
    """Poll until no submission is open; the counts of every poll added up."""
    total: Counter = Counter()

    def done() -> bool:
        total.update(embedding_batches.poll(resources))
        return not embed_batches.open_ids(resources.redis, resources.settings.collection_prefix)

    poll_until(done, timeout, "the embedding batches to end", interval=0.1)
    return total


def held(resources) -> dict[str, tuple[int, str]]:
    """doc id -> (version, state) the registry holds."""
    entries = registry.get_many(resources.redis, resources.collection(), list(TOPICS))
    return {doc_id: (e.version, e.state) for doc_id, e in entries.items() if e is not None}


def outcomes(resources, job_id: str) -> dict[str, str]:
    rows, _ = jobs.documents(resources.redis, job_id, count=1000)
    return {row["doc_id"]: row["status"] for row in rows}


def test_a_group_waits_for_its_batch_then_commits_the_vectors_online_gives(tmp_path):
    with batch_mode(tmp_path, "--batch-delay", "1") as (resources, url):
        job_id, now = start(resources, refs())
        assert now == [] and held(resources) == {}  # nothing is committed before the batch ends
        assert jobs.progress(resources.redis, job_id)["status"] == jobs.RUNNING
        assert embedding_batches.poll(resources)["waiting"] == 1
        counts = polled(resources)
        state, summary = jobs.progress(resources.redis, job_id), jobs.summary(resources.redis, job_id)
        billed = httpx.get(f"{url}/usage").json()
        first = prepare(refs()[0], resources.embedder(), resources.settings).chunks[0]
        online = get_embedder("wordllama").embed([first.text])[0]
        (hit,) = resources.store.search(resources.collection(), online, 1)
        final = held(resources)
    assert counts["committed"] == len(TOPICS) and "failed" not in counts and "retried" not in counts
    assert final == {topic: (1, COMMITTED) for topic in TOPICS}
    assert state["status"] == jobs.FINISHED and state["embedding_batches"] == 0
    assert (summary["committed"], summary["failed"]) == (len(TOPICS), 0)
    assert billed["batches"] == 1 and billed["batch_tokens"] > 0 and billed["requests"] == 0
    assert (hit.doc_id, hit.chunk_index, hit.score) == (refs()[0].doc_id, 0, 1.0)


def test_edits_and_deletes_on_the_stream_lane_while_a_batch_waits_keep_their_versions(tmp_path):
    with batch_mode(tmp_path, "--batch-delay", "1") as (resources, _):
        job_id, _ = start(resources, refs(version=1))
        edited = DocRef.inline("kelp", b"# Kelp\n\nA newer text about kelp.", "kelp.md", 2)
        (newer,) = ingest_documents([edited], resources)  # the stream lane, online
        gone = delete_document("bread", 3, resources)
        polled(resources)
        final, found = held(resources), outcomes(resources, job_id)
        kelp = resources.store.chunks_of(resources.collection(), ["kelp", "bread"])
    assert (newer.status, gone.status) == (COMMITTED, DELETED)
    assert final["kelp"] == (2, COMMITTED) and final["bread"] == (3, DELETED)
    assert found["kelp"] == found["bread"] == SUPERSEDED
    assert [meta["version"] for _, meta in kelp["kelp"]] == [2]  # the edit's one chunk alone
    assert kelp.get("bread", []) == []


def test_unanswered_requests_are_sent_again_in_a_new_batch(tmp_path):
    with batch_mode(tmp_path, "--batch-fail-requests", "3") as (resources, url):
        job_id, _ = start(resources, refs())
        counts = polled(resources)
        billed = httpx.get(f"{url}/usage").json()
        statuses = set(outcomes(resources, job_id).values())
    assert counts["retried"] >= 1 and counts["failed"] == 0
    assert counts["committed"] == len(TOPICS) and statuses == {COMMITTED}
    assert billed["batches"] == 2


def test_failed_and_expired_batches_are_sent_again(tmp_path):
    with batch_mode(tmp_path, "--batch-fail-first", "1", "--batch-expire-first", "1") as (resources, url):
        job_id, _ = start(resources, refs())
        counts = polled(resources)
        statuses = set(outcomes(resources, job_id).values())
        sent = httpx.get(f"{url}/usage").json()["batches"]
    assert counts["committed"] == len(TOPICS) and statuses == {COMMITTED}
    assert sent == 2  # the expired one answered half, a third answered the rest (failed: no usage)


def test_past_its_retries_a_document_gets_a_failure_record_saying_why(tmp_path):
    with batch_mode(tmp_path, "--batch-fail-first", "5", batch_retries=1) as (resources, _):
        job_id, _ = start(resources, refs())
        counts = polled(resources)
        rows, _ = jobs.documents(resources.redis, job_id, count=100)
        state = jobs.progress(resources.redis, job_id)
    assert counts["failed"] == len(TOPICS) and held(resources) == {}
    assert {row["status"] for row in rows} == {FAILED}
    assert all("embedding-batch" in row["reason"] and "failed" in row["reason"] for row in rows)
    assert state["status"] == jobs.FINISHED


def test_a_group_sent_again_sends_no_second_batch(tmp_path):
    with batch_mode(tmp_path, "--batch-delay", "1") as (resources, url):
        job_id, _ = start(resources, refs())
        run = jobs.progress(resources.redis, job_id)["run"]
        embedding_batches.submit(refs(), resources, None, job_id, run, 0)  # a redelivered copy
        polled(resources)
        sent = httpx.get(f"{url}/usage").json()["batches"]
    assert sent == 1


def test_a_batch_the_service_lost_is_sent_again(tmp_path):
    port = free_port()
    with memory_resources(**settings_of(f"http://127.0.0.1:{port}")) as resources:
        with serving(tmp_path, "--batch-delay", "600", port=port):
            job_id, _ = start(resources, refs())
        # a restarted server forgets its batches: it knows none of them
        with serving(tmp_path, port=port):
            counts = polled(resources)
            statuses = set(outcomes(resources, job_id).values())
    assert counts["retried"] == len(TOPICS) and statuses == {COMMITTED}


def test_unchanged_text_needs_no_batch(tmp_path):
    with batch_mode(tmp_path) as (resources, url):
        start(resources, refs(version=1))
        polled(resources)
        job_id, now = start(resources, refs(version=2), group=1)
        sent = httpx.get(f"{url}/usage").json()["batches"]
        state = jobs.progress(resources.redis, job_id)
        still_open = embed_batches.open_ids(resources.redis, resources.settings.collection_prefix)
    assert {r.status for r in now} == {UNCHANGED} and len(now) == len(TOPICS)
    assert sent == 1 and still_open == []
    assert state["embedding_batches"] == 0 and state["done"] == len(TOPICS)
