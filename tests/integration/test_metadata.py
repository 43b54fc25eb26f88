"""A caller's metadata on the real stack: both lanes, `where` in the client and the CLI,
metadata alone changed, and a re-embedding build and swap that keep it.

The live collection starts as wordllama (fast to fill) and is re-embedded with MiniLM, as
in test_reembed, with a handful of documents of distinct topics.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.integration.conftest import live_collection
from tests.tasks.in_memory import text

OLD, NEW = "wordllama", "all-MiniLM-L6-v2"
BULK, STREAM = ("cranes", "kelp", "glaciers"), ("ocelots", "violins", "bread")
BULK_META = {"lane": "bulk", "year": 2023, "draft": False}
STREAM_META = {"lane": "stream", "year": 2024, "draft": True, "score": 0.5}


@pytest.fixture
def live_wordllama(client, settings):
    """A live wordllama collection of this test's own; every collection it led to dropped after."""
    with live_collection(client, settings, OLD) as start:
        yield start


def found(client, where) -> dict[str, dict]:
    """Each document among the hits of a broad query within `where`, with its metadata."""
    return {hit.doc_id: hit.metadata for hit in client.search("nature and work", 50, where)}


def assert_filters(client) -> None:
    """The searches every part of the test must answer alike."""
    bulk, stream = {f"{t}.md" for t in BULK}, {f"{t}.md" for t in STREAM}
    assert found(client, {"lane": "bulk"}) == dict.fromkeys(bulk, BULK_META)
    assert found(client, {"$and": [{"year": {"$gte": 2024}}, {"draft": True}]}) == \
        dict.fromkeys(stream, STREAM_META)
    assert set(found(client, {"$or": [{"score": {"$gt": 0.1}}, {"doc_id": "kelp.md"}]})) == \
        stream | {"kelp.md"}
    assert found(client, {"lane": {"$nin": ["bulk", "stream"]}}) == {}


def ingest_cli(*args: str) -> object:
    """Run the `ingest` command; its JSON output."""
    done = subprocess.run([sys.executable, "-m", "ingest_tasks.interfaces.cli", *args, "--json"],
                          check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_metadata_through_both_lanes_search_and_a_reembedding(client, live_wordllama, tmp_path):
    folders = {lane: tmp_path / lane for lane in ("bulk", "stream")}
    for lane, topics in (("bulk", BULK), ("stream", STREAM)):
        folders[lane].mkdir()
        for topic in topics:
            (folders[lane] / f"{topic}.md").write_text(text(topic, 6))

    job = client.submit_batch([folders["bulk"]], metadata=BULK_META)
    assert client.wait_job(job, timeout=300)["summary"]["committed"] == len(BULK)
    handle = client.submit(*sorted(folders["stream"].iterdir()), metadata=STREAM_META)
    assert handle.lane == "stream"
    assert {r["status"] for r in handle.wait(timeout=120)} == {"committed"}
    assert_filters(client)
    hits = ingest_cli("search", "kelp forests", "--where", '{"lane": "stream"}')
    assert hits and all(hit["metadata"] == STREAM_META for hit in hits)

    resumed = client.resume(job)  # with the job's own metadata: nothing to do
    assert client.wait_job(resumed, timeout=300)["summary"]["unchanged"] == len(BULK)
    newer = {**BULK_META, "year": 2025}
    again = client.submit_batch([folders["bulk"]], metadata=newer)  # same files, new metadata
    assert client.wait_job(again, timeout=300)["summary"]["committed"] == len(BULK)
    assert set(found(client, {"year": 2025})) == {f"{t}.md" for t in BULK}
    job = client.submit_batch([folders["bulk"]], metadata=BULK_META)
    assert client.wait_job(job, timeout=300)["summary"]["committed"] == len(BULK)

    build = client.reembed(NEW)
    assert client.wait_job(build.job_id, timeout=300)["summary"]["failed"] == 0
    swapped = client.swap()

    assert swapped.check["ok"] and client.resources.target().model == NEW
    assert_filters(client)
