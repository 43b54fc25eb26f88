"""Parsing: every corpus file gives text or a specific ParseError; synthetic edge cases."""

from __future__ import annotations

import codecs
import io
import random
import re
import zipfile

import docx
import pytest
from pypdf import PdfReader, PdfWriter

from ingest_tasks.core.errors import (
    CorruptDocument,
    EmptyDocument,
    EncodingError,
    EncryptedDocument,
    ParseError,
    UnsupportedFormat,
)
from ingest_tasks.pipeline.parse import Parsed, parse
from tests.corpus import CORPUS_DIR, manifest
from tests.hostile import files

# Every malformed and empty corpus file, and the valid ones that hold no text: error and reason.
FAILS = {
    "MADE__handbook-1p_truncated50pct.docx": (
        CorruptDocument,
        r"^truncated zip: central directory",
    ),
    "MADE__zero-bytes.docx": (EmptyDocument, r"^zero-byte file$"),
    "docxtemplater__simple-zip.zip.docx": (
        CorruptDocument,
        r"^zip archive is not a \.docx \(no word/document\.xml; it holds world\.txt, xxx\.log\)",
    ),
    "mammoth__empty.docx": (EmptyDocument, r"^no text in body, .* notes or comments$"),
    # valid per the manifest, but its body is one empty paragraph and it has no other parts
    "pydocx__sty-having-no-styles-part.docx": (EmptyDocument, r"^no text in body"),
    "unicode-gutenberg__alice_cover.jpg.html": (
        CorruptDocument,
        r"^bytes are a JPEG image, not HTML$",
    ),
    "MADE__zero-bytes.html": (EmptyDocument, r"^zero-byte file$"),
    "tika__file10_permahang.txt": (EmptyDocument, r"^zero-byte file$"),
    "unstructured__fake-text-all-whitespace.txt": (EmptyDocument, r"^only whitespace \(3 bytes\)$"),
    "pypdf__crazyones-encrypted-256.pdf": (
        EncryptedDocument,
        r"^PDF is encrypted \(AES-256\) and no password was given$",
    ),
    "MADE__pdflatex-outline_truncated50pct.pdf": (
        CorruptDocument,
        r"^truncated PDF \(no %EOF at the end\): PdfStreamError",
    ),
}
# Files whose whole text we know, among them two that python-docx alone reads wrong.
TEXTS = {
    # a UTF-16LE BOM, and "unicode" is a WHATWG label of UTF-16LE
    "tika__testHTML_charset_utf16le.html": "Title\n\nThis is a sample text",
    # UTF-16LE without a BOM: its NULs say so
    "unstructured__fake-text-utf-16-le.txt": "This is a test document to use for unit tests.\n\n"
    "    Doylestown, PA 18901\n\n    Important points:\n\n       - Hamburgers are delicious\n"
    "       - Dogs are the best\n       - I love fuzzy blankets",
    "mammoth__text-box.docx": "Datum plane",  # only inside a text box (w:txbxContent)
    "mammoth__strict-format.docx": "Test",  # ISO Strict namespaces: python-docx raises KeyError
    "mammoth__utf8-bom.docx": "This XML has a byte order mark.",
    "readability__005-unescape-html-entities.html": "Test",
}
# Recoverable per the manifest: a good parser reads the text, a specific EncodingError will do.
# Each: a passage of the text, and the reason of the error.
RECOVERABLE = {
    "tika__testArabicMisleadingCharset.html": (
        "رجل حكيم يعرف كل شيء عن الحياة",  # windows-1256 under a UTF-8 declaration
        r"^declared charset UTF-8 does not decode: invalid byte 0xdd at offset 127$",
    ),
    "tika__testTXT_win-1252.txt": (
        "the trigger for CharsetRecog_sbcs to think this is a “windows” encoding",
        r"^not valid UTF-8 \(byte 0x93 at offset 76\) and no encoding detected with confidence",
    ),
    "unstructured__umlauts-non-utf8.md": (  # 24 bytes of latin-1: too few to tell
        "## können\n\nkönnen\n\näöüß",
        r"^not valid UTF-8 \(byte 0xf6 at offset 4\) and no encoding detected with confidence "
        r">= 0\.10 \(best guess \S+ at 0\.0\d\); set INGEST_LEGACY_ENCODING",
    ),
}
# The codec each file is decoded with, as chunk metadata records it; none for .docx and PDF.
ENCODINGS = {
    "unstructured__fake-html-cp1252.html": "cp1252",  # no charset declared: WHATWG's fallback
    "unstructured__fake-text-utf-16-le.txt": "utf-16-le",
    "tika__testHTML_charset_utf16le.html": "utf-16-le",
    "tika__testTXTNonASCIIUTF8.txt": "utf-8",
    "pypdf__crazyones.pdf": "",
    "mammoth__text-box.docx": "",
}
ROWS = manifest()


def corpus_text(name: str, **options) -> str:
    return parse((CORPUS_DIR / name).read_bytes(), name, **options).text


@pytest.fixture(scope="module")
def parsed() -> dict[str, object]:
    """Parse the whole corpus once: file -> its Parsed, or the exception it raised.
    (How fast: scripts/bench_parse.py.)"""
    outcomes = {}
    for row in ROWS:
        data = (CORPUS_DIR / row["file"]).read_bytes()
        try:
            result: object = parse(data, row["file"])
        except Exception as exc:  # noqa: BLE001 - a raw exception is a test failure below
            result = exc
        outcomes[row["file"]] = result
    return outcomes


def test_expectations_name_corpus_files():
    named = set(FAILS) | set(TEXTS) | set(RECOVERABLE) | set(ENCODINGS)
    assert named <= {row["file"] for row in ROWS}
    assert set(RECOVERABLE) == {r["file"] for r in ROWS if r["expected_kind"] == "recoverable"}


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row["file"])
def test_corpus_file(row, parsed):
    name, result = row["file"], parsed[row["file"]]
    if name in FAILS:
        error, reason = FAILS[name]
        assert type(result) is error, result
        assert re.search(reason, str(result)), str(result)
    elif name in RECOVERABLE:
        passage, reason = RECOVERABLE[name]
        if isinstance(result, Parsed):
            assert passage in result.text, result
        else:
            assert type(result) is EncodingError and re.search(reason, str(result)), result
    elif name in TEXTS:
        assert isinstance(result, Parsed) and result.text == TEXTS[name], result
    else:
        assert row["expected_kind"] == "valid", f"add an expectation for {name}"
        assert isinstance(result, Parsed) and result.text.strip(), result


def test_recoverable_files_are_counted(parsed, capsys):
    outcomes = {name: parsed[name] for name in RECOVERABLE}
    recovered = sorted(name for name, result in outcomes.items() if isinstance(result, Parsed))
    refused = sorted(name for name, result in outcomes.items() if type(result) is EncodingError)
    with capsys.disabled():
        print(f"\n{len(outcomes)} recoverable corpus files: {len(recovered)} recovered "
              f"{recovered}, {len(refused)} refused with a specific reason {refused}")
    assert len(recovered) + len(refused) == len(outcomes)


@pytest.mark.parametrize("name, codec", ENCODINGS.items())
def test_the_encoding_used_is_named(name, codec, parsed):
    assert parsed[name].encoding == codec


def test_every_error_names_the_problem(parsed):
    for name, result in parsed.items():
        if isinstance(result, Exception):
            assert isinstance(result, ParseError), (name, result)
            assert len(str(result)) >= 12, (name, result)


# --- undeclared legacy encodings ---

GERMAN = ("Die schöne Frau hat einen Kaffee mit Kuchen gegessen. Sie sagte: „Das war köstlich!“ "
          "und lächelte dabei. Der Preis betrug 15,50 €. Grüße aus München.\n")
FRENCH = ("L'été était très chaud cette année. J'ai acheté un café au lait pour 3,50 €. "
          "C'était délicieux ! L'homme a dit : « C'est parfait ! »\n")
RUSSIAN = "Съешь же ещё этих мягких французских булок, да выпей чаю. Москва — столица России.\n"
GREEK = "Η γρήγορη καφέ αλεπού πηδάει πάνω από το τεμπέλικο σκυλί. Καλημέρα σας, φίλοι μου.\n"


@pytest.mark.parametrize(
    "name, expected",
    [
        (
            "tika__testTXT_win-1252.txt",
            "the trigger for CharsetRecog_sbcs to think this is a “windows”",
        ),
        ("unstructured__umlauts-non-utf8.md", "## können\n\nkönnen\n\näöüß"),
        ("unstructured__fake-html-cp1252.html", "Der Preis betrug 15,50 €."),
    ],
)
def test_legacy_encoding_accepts_undeclared_legacy_text(name, expected):
    assert expected in corpus_text(name, legacy_encoding="cp1252")


@pytest.mark.parametrize("codec", ["cp1252", "latin-1"])
def test_undeclared_legacy_html_falls_back_to_windows_1252_as_browsers_do(codec):
    data = f"<html><body><h1>Preise</h1><p>{GERMAN.replace('€', 'EUR')}</p></body></html>"
    parsed = parse(data.encode(codec, "replace"), "page.html")
    assert parsed.text.startswith("Preise\n\nDie schöne Frau") and "Grüße" in parsed.text
    assert parsed.encoding == "cp1252"


def test_undeclared_html_falls_back_to_the_legacy_encoding_when_set():
    data = f"<p>{RUSSIAN}</p>".encode("cp1251")
    parsed = parse(data, "page.html", legacy_encoding="cp1251")
    assert (parsed.text, parsed.encoding) == (RUSSIAN.strip(), "cp1251")


def test_html_fallback_passes_unassigned_windows_1252_bytes_as_c1_controls():
    order = b" Un caf\xe9 cr\xe8me et un th\xe9 au lait, s'il vous pla\xeet."
    parsed = parse(b"<p>" + order * 3 + b"\x81" + order * 3 + b"</p>", "a.html")
    assert parsed.text.count("café crème") == 6 and "plaît.\x81 Un" in parsed.text


@pytest.mark.parametrize(
    "text, codec",
    [(GERMAN * 2, "cp1252"), (FRENCH * 2, "cp1252"), (RUSSIAN * 2, "cp1251"),
     (GREEK * 2, "cp1253")],
)
def test_undeclared_legacy_text_is_detected(text, codec):
    parsed = parse(text.encode(codec), "notes.md")
    assert (parsed.text, parsed.encoding) == (text.strip(), codec)


def test_a_detection_comes_before_the_legacy_encoding():
    parsed = parse((RUSSIAN * 2).encode("cp1251"), "a.txt", legacy_encoding="cp1252")
    assert parsed.encoding == "cp1251"


def test_text_too_short_to_detect_needs_the_legacy_encoding():
    with pytest.raises(EncodingError, match=r"^not valid UTF-8 \(byte 0xfc at offset 2\) and no "
                                            r"encoding detected with confidence >= 0\.10 .*; set "
                                            r"INGEST_LEGACY_ENCODING \(e\.g\. cp1252\)"):
        parse("Grüße".encode("latin-1"), "a.txt")
    assert parse("Grüße".encode("latin-1"), "a.txt", legacy_encoding="latin-1").text == "Grüße"


def test_the_detection_threshold_is_an_option():
    data = (GERMAN * 2).encode("cp1252")
    with pytest.raises(EncodingError, match=r">= 0\.99 \(best guess cp1252 at 0\.\d\d\)"):
        parse(data, "a.txt", encoding_min_confidence=0.99)
    assert parse(data, "a.txt", encoding_min_confidence=0.2).encoding == "cp1252"


def test_undeclared_high_bytes_are_not_text():
    data = bytes(byte | 0x80 for byte in random.Random(3).randbytes(4096))  # no controls
    with pytest.raises(EncodingError, match=r"^not valid UTF-8 \(byte 0x\w\w at offset 0\) and "
                                            r"no encoding detected"):
        parse(data, "a.txt")
    with pytest.raises(EncodingError, match=r"^in cp1252 the bytes read as garbage \(mess ratio"):
        parse(data, "a.html")
    with pytest.raises(EncodingError, match=r"^1048 of 4096 characters are control characters"):
        parse(data, "a.txt", legacy_encoding="latin-1")  # 0x80-0x9F are C1 controls in latin-1


def test_legacy_encoding_does_not_override_a_declared_charset():
    with pytest.raises(EncodingError, match="declared charset UTF-8 does not decode"):
        corpus_text("tika__testArabicMisleadingCharset.html", legacy_encoding="cp1252")


def test_unknown_legacy_encoding_is_reported():
    with pytest.raises(EncodingError, match="'no-such-codec'.*unknown"):
        parse(b"caf\xe9", "a.txt", legacy_encoding="no-such-codec")


# --- content of real files ---


def test_docx_paragraphs_and_tables_in_document_order():
    text = corpus_text("pydocx__blk-paras-and-tables.docx")
    words = ["Lorem ipsum", "Text before", "Table", "Between", "Text after", "Donec semper"]
    positions = [text.index(word) for word in words]
    assert positions == sorted(positions)


def test_docx_headers_and_footers():
    text = corpus_text("pydocx__hdr-header-footer.docx")
    assert text.startswith("Header for section-1\n\n")
    assert text.endswith("Footer for section 1")
    assert text.count("Header for section-1") == 1


def test_docx_footnotes_and_endnotes():
    assert "A tachyon walks into a bar." in corpus_text("mammoth__footnotes.docx")
    assert "A tachyon walks into a bar." in corpus_text("mammoth__endnotes.docx")


def test_docx_comments_follow_the_body_and_notes():
    text = corpus_text("markitdown__test_with_comment.docx")
    assert text.endswith("\n\nThis is a test comment. 12df-321a\n\n"
                         "Yet another comment in the doc. 55yiyi-asd09")
    assert text.startswith("AutoGen: Enabling Next-Gen LLM Applications")


def test_docx_vertically_merged_cells_are_read_once():
    text = corpus_text("unstructured__docx-hdrftr.docx")
    assert "cell1\ta b c d e f" in text
    assert "I should not be included" not in text  # text of a cell that continues a merge


def test_docx_text_boxes_are_read_once():
    text = corpus_text("docling__textbox.docx")
    assert text.count("Student falls ill") == 1  # the VML fallback copy is skipped


def test_docx_main_part_under_another_name():
    text = corpus_text("unstructured__test_document_from_office365.docx")  # word/document2.xml
    assert text.startswith("This is a sample file to test document parsing")


def test_html_drops_scripts_and_styles():
    text = corpus_text("unstructured__example-with-scripts.html")
    assert "function(" not in text and "var " not in text
    assert text.startswith("Russian Offensive Campaign Assessment, December 13")


def test_html_with_a_stale_charset_declaration_but_utf8_bytes():
    text = corpus_text("readability__qq.html")  # declares gb2312, is UTF-8
    assert len(re.findall(r"[\u4e00-\u9fff]", text)) > 1000
    assert text.startswith("DeepMind新电脑已可利用记忆自学")


def test_html_title_comes_first():
    assert corpus_text("readability__wikipedia.html").startswith("Mozilla - Wikipedia\n\n")


def test_pdf_text():
    text = corpus_text("pypdf__crazyones.pdf")
    assert text.startswith("The Crazy Ones\nOctober 14, 1998\n")
    assert "to the crazy ones" in text


def test_utf8_text_with_non_ascii():
    text = corpus_text("tika__testTXTNonASCIIUTF8.txt")
    assert "Der schnelle braune Fuchs springt über den faulen Hund" in text
    assert "براون وكس السريع" in text


# --- synthetic: encodings and sniffing ---

SAMPLE = "Grüße, naïve café\r\n\r\n\r\n\r\nSecond paragraph €\n"


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32", "utf-32-be"])
def test_text_with_a_bom(codec):
    data = SAMPLE.encode(codec)
    if codec.endswith("-be"):
        data = {"utf-16-be": codecs.BOM_UTF16_BE, "utf-32-be": codecs.BOM_UTF32_BE}[codec] + data
    assert parse(data, "a.txt").text == "Grüße, naïve café\n\nSecond paragraph €"


def test_html_with_a_utf16be_bom():
    data = codecs.BOM_UTF16_BE + "<p>Ça va</p><p>Oui</p>".encode("utf-16-be")
    assert parse(data, "page.htm").text == "Ça va\n\nOui"


def test_bom_that_lies_is_an_encoding_error():
    with pytest.raises(
        EncodingError, match="UTF-8 BOM, but the bytes are not UTF-8: byte 0xe9 at offset 6"
    ):
        parse(codecs.BOM_UTF8 + b"caf\xe9", "a.txt")


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_text_without_a_bom_in_utf16_or_32(codec):
    parsed = parse("plain words, and a few more: Grüße €\n".encode(codec), "a.md")
    assert (parsed.text, parsed.encoding) == ("plain words, and a few more: Grüße €", codec)


def test_utf16_without_a_bom_that_does_not_decode():
    data = ("plain words " * 1000 + "\udc00 end").encode("utf-16-le", "surrogatepass")
    with pytest.raises(EncodingError, match=r"^looks like UTF-16LE without a BOM, but byte 0x00 at "
                                            r"offset 24000 does not decode$"):
        parse(data, "a.txt")


def test_html_in_utf16_without_a_bom_is_refused_as_browsers_would_not_read_it():
    with pytest.raises(EncodingError, match="^NUL bytes in text: looks like UTF-16BE without a"):
        parse("<p>plain words</p>".encode("utf-16-be"), "a.html")


def test_declared_meta_charset_is_used():
    data = '<meta charset="iso-8859-15"><p>Prix 5 €</p>'.encode("iso-8859-15")
    assert parse(data, "a.html").text == "Prix 5 €"


def test_http_equiv_charset_in_xhtml():
    data = (
        '<?xml version="1.0" encoding="windows-1252"?><html><head><meta http-equiv="Content-Type" '
        'content="text/html; charset=windows-1252"/><title>T</title></head><body><p>caf\xe9 \x80'
        "</p></body></html>"
    ).encode("latin-1")
    assert parse(data, "a.xhtml").text == "T\n\ncafé €"


def test_unknown_declared_charset_is_ignored():
    assert parse('<meta charset="x-nonsense"><p>Grüß</p>'.encode(), "a.html").text == "Grüß"


def test_nul_garbage_is_an_encoding_error():
    with pytest.raises(EncodingError, match="NUL bytes in text"):
        parse(b"abc\x00\x00\x00\x00def\x00\x00\x00", "a.txt")


def test_mostly_control_characters_is_an_encoding_error():
    with pytest.raises(EncodingError, match="control characters"):
        parse(bytes(range(1, 8)) * 20 + b"text", "a.txt")


def test_png_under_a_text_name():
    with pytest.raises(CorruptDocument, match="^bytes are a PNG image, not text$"):
        parse(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "notes.txt")


def test_random_binary_under_markdown():
    data = random.Random(7).randbytes(4096)
    with pytest.raises(
        CorruptDocument, match="^bytes are binary data of no known format, not text$"
    ):
        parse(data, "readme.md")


@pytest.mark.parametrize(
    "data, name, reason",
    [
        (b"%PDF-1.7\n...", "report.docx", "bytes are a PDF document, not a .docx"),
        (b"PK\x03\x04rest", "report.pdf", "bytes are a ZIP archive, not a PDF"),
        (b"GIF89a....", "page.html", "bytes are a GIF image, not HTML"),
        (b"plain words", "report.pdf", "bytes are text, not a PDF"),
    ],
)
def test_bytes_that_are_not_what_their_name_says(data, name, reason):
    with pytest.raises(CorruptDocument, match=re.escape(reason)):
        parse(data, name)


@pytest.mark.parametrize("name", ["slides.ppt", "book.mobi", "README", "archive.tar.gz"])
def test_unknown_extension(name):
    with pytest.raises(UnsupportedFormat, match="no parser for"):
        parse(b"some text", name)


def test_extension_is_case_insensitive():
    assert parse(b"# Title\n\nBody", "NOTES.MD").text == "# Title\n\nBody"


def test_text_whitespace_is_tidied():
    assert parse(b"  a  \r\n\r\n\r\n\r\nb\t\n\n\n", "a.txt").text == "a\n\nb"


# --- synthetic: HTML structure ---


def test_html_blocks_lines_and_cells():  # <pre> keeps its line breaks
    html = (
        "<html><head><title>Doc</title><style>p{}</style></head><body><nav>Menu</nav>"
        "<h1>Head</h1><p>one\n   two<br>three</p><table><tr><td>a</td><td> b </td></tr></table>"
        "<pre>x  y\n  z</pre><script>var a = 1;</script><!-- hidden --></body></html>"
    )
    assert parse(html.encode(), "a.html").text == "Doc\n\nHead\n\none two\nthree\n\na\tb\n\nx y\nz"


def test_html_deep_nesting_does_not_recurse():
    html = "<div>" * 5000 + "deep" + "</div>" * 5000
    assert parse(html.encode(), "a.html").text == "deep"


def test_html_without_visible_text():
    with pytest.raises(EmptyDocument, match="no visible text"):
        parse(b"<html><head><script>x()</script></head><body> </body></html>", "a.html")


# --- synthetic: docx ---


def docx_bytes(document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_docx_merged_cells_appear_once():
    document = docx.Document()
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "wide"
    table.cell(0, 2).merge(table.cell(1, 2)).text = "tall"
    table.cell(1, 0).text = "x"
    assert parse(docx_bytes(document), "t.docx").text == "wide\ttall\nx"


def test_docx_header_repeated_by_sections_is_read_once():
    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "Company header"
    document.add_paragraph("Body one")
    document.add_section()
    document.add_paragraph("Body two")
    assert parse(docx_bytes(document), "t.docx").text == "Company header\n\nBody one\n\nBody two"


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_xlsx_named_docx():
    data = zip_bytes({"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"<x/>"})
    with pytest.raises(
        CorruptDocument, match="^zip archive is an Excel .xlsx workbook, not a .docx$"
    ):
        parse(data, "a.docx")


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_docx_with_broken_xml_is_corrupt():
    files = unzip(docx_bytes(docx.Document()))
    files["word/document.xml"] = b"<w:document"
    with pytest.raises(CorruptDocument, match=r"^cannot read the \.docx \(XMLSyntaxError"):
        parse(zip_bytes(files), "a.docx")


def test_macro_enabled_content_type_is_read():
    document = docx.Document()
    document.add_paragraph("Macro body")
    files = unzip(docx_bytes(document))
    files["[Content_Types].xml"] = files["[Content_Types].xml"].replace(
        b"openxmlformats-officedocument.wordprocessingml.document.main+xml",
        b"ms-word.document.macroEnabled.main+xml",
    )
    assert parse(zip_bytes(files), "a.docx").text == "Macro body"


def commented(body: str, comment: str) -> bytes:
    """A .docx whose body is one paragraph of `body` ('' for none) with one comment."""
    comments = (f'<w:comments xmlns:w="{files.W}"><w:comment w:id="0" w:author="Ann">'
                f"<w:p><w:r><w:t>{comment}</w:t></w:r></w:p></w:comment></w:comments>")
    parts = files.related(files.docx_parts(body), "word/comments.xml", "comments",
                          files.COMMENTS_TYPE, comments.encode())
    return files.zipped(parts)


def test_docx_whose_only_text_is_a_comment_is_that_text():
    assert parse(commented("", "Check the totals."), "a.docx").text == "Check the totals."


def test_docx_comments_come_after_the_body():
    text = parse(commented("The body.", "A remark."), "a.docx").text
    assert text == "The body.\n\nA remark."


def test_docx_tracked_insertions_are_text_and_deletions_are_not():
    paragraph = ('<w:p><w:r><w:t xml:space="preserve">The fee is </w:t></w:r>'
                 '<w:del w:id="1" w:author="Ann"><w:r><w:delText>ten</w:delText></w:r></w:del>'
                 '<w:ins w:id="2" w:author="Ann"><w:r><w:t>twelve</w:t></w:r></w:ins>'
                 '<w:r><w:t xml:space="preserve"> euros.</w:t></w:r></w:p>')
    deleted = ('<w:p><w:pPr><w:rPr><w:del w:id="3" w:author="Ann"/></w:rPr></w:pPr>'
               '<w:del w:id="4" w:author="Ann"><w:r><w:delText>Struck out.</w:delText></w:r>'
               "</w:del></w:p>")
    data = files.docx_with_main((paragraph + deleted).encode())
    assert parse(data, "a.docx").text == "The fee is twelve euros."


@pytest.mark.parametrize(
    "stream, error, reason",
    [
        ("EncryptedPackage", EncryptedDocument, "^encrypted OOXML"),
        ("WordDocument", CorruptDocument, "^legacy Word 97-2003 .doc"),
    ],
)
def test_ole_compound_file_named_docx(stream, error, reason):
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + stream.encode("utf-16-le")
    with pytest.raises(error, match=reason):
        parse(data, "a.docx")


# --- synthetic: pdf ---


def pdf_bytes(writer: PdfWriter) -> bytes:
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_pdf_without_text_is_empty():
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.add_blank_page(200, 200)
    with pytest.raises(EmptyDocument, match=r"^no extractable text in 2 pages \(scanned PDF\?\)$"):
        parse(pdf_bytes(writer), "scan.pdf")


def encrypted_crazyones(user_password: str, algorithm: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(CORPUS_DIR / "pypdf__crazyones.pdf"))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm=algorithm)
    return pdf_bytes(writer)


def test_pdf_encrypted_with_an_empty_user_password_opens():
    assert "crazy ones" in parse(encrypted_crazyones("", "AES-128"), "a.pdf").text


def test_pdf_encryption_algorithm_is_named():
    with pytest.raises(EncryptedDocument, match=r"^PDF is encrypted \(RC4-128\) and no password"):
        parse(encrypted_crazyones("secret", "RC4-128"), "a.pdf")
