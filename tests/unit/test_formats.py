"""The office, book and mail formats on real files of public projects (tests/data/formats,
SOURCES.md there) and on small made cases for their failure reasons."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from ingest_tasks.core.errors import CorruptDocument, EmptyDocument, EncryptedDocument
from ingest_tasks.pipeline.parse import FORMATS, Parsed, parse
from ingest_tasks.pipeline.parse.mail import Attachment, Mail
from ingest_tasks.pipeline.sources import SUPPORTED_SUFFIXES, supported

DATA = Path(__file__).resolve().parents[1] / "data" / "formats"


def real(name: str) -> Parsed:
    """A file of tests/data/formats, parsed."""
    return parse((DATA / name).read_bytes(), name)


def headings(parsed: Parsed) -> list[tuple[int, str]]:
    """(level, text) of each heading, checked to sit at its offset in the text."""
    for heading in parsed.headings:
        assert parsed.text[heading.start:].startswith(heading.text), heading
    return [(heading.level, heading.text) for heading in parsed.headings]


def zipped(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_every_data_file_is_named_in_sources():
    sources = (DATA / "SOURCES.md").read_text()
    for path in DATA.iterdir():
        if path.name != "SOURCES.md":
            assert f"`{path.name}`" in sources, path.name


def test_new_kinds_are_parsed_and_taken_from_folders():
    for suffix in (".pptx", ".xlsx", ".csv", ".tsv", ".odt", ".epub", ".eml", ".mbox"):
        assert suffix in FORMATS and supported(f"a{suffix.upper()}"), suffix
    # sources.py keeps its own list, not to import every parser where files are listed
    assert set(FORMATS) == SUPPORTED_SUFFIXES


# --- pptx ---


def test_pptx_slides_in_order_with_tables_and_untitled_slides_headed_by_number():
    parsed = real("python-pptx__txt-text.pptx")
    assert parsed.text == ("Slide 1\n\nFoo Bar\nBaz Zoo\n1\nyahoo.com\n\nabc\na\nb\nc\n\n"
                           "Slide 2\n\nText run in table cell")
    assert headings(parsed) == [(1, "Slide 1"), (1, "Slide 2")]


def test_pptx_notes_follow_their_slide():
    assert real("python-pptx__sld-notes.pptx").text == "Slide 1\n\nNotes"


def test_pptx_slide_title_is_its_heading():
    slide = (b'<p:sld xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
             b'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"><p:cSld>'
             b'<p:spTree><p:sp><p:nvSpPr><p:cNvPr id="2" name="T"/><p:cNvSpPr/><p:nvPr>'
             b'<p:ph type="title"/></p:nvPr></p:nvSpPr><p:txBody><a:p><a:r><a:t>Quarterly '
             b'plan</a:t></a:r></a:p></p:txBody></p:sp><p:sp><p:nvSpPr><p:cNvPr id="3" name="B"/>'
             b'<p:cNvSpPr/><p:nvPr/></p:nvSpPr><p:txBody><a:p><a:r><a:t>Hire two</a:t></a:r>'
             b'<a:br/><a:r><a:t>Ship it</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld>'
             b'</p:sld>')
    presentation = (b'<p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/'
                    b'2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
                    b'relationships"><p:sldIdLst><p:sldId id="256" r:id="rId7"/></p:sldIdLst>'
                    b'</p:presentation>')
    rels = (b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            b'<Relationship Id="rId7" Type="x" Target="slides/slide1.xml"/></Relationships>')
    parsed = parse(zipped({"ppt/presentation.xml": presentation, "ppt/slides/slide1.xml": slide,
                           "ppt/_rels/presentation.xml.rels": rels}), "deck.pptx")
    assert parsed.text == "Quarterly plan\n\nHire two\nShip it"
    assert headings(parsed) == [(1, "Quarterly plan")]


@pytest.mark.parametrize("name, parts, error, reason", [
    ("a.pptx", {"word/document.xml": b"<x/>"}, CorruptDocument,
     r"^zip archive is not a \.pptx \(no ppt/presentation\.xml\)$"),
    ("a.xlsx", {"ppt/presentation.xml": b"<x/>"}, CorruptDocument,
     r"^zip archive is not an \.xlsx \(no xl/workbook\.xml\)$"),
    ("a.odt", {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"}, CorruptDocument,
     r"^zip archive is of type 'application/vnd\.oasis\.opendocument\.spreadsheet', not an \.odt$"),
    ("a.epub", {"mimetype": b"application/epub+zip"}, CorruptDocument,
     r"^zip archive is not an EPUB \(no META-INF/container\.xml\)$"),
    ("a.odt", {"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"\x8a\x00",
               "META-INF/manifest.xml": b'<m:manifest xmlns:m="urn:oasis:names:tc:opendocument:'
               b'xmlns:manifest:1.0"><m:file-entry><m:encryption-data/></m:file-entry>'
               b'</m:manifest>'}, EncryptedDocument,
     r"^the \.odt is encrypted and no password was given$"),
])
def test_zip_formats_say_what_is_wrong(name, parts, error, reason):
    with pytest.raises(error, match=reason):
        parse(zipped(parts), name)


def test_legacy_office_files_under_new_names_are_named():
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    with pytest.raises(CorruptDocument, match=r"^OLE compound file \(legacy \.ppt or encrypted "):
        parse(ole, "old.pptx")
    with pytest.raises(CorruptDocument, match=r"^OLE compound file \(legacy \.xls or encrypted "):
        parse(ole, "old.xlsx")


# --- xlsx and csv ---


def test_xlsx_sheet_name_heads_its_rows():
    parsed = real("python-pptx__cht-category-access-sheet4.xlsx")
    assert parsed.text == ("Sheet1\n\nState\tCity\tSeries 1\tSeries 2\tSeries 3\nCA\tSF\t4.3\t2.4\t2"
                           "\nLA\t2.5\t4.4\t2\nNY\tNY\t3.5\t1.8\t3\nAlbany\t4.5\t2.8\t5")
    assert headings(parsed) == [(1, "Sheet1")]


def test_xlsx_sheets_in_order_dates_in_iso_form_empty_sheets_left_out():
    openpyxl = pytest.importorskip("openpyxl")
    import datetime

    workbook = openpyxl.Workbook()
    workbook.active.title = "Budget"
    workbook.active.append(["Item", "Cost", None, None])
    workbook.active.append(["Rent", 1200.0, datetime.date(2024, 5, 1)])
    workbook.create_sheet("Empty")
    workbook.create_sheet("Notes").append(["see  the\nledger"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    parsed = parse(buffer.getvalue(), "book.xlsx")
    assert parsed.text == ("Budget\n\nItem\tCost\nRent\t1200\t2024-05-01T00:00:00\n\n"
                           "Notes\n\nsee the ledger")
    assert headings(parsed) == [(1, "Budget"), (1, "Notes")]


def test_csv_delimiter_is_found_tabs_in_a_file_named_csv():
    parsed = real("epubcheck__messages-head40.csv")
    lines = parsed.text.split("\n")
    assert len(lines) == 40 and parsed.encoding == "utf-8"
    assert lines[0] == "ID\tSeverity\tMessage\tSuggestion"
    assert lines[1] == "ACC-001\tUSAGE\t'img' or 'area' HTML element has no 'alt' attribute."


@pytest.mark.parametrize("data, text", [
    (b'name,notes\r\nAnn,"Paris, France"\r\n', "name\tnotes\nAnn\tParis, France"),
    (b"a;b\n1;2\n", "a\tb\n1\t2"),
    ('nom,ville\nRené,Zürich\n'.encode("cp1252"), "nom\tville\nRené\tZürich"),
])
def test_csv_records_become_lines(data, text):
    assert parse(data, "t.csv", legacy_encoding="cp1252").text == text


def test_csv_with_a_field_past_the_csv_modules_limit_is_corrupt():
    with pytest.raises(CorruptDocument, match=r"^malformed CSV at line 1: field larger than"):
        parse(b'"' + b"x" * 200_000 + b'"\n', "big.csv")


# --- odt ---


def test_odt_headings_keep_their_outline_level():
    parsed = real("odfpy__headerfooter.odt")
    assert parsed.text == "Lorem ipsum"  # header and footer are in styles.xml, not read
    assert headings(parsed) == [(1, "Lorem ipsum")]


def test_odt_tables_and_nested_lists():
    assert real("odfpy__simpletable.odt").text == "Cell 1\tCell 2\nCell 3 (bold)\tCell 4 (italic)"
    assert real("odfpy__twolevellist.odt").text == (
        "Line 1\n\nItem A\n\nItem B\n\nSubitem B.1\n\nSubitem B.2 (bold)\n\nItem C\n\nLine 4")


# --- epub ---


def test_epub_chapters_in_spine_order_titles_as_headings_navigation_left_out():
    parsed = real("epubcheck__childrens-literature-trimmed.epub")
    assert parsed.title == "Children's Literature"
    assert headings(parsed) == [(1, "Children's Literature"),  # the cover: its <title> alone
                                (1, "Section IV: FAIRY STORIES—MODERN FANTASTIC TALES")]
    assert "BIBLIOGRAPHY\n\nAlden, Raymond Macdonald, Why the Chimes Rang" in parsed.text
    assert "Table of Contents" not in parsed.text  # nav.xhtml is in the spine, and skipped


def test_epub_with_drm_encrypted_chapters_is_refused():
    book = (DATA / "epubcheck__childrens-literature-trimmed.epub").read_bytes()
    with zipfile.ZipFile(io.BytesIO(book)) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts["META-INF/encryption.xml"] = (
        b'<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
        b'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:CipherData>'
        b'<enc:CipherReference URI="EPUB/s04.xhtml"/></enc:CipherData></enc:EncryptedData>'
        b'</encryption>')
    with pytest.raises(EncryptedDocument, match=r"^1 of the EPUB's 2 chapters are encrypted "
                                                r"\(DRM\), EPUB/s04\.xhtml first$"):
        parse(zipped(parts), "locked.epub")


# --- mail ---


def test_eml_headers_body_and_subject_as_title():
    parsed = real("cpython__msg_07.eml")
    assert isinstance(parsed, Mail)
    assert parsed.title == "Here is your dingus fish"
    assert parsed.text == ("From: Barry <barry@digicool.com>\nTo: Dingus Lovers "
                           "<cravindogs@cravindogs.com>\nDate: Fri, 20 Apr 2001 19:35:02 -0400\n"
                           "Subject: Here is your dingus fish\n\nHi there,\n\n"
                           "This is the dingus fish.")
    assert [(a.name, len(a.data), a.data[:6]) for a in parsed.attachments] == [
        ("dingusfish.gif", 3512, b"GIF87a")]


def test_eml_forwarded_message_is_an_eml_attachment():
    parsed = real("cpython__msg_16.eml")
    assert [a.name for a in parsed.attachments] == ["[scr] yeah for Ians!!.eml"]
    inner = parse(parsed.attachments[0].data, parsed.attachments[0].name)
    assert inner.title == "[scr] yeah for Ians!!"


def test_mbox_messages_under_their_subjects_with_their_attachments():
    parsed = real("cpython__msg_01-and-04.mbox")
    assert headings(parsed) == [(1, "This is a test message"), (1, "a simple multipart")]
    assert "Do you like this message?" in parsed.text
    assert parsed.attachments == (Attachment("msg.txt", b"a simple kind of mirror\n"
                                                        b"to reflect upon our own\n"),)


def test_mail_parts_are_decoded_by_their_charset_and_html_bodies_read_as_html():
    message = ("From: =?utf-8?q?Ren=C3=A9?= <r@example.org>\nSubject: Caf\u00e9\n"
               "MIME-Version: 1.0\nContent-Type: text/html; charset=iso-8859-1\n"
               "Content-Transfer-Encoding: quoted-printable\n\n<p>Caf=E9 <b>cr=E8me</b></p>\n")
    parsed = parse(message.encode("utf-8"), "m.eml")
    assert parsed.text == "From: René <r@example.org>\nSubject: Café\n\nCafé crème"


def test_not_an_mbox():
    with pytest.raises(CorruptDocument, match=r"^not an mbox: the file does not start with"):
        parse(b"Subject: hi\n\nbody\n", "box.mbox")


def test_a_mail_without_text_is_empty():
    with pytest.raises(EmptyDocument):
        parse(b"\n\n", "m.eml")
