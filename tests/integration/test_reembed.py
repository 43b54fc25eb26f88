"""Blue-green re-embedding on the real stack, with queries and stream writes running throughout.

A live wordllama index of a few hundred documents is re-embedded with the default model
by `ingest reembed` while one thread searches and another streams updates and deletes;
then `ingest rollback` brings the wordllama collection back the same way. After each
swap, every document must be in the live collection at its latest version, embedded by
its model, and every deleted one absent; no query may fail or come back empty.

A model of the embedding service known by a name of its own (the bundled server serving
wordllama as my-e5) is re-embedded into and out of, and written and searched through both
lanes while it is live.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from urllib.parse import urlparse

import pytest

from ingest_tasks.core.polling import poll_until
from ingest_tasks.interfaces.client import IngestClient
from ingest_tasks.state import registry
from ingest_tasks.state.clock import next_versions
from tests.corpus import paragraphs
from tests.integration.conftest import live_collection
from tests.servers import serving

OLD, NEW = "wordllama", "all-MiniLM-L6-v2"
DOCUMENTS = 300
OWN = "api:my-e5"  # a name the bundled server gives wordllama: a model of the service's own
QUERIES = ("how to install the package", "error handling and retries", "license terms",
           "configuration options", "the history of the project")


@dataclass
class Expected:
    """What the index must hold at the end: each document's latest version and text, or deleted."""

    versions: dict[str, int] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)


class Load(threading.Thread):
    """Runs `step` every `interval` seconds until stopped, counting what it does and what fails."""

    def __init__(self, step, interval: float):
        super().__init__(daemon=True)
        self.step, self.interval = step, interval
        self.stop, self.done, self.errors = threading.Event(), 0, []

    def run(self):
        while not self.stop.wait(self.interval):
            try:
                self.step()
                self.done += 1
            except Exception:  # noqa: BLE001 - every failure is the finding
                self.errors.append(traceback.format_exc())

    def end(self):
        self.stop.set()
        self.join(timeout=120)


@pytest.fixture
def live_wordllama(client, settings, tmp_path):
    """A live wordllama collection holding a few hundred documents; the default one after."""
    with live_collection(client, settings, OLD):
        folder = tmp_path / "docs"
        folder.mkdir()
        texts = paragraphs(DOCUMENTS)
        for n, text in enumerate(texts):
            (folder / f"p{n:03}.md").write_text(text + "\n")
        summary = client.wait_job(client.submit_batch([folder]), timeout=600)["summary"]
        assert summary["committed"] == len(texts) >= 200
        yield {f"p{n:03}.md": text for n, text in enumerate(texts)}


def writer(client, texts: dict[str, str], expected: Expected, rng: random.Random):
    """One stream write: an edit of a live document, every fifth a delete while over half remain."""
    redis, writes = client.resources.redis, iter(range(10**9))

    def step():
        doc_id = rng.choice(sorted(set(texts) - expected.deleted))
        version = next_versions(redis)[0]
        if next(writes) % 5 == 4 and len(expected.deleted) < len(texts) // 2:
            result = client.delete(doc_id, version).get(timeout=120)
            assert result["status"] == "deleted", result
            expected.deleted.add(doc_id)
        else:
            text = f"{texts[doc_id]} Revision {version}."
            result = client.submit_content(doc_id, text, doc_id, version).get(timeout=120)
            assert result["status"] == "committed", result
            expected.texts[doc_id] = text
        expected.versions[doc_id] = version

    return step


def searcher(client, empty: list):
    rng = random.Random(1)

    def step():
        if not client.search(rng.choice(QUERIES), k=5):
            empty.append(time.time())

    return step


def ingest(*args: str) -> dict:
    """Run the `ingest` command; its JSON output."""
    done = subprocess.run([sys.executable, "-m", "ingest_tasks.interfaces.cli", *args, "--json"],
                          check=False, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def while_loaded(client, texts, expected, command: list[str]) -> tuple[dict, Load, Load, list]:
    """Run an `ingest` command while a writer and a searcher run; both go on a while after."""
    empty: list = []
    writes = Load(writer(IngestClient(client.settings), texts, expected,
                         random.Random(len(expected.versions))), interval=0.2)
    reads = Load(searcher(IngestClient(client.settings), empty), interval=0.1)
    writes.start()
    reads.start()
    try:
        output = ingest(*command)
        after = writes.done
        poll_until(lambda: writes.done >= after + 5 or writes.errors, 120, "writes after the swap")
    finally:
        writes.end()
        reads.end()
    return output, writes, reads, empty


def assert_index_holds(client, texts, expected: Expected, model: str) -> None:
    """Every document at its latest version and text, embedded by `model`; deleted ones gone."""
    target = client.resources.target()
    assert target.model == model
    col = client.resources.collection(target)
    chunks = client.resources.store.chunks_of(col, sorted(texts))
    held = registry.get_many(client.resources.redis, target.collection, sorted(texts))
    for doc_id, text in texts.items():
        if doc_id in expected.deleted:
            assert doc_id not in chunks, doc_id
            assert held[doc_id].state == "deleted"
            continue
        rows = chunks[doc_id]
        version = expected.versions.get(doc_id)
        assert {meta["model"] for _, meta in rows} == {model}, doc_id
        assert len(rows) == held[doc_id].chunks, doc_id
        if version is not None:
            assert {meta["version"] for _, meta in rows} == {version}, doc_id
            assert held[doc_id].version == version
        assert expected.texts.get(doc_id, text).split()[-1] in rows[-1][0], doc_id


def test_reembed_then_rollback_under_queries_and_stream_writes(client, live_wordllama):
    texts, expected = live_wordllama, Expected()

    swapped, writes, reads, empty = while_loaded(client, texts, expected, ["reembed", "--model", NEW])

    prefix = client.settings.collection_prefix
    assert swapped["live"].startswith(f"{prefix}-all-MiniLM-L6-v2-") and swapped["model"] == NEW
    assert swapped["check"]["ok"] and swapped["check"]["retrieval_rate"] >= 0.8
    assert swapped["documents"] == len(texts) and swapped["failed"] == 0
    assert writes.errors == [] and writes.done >= 10
    assert reads.errors == [] and empty == [] and reads.done > 0
    assert expected.deleted, "the writer deleted documents during the build"
    assert_index_holds(client, texts, expected, NEW)
    status = ingest("status")
    assert status["live"]["collection"] == swapped["live"] and status["build"]["status"] == "swapped"
    assert [kept["collection"] for kept in status["previous"]] == [swapped["previous"]]
    print(f"\nre-embed: {swapped['chunks_per_second']} chunks/s, writers paused "
          f"{swapped['writers_paused_seconds']} s (bulk {swapped['bulk_writers_paused_seconds']} s)")

    rolled, writes, reads, empty = while_loaded(client, texts, expected, ["rollback"])

    assert rolled["model"] == OLD and rolled["previous"] == swapped["live"]
    assert rolled["check"]["ok"]
    assert writes.errors == [] and reads.errors == [] and empty == []
    assert_index_holds(client, texts, expected, OLD)
    print(f"rollback: {rolled['caught_up']} + {rolled['replayed']} documents caught up, "
          f"writers paused {rolled['writers_paused_seconds']} s")


def write_folder(folder, texts: dict[str, str]) -> None:
    """The documents in a new folder, one file each, named by their doc ids."""
    folder.mkdir()
    for doc_id, text in texts.items():
        (folder / doc_id).write_text(text + "\n")


def test_reembed_into_a_model_of_the_services_own_and_back(client, settings, tmp_path):
    texts = {f"q{n:02}.md": text for n, text in enumerate(paragraphs(30))}
    more = {f"r{n:02}.md": text for n, text in enumerate(paragraphs(34)[30:])}
    owls = "# Owls\n\nBarn owls hunt voles over rough grassland by sound alone at night."
    port = urlparse(settings.embedding_api_url).port  # the pools' embedding service
    with (live_collection(client, settings, OLD),
          serving(tmp_path, "--model", "my-e5=wordllama", port=port)):
        write_folder(tmp_path / "docs", texts)
        summary = client.wait_job(client.submit_batch([tmp_path / "docs"]), timeout=300)["summary"]
        assert summary["committed"] == len(texts)

        into = ingest("reembed", "--model", OWN)

        assert into["model"] == OWN and into["check"]["ok"] and into["failed"] == 0
        assert into["documents"] == len(texts)
        assert_index_holds(client, texts, Expected(), OWN)
        write_folder(tmp_path / "more", more)  # both lanes write into the service's model
        summary = client.wait_job(client.submit_batch([tmp_path / "more"]), timeout=300)["summary"]
        assert summary["committed"] == len(more)
        assert client.submit_content("owls.md", owls, "owls.md").get(timeout=120)["status"] == \
            "committed"
        (hit,) = client.search("which birds hunt voles at night?", k=1)
        assert (hit.doc_id, hit.collection, hit.system["model"]) == ("owls.md", into["live"], OWN)
        texts |= more | {"owls.md": owls}
        assert_index_holds(client, texts, Expected(), OWN)

        back = ingest("reembed", "--model", OLD)

        assert back["model"] == OLD and back["check"]["ok"] and back["failed"] == 0
        assert back["documents"] == len(texts) and back["previous"] == into["live"]
        assert_index_holds(client, texts, Expected(), OLD)
