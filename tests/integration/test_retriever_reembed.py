"""The LangChain retriever (langchain-core itself) keeps answering through a re-embed and its swap.

A live wordllama index is re-embedded with all-MiniLM-L6-v2 on the real stack, and swapped
in, while a thread asks an IngestRetriever the same question in a loop. Every answer must
come back, hold the document that answers it, and come from one collection with its own
model's query vector: the old one before the swap, the new one after.
"""

from __future__ import annotations

import threading
import time
import traceback

import pytest

from ingest_tasks.core.polling import poll_until
from ingest_tasks.interfaces.client import IngestClient
from tests.corpus import paragraphs
from tests.extras import require
from tests.integration.conftest import live_collection

require("langchain_core", "langchain")

from ingest_tasks.interfaces.langchain import IngestRetriever  # noqa: E402

OLD, NEW = "wordllama", "all-MiniLM-L6-v2"
DOCUMENTS = 40
EXPECTED = "ocelot.md"
OCELOTS = "Ocelots prowl the humid understory of the cloud forest at dusk. " * 8
QUERY = "where do ocelots prowl at dusk?"


@pytest.fixture
def live_wordllama(client, settings, tmp_path):
    """A live wordllama collection of a few dozen documents, one of them about ocelots."""
    with live_collection(client, settings, OLD) as start:
        folder = tmp_path / "docs"
        folder.mkdir()
        for n, text in enumerate(paragraphs(DOCUMENTS)):
            (folder / f"p{n:03}.md").write_text(text + "\n")
        (folder / EXPECTED).write_text("# Ocelots\n\n" + OCELOTS + "\n")
        summary = client.wait_job(client.submit_batch([folder]), timeout=600)["summary"]
        assert summary["committed"] == summary["total"] > DOCUMENTS // 2
        yield start


class Asking(threading.Thread):
    """Asks the retriever QUERY in a loop, noting when each answer was asked and what failed."""

    def __init__(self, retriever: IngestRetriever):
        super().__init__(daemon=True)
        self.retriever, self.stop = retriever, threading.Event()
        self.answers: list[tuple[float, list]] = []  # (asked at, Documents)
        self.errors: list[str] = []

    def run(self):
        while not self.stop.wait(0.05):
            asked = time.monotonic()
            try:
                self.answers.append((asked, self.retriever.invoke(QUERY)))
            except Exception:  # noqa: BLE001 - every failure is the finding
                self.errors.append(traceback.format_exc())

    def more(self, count: int, what: str) -> None:
        """Wait for `count` more answers (or a failure)."""
        have = len(self.answers)
        poll_until(lambda: len(self.answers) >= have + count or self.errors, 120, what)

    def end(self):
        self.stop.set()
        self.join(timeout=60)


def test_a_retriever_answers_every_query_through_a_reembed_and_follows_the_swap(client,
                                                                                live_wordllama):
    asking = Asking(IngestRetriever(client=IngestClient(client.settings), k=8))
    asking.start()
    try:
        asking.more(3, "answers before the build")
        build_started = time.monotonic()
        build = client.reembed(NEW)
        client.wait_job(build.job_id, timeout=600)
        swap_started = time.monotonic()
        swapped = client.swap()
        swap_ended = time.monotonic()
        asking.more(5, "answers after the swap")
    finally:
        asking.end()

    assert asking.errors == []
    old, new = live_wordllama.collection, swapped.live.collection
    assert swapped.live.model == NEW and new == build.target.collection != old
    for asked, documents in asking.answers:
        doc_ids = list(dict.fromkeys(d.metadata["doc_id"] for d in documents))
        assert EXPECTED in doc_ids[:3], (asked, doc_ids)
        # one collection per answer, searched with its own model's query vector
        found_in = {(d.metadata["collection"], d.metadata["model"]) for d in documents}
        assert found_in in ({(old, OLD)}, {(new, NEW)}), found_in
    during = [docs for asked, docs in asking.answers if build_started <= asked < swap_started]
    before = [docs for asked, docs in asking.answers if asked < swap_started]
    after = [docs for asked, docs in asking.answers if asked >= swap_ended]
    assert during, "no query ran while the build copied"
    assert all(docs[0].metadata["collection"] == old for docs in before)
    assert len(after) >= 5 and all(docs[0].metadata["collection"] == new for docs in after)
    print(f"\n{len(asking.answers)} answers, {len(during)} while the build copied, "
          f"swap {swap_ended - swap_started:.2f} s")
