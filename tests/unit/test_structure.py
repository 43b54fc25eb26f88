"""A document's structure (title, headings, PDF pages) kept from parsing to chunk metadata."""

import io
import re

import docx
import numpy as np
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from ingest_tasks.bluegreen.copying import _prepared as copied
from ingest_tasks.core.settings import Settings
from ingest_tasks.lanes.embedding_batches import _doc_data, _prepared
from ingest_tasks.pipeline.commit import chunk_records
from ingest_tasks.pipeline.documents import prepare
from ingest_tasks.pipeline.embed import get_embedder
from ingest_tasks.pipeline.parse import parse
from ingest_tasks.pipeline.parse.parsed import Heading, Parsed
from ingest_tasks.pipeline.sources import DocRef
from ingest_tasks.state.registry import COMMITTED, Entry
from ingest_tasks.store.base import caller_metadata
from ingest_tasks.store.where import check_where, matches

SENTENCES = ("Glaciers carve valleys over many thousands of years. "
             "Meltwater feeds the rivers below in every summer season. ")


def text_pdf(pages: list[list[str]], title: str = "") -> bytes:
    """A PDF of the given pages, each a list of lines in Helvetica."""
    writer = PdfWriter()
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"),
                             NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    for lines in pages:
        page = writer.add_blank_page(612, 792)
        shows = " ".join(f"({line}) Tj 0 -14 Td" for line in lines)
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 10 Tf 40 750 Td {shows} ET".encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject(
            {NameObject("/F1"): font})})
    if title:
        writer.add_metadata({"/Title": title})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def styled_docx() -> bytes:
    """A .docx of a Title, two Heading 1 sections, and a Heading 2 inside the first."""
    document = docx.Document()
    document.add_paragraph("The Glacier Report", style="Title")
    document.add_heading("Causes", 1)
    document.add_paragraph(SENTENCES * 3)
    document.add_heading("Meltwater", 2)
    document.add_paragraph(SENTENCES * 3)
    document.add_heading("Effects", 1)
    document.add_paragraph(SENTENCES * 3)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


HTML = f"""<html><head><title>Glaciers of the Alps</title></head><body>
<nav>Home</nav><h1>Glaciers</h1><p>{SENTENCES}</p>
<h2>Causes</h2><p>{SENTENCES * 3}</p><h3>Ice <em>flow</em></h3><p>{SENTENCES * 3}</p>
<h2></h2><h2>Effects</h2><p>{SENTENCES * 3}</p></body></html>""".encode()

MARKDOWN = f"""# Field guide

{SENTENCES}

## Causes ##

{SENTENCES * 3}

```sh
# not a heading
```

Meltwater
---------

{SENTENCES * 3}

Effects
=======

{SENTENCES * 3}""".encode()


def prepared(tmp_path, name: str, data: bytes, tokens: int = 40):
    """The document prepared for its vectors, in chunks of `tokens` tokens."""
    path = tmp_path / name
    path.write_bytes(data)
    settings = Settings(source_roots=str(tmp_path), chunk_tokens=tokens, chunk_overlap=4)
    return prepare(DocRef(name, str(path)), get_embedder("all-MiniLM-L6-v2"), settings)


def metadata(doc) -> list[dict]:
    """The chunk metadata its records carry."""
    vectors = np.zeros((len(doc.chunks), 2), dtype=np.float32)
    return [record.metadata for record in chunk_records(doc, vectors, "m")]


def where(metas: list[dict], filter_: dict) -> list[int]:
    """The chunk indexes whose metadata passes the filter."""
    return [meta["chunk_index"] for meta in metas if matches(meta, check_where(filter_))]


def test_pdf_pages_are_where_each_page_starts():
    parsed = parse(text_pdf([["Page one."], [], ["Page three."]], "Ice"), "a.pdf")
    assert parsed.title == "Ice" and parsed.text == "Page one.\n\nPage three."
    assert parsed.pages == (0, 11, 11)  # the empty second page starts where the third does
    assert parsed.page_range(0, 9) == (1, 1) and parsed.page_range(5, 14) == (1, 3)


def test_pdf_chunks_carry_their_page_range(tmp_path):
    pages = [[f"Page {n} line {i}: {SENTENCES[:50]}" for i in range(4)] for n in (1, 2, 3)]
    doc = prepared(tmp_path, "ice.pdf", text_pdf(pages, "Glacier atlas"))
    metas = metadata(doc)
    assert {meta["ingest_title"] for meta in metas} == {"Glacier atlas"}
    for chunk, meta in zip(doc.chunks, metas):
        numbers = [int(n) for n in re.findall(r"Page (\d)", chunk.text)]
        assert meta["ingest_page_start"] <= min(numbers, default=meta["ingest_page_end"])
        assert max(numbers, default=0) <= meta["ingest_page_end"]
    assert metas[0]["ingest_page_start"] == 1 and metas[-1]["ingest_page_end"] == 3
    on_two = where(metas, {"$and": [{"ingest_page_start": {"$lte": 2}},
                                    {"ingest_page_end": {"$gte": 2}}]})
    assert on_two and all("Page 2" in doc.chunks[i].text or "Page 1" in doc.chunks[i].text
                          for i in on_two)
    assert "ingest_heading" not in metas[0]


def test_docx_chunks_carry_title_and_heading_path(tmp_path):
    parsed = parse(styled_docx(), "report.docx")
    assert parsed.title == "The Glacier Report"
    assert [(h.level, h.text) for h in parsed.headings] == [(1, "Causes"), (2, "Meltwater"),
                                                            (1, "Effects")]
    assert all(parsed.text.startswith(h.text, h.start) for h in parsed.headings)
    metas = metadata(prepared(tmp_path, "report.docx", styled_docx()))
    assert {meta["ingest_title"] for meta in metas} == {"The Glacier Report"}
    paths = [meta.get("ingest_heading") for meta in metas]
    assert paths[0] is None  # the title comes before any heading
    assert "Causes > Meltwater" in paths and paths[-1] == "Effects"
    assert paths.index("Causes") < paths.index("Causes > Meltwater") < paths.index("Effects")
    assert where(metas, {"ingest_section": "Meltwater"}) == [
        i for i, path in enumerate(paths) if path == "Causes > Meltwater"]


def test_docx_outline_levels_and_styles_based_on_headings_count():
    document = docx.Document()
    custom = document.styles.add_style("Chapter", 1)
    custom.base_style = document.styles["Heading 1"]
    document.add_paragraph("One", style="Chapter")
    outlined = document.add_paragraph("Two")
    outline = outlined._p.get_or_add_pPr().makeelement(docx.oxml.ns.qn("w:outlineLvl"),
                                                         {docx.oxml.ns.qn("w:val"): "2"})
    outlined._p.get_or_add_pPr().append(outline)
    document.add_paragraph("Body text.")
    buffer = io.BytesIO()
    document.save(buffer)
    parsed = parse(buffer.getvalue(), "a.docx")
    assert [(h.level, h.text) for h in parsed.headings] == [(1, "One"), (3, "Two")]
    assert parsed.heading_path(len(parsed.text) - 1) == ("One", "Two")


def test_html_chunks_carry_title_and_heading_path(tmp_path):
    parsed = parse(HTML, "page.html")
    assert parsed.title == "Glaciers of the Alps"
    assert [(h.level, h.text) for h in parsed.headings] == [
        (1, "Glaciers"), (2, "Causes"), (3, "Ice flow"), (2, "Effects")]
    assert all(parsed.text.startswith(h.text, h.start) for h in parsed.headings)
    metas = metadata(prepared(tmp_path, "page.html", HTML))
    paths = [meta.get("ingest_heading") for meta in metas]
    assert "Glaciers > Causes > Ice flow" in paths and paths[-1] == "Glaciers > Effects"
    assert all(meta["ingest_title"] == "Glaciers of the Alps" for meta in metas)


def test_html_without_a_title_takes_its_first_h1():
    assert parse(b"<h2>Aside</h2><h1>Main</h1><p>Text.</p>", "a.html").title == "Main"


def test_markdown_headings_outside_code_and_title(tmp_path):
    parsed = parse(MARKDOWN, "guide.md")
    assert parsed.title == "Field guide"
    assert [(h.level, h.text) for h in parsed.headings] == [
        (1, "Field guide"), (2, "Causes"), (2, "Meltwater"), (1, "Effects")]
    metas = metadata(prepared(tmp_path, "guide.md", MARKDOWN))
    assert "Field guide > Causes" in [meta.get("ingest_heading") for meta in metas]
    assert metas[-1]["ingest_heading"] == "Effects"
    assert where(metas, {"ingest_title": "Field guide"}) == list(range(len(metas)))


def test_plain_text_has_no_structure(tmp_path):
    assert parse(b"# not markdown\n\ntext", "a.txt") == Parsed("# not markdown\n\ntext", "utf-8")
    meta = metadata(prepared(tmp_path, "a.txt", b"# not markdown\n\ntext"))[0]
    assert not {key for key in meta if key.startswith("ingest_")}


def test_the_heading_path_is_of_the_headings_above_the_offset():
    parsed = Parsed("x" * 100, headings=(Heading(0, 1, "A"), Heading(10, 2, "B"),
                                         Heading(20, 3, "C"), Heading(30, 2, "D"),
                                         Heading(40, 1, "E")))
    assert [parsed.heading_path(at) for at in (0, 15, 25, 35, 45)] == [
        ("A",), ("A", "B"), ("A", "B", "C"), ("A", "D"), ("E",)]


def test_structure_fields_are_the_systems_not_the_callers(tmp_path):
    metas = metadata(prepared(tmp_path, "report.docx", styled_docx()))
    assert all(not {key for key in caller_metadata(meta)} for meta in metas)


def test_a_waiting_batch_and_a_copy_keep_the_structure(tmp_path):
    doc = prepared(tmp_path, "report.docx", styled_docx())
    assert metadata(_prepared(_doc_data(doc))) == metadata(doc)
    rows = [(chunk.text, meta) for chunk, meta in zip(doc.chunks, metadata(doc))]
    copy = copied("report.docx", Entry(0, COMMITTED, doc.digest, len(rows), 0), rows,
                  get_embedder("all-MiniLM-L6-v2"), Settings(chunk_tokens=200))
    assert {(m.get("ingest_heading"), m["ingest_title"]) for m in metadata(copy)} == {
        (m.get("ingest_heading"), m["ingest_title"]) for m in metadata(doc)}
