"""The corpus (the whole shared one, else the bundled subset) through `ingest batch` on the
real stack."""

import json
import os
import random
import re
import subprocess
import sys

import pytest

from ingest_tasks.interfaces.cli.console import SOME_FAILED
from ingest_tasks.pipeline.retrieval import self_retrieval
from tests.corpus import CORPUS_DIR, manifest
from tests.integration.conftest import FAST, chunks_in_store, live_collection, worker_pids

# Specific reasons: a failure must say what is wrong, not just that something failed.
SPECIFIC = re.compile(r"^(empty|corrupt|encrypted|encoding|unsupported|source): .{12,}")


@pytest.fixture(scope="module")
def live(client, settings):
    """A live collection of WordLlama's for the module: parsing is under test here, and a
    static model embeds the corpus in seconds where MiniLM takes minutes on two cores."""
    with live_collection(client, settings, FAST) as target:
        yield target


@pytest.fixture(scope="module")
def corpus_job(stack, pool_pids, live):
    """Run `ingest batch CORPUS --json` as a user would; return its summary by document."""
    run = subprocess.run(
        [sys.executable, "-m", "ingest_tasks.interfaces.cli", "batch", str(CORPUS_DIR), "--json"],
        capture_output=True, text=True, timeout=900, env=os.environ, check=False,
    )
    assert run.returncode == SOME_FAILED, run.stderr[-3000:]  # the corpus holds bad files
    summary = json.loads(run.stdout)
    return summary, {doc["doc_id"]: doc for doc in summary["documents"]}


def test_every_file_gets_one_record(corpus_job):
    summary, docs = corpus_job
    files = {row["file"] for row in manifest()} | {MANIFEST}
    assert set(docs) == files
    assert summary["total"] == len(files)
    assert summary["committed"] + summary["failed"] == len(files)
    assert docs[MANIFEST]["status"] == "committed"


MANIFEST = "MANIFEST.tsv"  # the corpus's own list of files: a TSV, so a document too


# Marked valid, but a docx whose body holds no text at all: reported, not committed.
TRULY_EMPTY = {"pydocx__sty-having-no-styles-part.docx"}
# The encoding chunks record: the codec of a text file, no key for a PDF.
ENCODINGS = {
    "unstructured__fake-html-cp1252.html": "cp1252",  # undeclared: WHATWG's fallback
    "unstructured__fake-text-utf-16-le.txt": "utf-16-le",  # no BOM: its NULs tell
    "tika__testTXTNonASCIIUTF8.txt": "utf-8",
    "pypdf__crazyones.pdf": "",
}


def test_valid_files_are_committed(corpus_job):
    _, docs = corpus_job
    valid = {row["file"] for row in manifest() if row["expected_kind"] == "valid"}
    assert TRULY_EMPTY <= valid, "an exception names a file the manifest does not call valid"
    for row in manifest():
        doc = docs[row["file"]]
        if row["expected_kind"] != "valid":
            continue
        if row["file"] in TRULY_EMPTY:
            assert doc["status"] == "failed" and doc["reason"].startswith("empty: "), doc
        else:
            assert doc["status"] == "committed", (row["file"], doc["reason"])
            assert doc["chunks"] > 0 and doc["tokens"] > 0


def test_malformed_and_empty_files_fail_with_a_specific_reason(corpus_job):
    _, docs = corpus_job
    for row in manifest():
        doc = docs[row["file"]]
        if row["expected_kind"] in ("malformed", "empty"):
            assert doc["status"] == "failed", row["file"]
            assert SPECIFIC.match(doc["reason"]), (row["file"], doc["reason"])


def test_recoverable_files_are_committed_or_fail_with_an_encoding_reason(corpus_job, capsys):
    _, docs = corpus_job
    recoverable = [docs[row["file"]] for row in manifest() if row["expected_kind"] == "recoverable"]
    assert recoverable, "the manifest marks no file recoverable: nothing to count"
    committed = sorted(doc["doc_id"] for doc in recoverable if doc["status"] == "committed")
    with capsys.disabled():
        print(f"\n{len(recoverable)} recoverable corpus files, {len(committed)} committed "
              f"{committed}, {len(recoverable) - len(committed)} failed with a specific reason")
    for doc in recoverable:
        if doc["status"] != "committed":
            assert doc["status"] == "failed" and doc["reason"].startswith("encoding: "), doc
            assert SPECIFIC.match(doc["reason"]), doc


def test_chunks_name_the_encoding_of_their_text(corpus_job, client):
    name = client.resources.collection(client.resources.target(None))
    found = client.resources.store.chunks_of(name, list(ENCODINGS))
    named = {(meta["doc_id"], meta.get("encoding", "")) for rows in found.values()
             for _, meta in rows if meta["source"].startswith(str(CORPUS_DIR.resolve()))}
    assert named == set(ENCODINGS.items())


def test_chunks_carry_the_documents_structure(corpus_job, client):
    pdf, book, wiki = ("pypdf__GeoBase_NHNC1_Data_Model_UML_EN.pdf",
                       "rustbook__ch01-01-installation.md", "readability__wikipedia.html")
    name = client.resources.collection(client.resources.target(None))
    found = {doc_id: sorted((meta for _, meta in rows), key=lambda meta: meta["chunk_index"])
             for doc_id, rows in client.resources.store.chunks_of(name, [pdf, book, wiki]).items()}
    pages = [(meta["ingest_page_start"], meta["ingest_page_end"]) for meta in found[pdf]]
    assert pages[0][0] == 1 and pages[-1][1] == 19 and pages == sorted(pages)
    assert "Installation > Troubleshooting" in {meta.get("ingest_heading") for meta in found[book]}
    assert {meta["ingest_title"] for meta in found[wiki]} == {"Mozilla - Wikipedia"}
    hits = client.search("data model", 5, {"$and": [{"ingest_page_start": {"$gte": 10}},
                                                    {"doc_id": pdf}]})
    assert hits and all(hit.system["ingest_page_start"] >= 10 for hit in hits)


def test_store_holds_exactly_the_reported_chunks(corpus_job, client):
    _, docs = corpus_job
    reported = {doc_id: doc["chunks"] for doc_id, doc in docs.items() if doc["chunks"]}
    assert chunks_in_store(client, str(CORPUS_DIR.resolve())) == reported


def test_no_worker_restarted(corpus_job, pool_pids):
    assert worker_pids() == pool_pids


def test_job_summary_outlives_the_submitter(corpus_job):
    summary, _ = corpus_job
    run = subprocess.run(
        [sys.executable, "-m", "ingest_tasks.interfaces.cli", "status", summary["job_id"], "--json"],
        capture_output=True, text=True, timeout=120, env=os.environ, check=False,
    )
    assert run.returncode == SOME_FAILED, run.stderr  # as `ingest batch` said of the job
    assert json.loads(run.stdout)["committed"] == summary["committed"]


def test_self_retrieval_on_a_sample(corpus_job, client):
    _, docs = corpus_job
    committed = sorted(d for d, doc in docs.items() if doc["status"] == "committed")
    sample = random.Random(11).sample(committed, min(40, len(committed)))
    score = self_retrieval(client, {doc_id: CORPUS_DIR / doc_id for doc_id in sample})
    assert score.rate >= 0.95, score.misses
