"""An S3 prefix kept in sync through the real stack: moto's S3 server, both pools, Chroma."""

import os
import uuid

import pytest

from ingest_tasks.core.polling import poll_until
from ingest_tasks.core.settings import get_settings
from ingest_tasks.pipeline import s3
from ingest_tasks.sync.runner import SyncReport, sync
from ingest_tasks.sync.sources import Source
from tests.integration.conftest import FAST, chunks_in_store, finished, index_of, live_collection
from tests.integration.schedules import SEED, Model, apply_to_bucket, schedule
from tests.servers import ROOT, put_bucket

BUCKET = f"sync-{uuid.uuid4().hex[:8]}"
SOURCE = f"s3://{BUCKET}/docs"
SAMPLES = {"operations.docx", "retries.txt", "two-lanes.md", "vector-store.html"}
FINDS = {"Why the vector store runs as a server": "vector-store.html",
         "Operators watch both worker pools in Flower": "operations.docx",
         "A document that cannot be parsed becomes a failure record": "retries.txt",
         "The stream lane takes one new, edited or deleted document": "two-lanes.md"}
LIGHTHOUSE = b"# Lighthouses\n\nThe keeper trims the lamp's wick and winds the fog signal.\n"


@pytest.fixture(scope="module", autouse=True)
def s3_root(s3_server):
    """The bucket's docs/, an S3 root of the pools this module starts (set before they start:
    autouse fixtures come first in their scope)."""
    before = os.environ["INGEST_SOURCE_ROOTS"]
    os.environ["INGEST_SOURCE_ROOTS"] = os.pathsep.join([before, SOURCE])
    get_settings.cache_clear()
    yield SOURCE
    os.environ["INGEST_SOURCE_ROOTS"] = before
    get_settings.cache_clear()


def synced(client, source: Source) -> SyncReport:
    """Sync the source, and wait for its job and tombstones to be done."""
    report = sync(client.app, source)
    if report.job_id:
        summary = client.wait_job(report.job_id, timeout=300)["summary"]
        assert summary["failed"] == 0, summary["failures_by_reason"]
    for task in report.tasks:
        assert client.app.AsyncResult(task).get(timeout=120)["status"] == "deleted"
    return report


def test_an_s3_prefix_synced_again_after_a_delete_and_an_edit(client, settings):
    bucket = s3.client(settings)
    samples = {f"docs/{name}": (ROOT / "samples" / name).read_bytes() for name in SAMPLES}
    put_bucket(bucket, {**samples, "docs/.draft.md": "not a document",
                        "other/x.md": "beside the source"}, BUCKET)
    source = Source(SOURCE, SOURCE)

    first = synced(client, source)
    assert first.counts == {"new": 4, "changed": 0, "deleted": 0, "unchanged": 0}
    assert set(chunks_in_store(client, SOURCE)) == SAMPLES
    found = {text: client.search(text, k=1)[0] for text in FINDS}
    assert {text: (hit.doc_id, hit.source) for text, hit in found.items()} == {
        text: (name, f"{SOURCE}/{name}") for text, name in FINDS.items()}

    bucket.delete_object(Bucket=BUCKET, Key="docs/retries.txt")
    bucket.put_object(Bucket=BUCKET, Key="docs/two-lanes.md", Body=LIGHTHOUSE)
    second = synced(client, source)
    assert second.counts == {"new": 0, "changed": 1, "deleted": 1, "unchanged": 2}
    stored = chunks_in_store(client, SOURCE)
    assert (set(stored), stored["two-lanes.md"]) == (SAMPLES - {"retries.txt"}, 1)  # old pruned
    assert "retries.txt" not in {h.doc_id for h in client.search(
        "A document that cannot be parsed becomes a failure record", k=10)}
    hit = client.search("the keeper winds the fog signal", k=1)[0]
    assert hit.doc_id == "two-lanes.md" and "fog signal" in hit.text


def test_an_s3_prefix_synced_now_and_then_ends_as_the_bucket_after_a_random_schedule(
        client, settings):
    bucket, prefix = s3.client(settings), "docs/acceptance"
    source = Source("acceptance", f"s3://{BUCKET}/{prefix}", prefix="s3acc/")
    model = Model()
    with live_collection(client, settings, FAST):
        for number, op in enumerate(schedule(SEED)):
            apply_to_bucket(bucket, BUCKET, prefix, op)
            model.apply(op)
            if number % 40 == 39:  # syncs now and then, their jobs running while it changes
                sync(client.app, source, wait=60)
        finished(client, sync(client.app, source, wait=60))
        expected = model.expected("s3acc/")
        poll_until(lambda: index_of(client, "s3acc/") == expected, 180,
                   "the index did not come to equal the bucket", interval=0.5)
