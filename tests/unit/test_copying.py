"""A document's chunks as another model takes them, in a re-embedding build."""

from ingest_tasks.bluegreen.copying import _disagrees, _prepared
from ingest_tasks.core.settings import get_settings
from ingest_tasks.pipeline.embed import get_embedder
from ingest_tasks.state.registry import COMMITTED, Entry

WORDS = "Harbour cranes lift containers from the decks of ships at dawn. "


def rows(*texts: str, digest: str = "hash") -> list[tuple[str, dict]]:
    return [(text, {"doc_id": "d", "version": 2, "source": "/d.md", "chunk_index": n,
                    "content_hash": digest}) for n, text in enumerate(texts)]


def test_chunks_that_fit_the_new_window_are_kept_and_a_longer_one_is_cut_again():
    embedder, settings = get_embedder("all-MiniLM-L6-v2"), get_settings()
    short, long = "A short first chunk.", WORDS * 40
    entry = Entry(3, COMMITTED, "hash", 2, 100)

    doc = _prepared("d", entry, rows(short, long), embedder, settings)

    assert doc.chunks[0].text == short and len(doc.chunks) > 2
    assert [c.index for c in doc.chunks] == list(range(len(doc.chunks)))
    assert all(c.tokens <= settings.chunk_tokens for c in doc.chunks)
    assert doc.chunks[-1].text.endswith("at dawn.")
    assert (doc.ref.version, doc.ref.size, doc.digest) == (3, 100, "hash")


def test_chunks_that_do_not_make_up_the_registered_text_are_named():
    entry = Entry(3, COMMITTED, "hash", 2, 100)
    assert _disagrees(entry, rows("a", "b")) == ""  # written at version 2, same text at 3
    assert "1 chunks" in _disagrees(entry, rows("a"))
    assert "texts ['older']" in _disagrees(entry, rows("a", "b", digest="older"))
