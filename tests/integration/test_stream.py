"""The stream lane on the real stack: create, edit, delete, bad input."""

import json
import subprocess
import sys

import pytest

from ingest_tasks.core.polling import poll_until
from ingest_tasks.pipeline.retrieval import top_documents
from tests.corpus import CORPUS_DIR

WORDS = "Ocelots prowl the humid understory of the cloud forest at dusk. "


def test_submit_edit_delete(client, tmp_path):
    path = tmp_path / "ocelot.md"
    path.write_text("# Ocelots\n\n" + WORDS * 200)
    first = client.submit(path, doc_id="ocelot").wait(timeout=120)[0]
    assert first["status"] == "committed" and first["chunks"] > 3
    hits = client.search("where do ocelots prowl at dusk?", k=20)
    assert "ocelot" in top_documents(hits, 3)

    path.write_text("# Ocelots\n\n" + WORDS * 10)
    second = client.submit(path, doc_id="ocelot").wait(timeout=120)[0]
    assert second["chunks"] < first["chunks"]
    store, col = client.resources.store, client.resources.collection()
    assert store.count(col, "ocelot") == second["chunks"]  # the longer version's tail is gone

    assert client.delete("ocelot").get(timeout=120)["status"] == "deleted"
    assert store.count(col, "ocelot") == 0
    assert "ocelot" not in {hit.doc_id for hit in client.search("ocelots in the forest", k=5)}


@pytest.mark.parametrize("name, code", [
    ("MADE__pdflatex-outline_truncated50pct.pdf", "corrupt"),
    ("pypdf__crazyones-encrypted-256.pdf", "encrypted"),
    ("unicode-gutenberg__alice_cover.jpg.html", "corrupt"),
])
def test_bad_input_is_a_failure_record(client, name, code):
    result = client.submit(CORPUS_DIR / name).wait(timeout=120)[0]
    assert result["status"] == "failed"
    assert result["reason"].startswith(code + ": ")


def test_flower_lists_both_pools_behind_basic_auth(stack, settings):
    import httpx

    url = f"http://127.0.0.1:{settings.flower_port}/api/workers"
    assert httpx.get(url, timeout=10).status_code == 401
    user, password = settings.flower_basic_auth.split(":", 1)

    def pools() -> set[str]:  # a worker that answers Flower's refresh late is missing that time
        nodes = httpx.get(url, auth=(user, password), params={"refresh": 1}, timeout=30).json()
        return {node.split("@")[0] for node in nodes}

    poll_until(lambda: pools() >= {"stream", "bulk"}, 60, "Flower listing both pools")


def test_a_small_change_streams_and_a_large_upload_becomes_a_job(client, settings, tmp_path):
    small = [tmp_path / "one.md", tmp_path / "two.md"]
    for n, path in enumerate(small):
        path.write_text(f"# Change {n}\n\nA small edit to a manual about harbour cranes, part {n}.\n")
    handle = client.submit(*small)
    assert handle.lane == "stream" and len(handle.task_ids) == 2
    assert [r["status"] for r in handle.wait(timeout=120)] == ["committed", "committed"]

    upload = tmp_path / "upload"
    upload.mkdir()
    for n in range(settings.stream_max_docs + 1):
        (upload / f"page-{n}.md").write_text(f"# Page {n}\n\nPage {n} of an uploaded folder.\n")
    handle = client.submit(upload)
    assert handle.lane == "bulk"
    assert {r["status"] for r in handle.wait(timeout=300)} == {"committed"}


def test_content_submitted_inline_is_searchable_and_timed(client):
    text = "# Kelp\n\nGiant kelp grows up to half a metre a day in cold coastal water.\n"
    result = client.submit_content("kelp-note", text, "kelp.md").get(timeout=120)
    assert result["status"] == "committed"
    assert "kelp-note" in top_documents(client.search("fast growing seaweed", k=20), 3)
    run = subprocess.run([sys.executable, "-m", "ingest_tasks.interfaces.cli", "latency", "--lane", "stream",
                          "--json"], capture_output=True, text=True, timeout=60, check=True)
    (stream,) = json.loads(run.stdout)
    assert stream["samples"] >= 1 and 0 < stream["p50"] <= stream["p99"]
    assert 0.3 < sum(stream["share"].values()) <= 1.01  # the parts account for most of it
