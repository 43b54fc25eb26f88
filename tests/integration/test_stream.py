"""The stream lane on the real stack: create, edit, delete, bad input."""

import pytest

from ingest_tasks.retrieval import top_documents
from tests.corpus import CORPUS_DIR

WORDS = "Ocelots prowl the humid understory of the cloud forest at dusk. "


def test_submit_edit_delete(client, tmp_path):
    path = tmp_path / "ocelot.md"
    path.write_text("# Ocelots\n\n" + WORDS * 200)
    first = client.submit(path, doc_id="ocelot").get(timeout=120)
    assert first["status"] == "committed" and first["chunks"] > 3
    hits = client.search("wild cats hunting in the cloud forest", k=20)
    assert "ocelot" in top_documents(hits, 3)

    path.write_text("# Ocelots\n\n" + WORDS * 10)
    second = client.submit(path, doc_id="ocelot").get(timeout=120)
    assert second["chunks"] < first["chunks"]
    store, embedder = client.resources.store, client.resources.embedder()
    col = store.collection(embedder.name, embedder.dim)
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
    result = client.submit(CORPUS_DIR / name).get(timeout=120)
    assert result["status"] == "failed"
    assert result["reason"].startswith(code + ": ")


def test_flower_lists_both_pools_behind_basic_auth(stack, settings):
    import httpx

    url = f"http://127.0.0.1:{settings.flower_port}/api/workers"
    assert httpx.get(url, timeout=10).status_code == 401
    user, password = settings.flower_basic_auth.split(":", 1)
    nodes = httpx.get(url, auth=(user, password), params={"refresh": 1}, timeout=30).json()
    assert {node.split("@")[0] for node in nodes} >= {"stream", "bulk"}
