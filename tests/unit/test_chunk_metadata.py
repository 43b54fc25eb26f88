"""The encoding a document was read in, carried from parsing to its chunks' metadata."""

import numpy as np

from ingest_tasks.bluegreen.copying import _prepared
from ingest_tasks.core.settings import Settings, get_settings
from ingest_tasks.pipeline.commit import chunk_records
from ingest_tasks.pipeline.documents import prepare
from ingest_tasks.pipeline.embed import get_embedder
from ingest_tasks.pipeline.sources import DocRef
from ingest_tasks.state.registry import COMMITTED, Entry
from tests.corpus import CORPUS_DIR

GERMAN = ("Die schöne Frau hat einen Kaffee mit Kuchen gegessen. Sie sagte: „Das war köstlich!“ "
          "und lächelte dabei. Der Preis betrug 15,50 €. Grüße aus München.\n")


def prepared(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    settings = Settings(source_roots=str(tmp_path))
    return prepare(DocRef(name, str(path)), get_embedder("all-MiniLM-L6-v2"), settings)


def metadata(doc) -> list[dict]:
    vectors = np.zeros((len(doc.chunks), 2), dtype=np.float32)
    return [record.metadata for record in chunk_records(doc, vectors, "m")]


def test_chunks_of_legacy_text_name_the_detected_encoding(tmp_path):
    doc = prepared(tmp_path, "notes.md", (GERMAN * 3).encode("cp1252"))
    assert doc.encoding == "cp1252"
    assert {meta["encoding"] for meta in metadata(doc)} == {"cp1252"}


def test_chunks_of_undeclared_windows_1252_html_name_it(tmp_path):
    doc = prepared(tmp_path, "page.html", f"<p>{GERMAN}</p>".encode("cp1252"))
    assert [meta["encoding"] for meta in metadata(doc)] == ["cp1252"]


def test_chunks_of_a_pdf_have_no_encoding_key(tmp_path):
    doc = prepared(tmp_path, "a.pdf", (CORPUS_DIR / "pypdf__crazyones.pdf").read_bytes())
    assert doc.encoding == "" and all("encoding" not in meta for meta in metadata(doc))


def test_a_copy_keeps_the_encoding_of_the_chunks_it_copies():
    rows = [("Grüße aus München.", {"doc_id": "d", "version": 2, "source": "/d.md",
                                     "chunk_index": 0, "content_hash": "h", "encoding": "cp1252"})]
    doc = _prepared("d", Entry(2, COMMITTED, "h", 1, 50), rows, get_embedder("all-MiniLM-L6-v2"),
                    get_settings())
    assert metadata(doc)[0]["encoding"] == "cp1252"


def test_a_copy_of_chunks_written_before_they_named_their_encoding_names_none():
    rows = [("Grüße aus München.", {"doc_id": "d", "version": 2, "source": "/d.md",
                                     "chunk_index": 0, "content_hash": "h"})]
    doc = _prepared("d", Entry(2, COMMITTED, "h", 1, 50), rows, get_embedder("all-MiniLM-L6-v2"),
                    get_settings())
    assert "encoding" not in metadata(doc)[0]
