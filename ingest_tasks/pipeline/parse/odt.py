"""OpenDocument text .odt: headings (with their outline level), paragraphs, lists and tables.

Read with lxml from the zip (see zipparts): mimetype, the manifest (to tell an encrypted
file), meta.xml (the title) and content.xml are the only parts read; styles.xml, where
headers and footers live, is not.
"""

from __future__ import annotations

from lxml import etree

from ingest_tasks.core.errors import CorruptDocument, EmptyDocument, EncryptedDocument
from ingest_tasks.pipeline.parse.options import Options
from ingest_tasks.pipeline.parse.outline import Outline
from ingest_tasks.pipeline.parse.parsed import Parsed
from ingest_tasks.pipeline.parse.zipparts import Package

MIMETYPES = ("application/vnd.oasis.opendocument.text",
             "application/vnd.oasis.opendocument.text-template")
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_MANIFEST = "{urn:oasis:names:tc:opendocument:xmlns:manifest:1.0}"
_DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
_SKIPPED = {f"{_TEXT}note-citation", f"{_OFFICE}annotation", f"{_OFFICE}annotation-end",
            f"{_TEXT}table-of-content", f"{_TEXT}sequence-decls", f"{_TEXT}tracked-changes"}


def parse_odt(data: bytes, options: Options) -> Parsed:
    """The body's headings (as headings), paragraphs, list items and tables, in order."""
    parts = Package(data, options, "the .odt")
    _check_package(parts)
    body = parts.xml("content.xml").find(f"{_OFFICE}body/{_OFFICE}text")
    if body is None:
        raise CorruptDocument("content.xml has no office:text body: not a text document")
    outline = Outline()
    _blocks(body, outline)
    if outline.empty:
        raise EmptyDocument("no text in the body's headings, paragraphs, lists or tables")
    return outline.parsed(title=_title(parts))


def _check_package(parts: Package) -> None:
    """Refuse another OpenDocument kind, or an encrypted file."""
    if "mimetype" in parts:
        mimetype = parts.part("mimetype").decode("ascii", "replace").strip()
        if mimetype not in MIMETYPES:
            raise CorruptDocument(f"zip archive is of type {mimetype!r:.80}, not an .odt")
    elif "content.xml" not in parts:
        raise CorruptDocument("zip archive is not an .odt (no mimetype, no content.xml)")
    manifest = "META-INF/manifest.xml"
    if manifest in parts and parts.xml(manifest).find(f".//{_MANIFEST}encryption-data") is not None:
        raise EncryptedDocument("the .odt is encrypted and no password was given")


def _title(parts: Package) -> str:
    """The title meta.xml gives, or ''."""
    if "meta.xml" not in parts:
        return ""
    title = parts.xml("meta.xml").find(f".//{_DC_TITLE}")
    return " ".join("".join(title.itertext()).split()) if title is not None else ""


def _blocks(element: etree._Element, outline: Outline) -> None:
    """Add the blocks under `element`: headings, paragraphs, tables; into lists and sections."""
    for child in element:
        if child.tag in _SKIPPED:
            continue
        if child.tag == f"{_TEXT}h":
            level = child.get(f"{_TEXT}outline-level", "1")
            outline.add(_inline(child), level=int(level) if level.isdigit() else 1)
        elif child.tag == f"{_TEXT}p":
            outline.add(_inline(child))
        elif child.tag == f"{_TABLE}table":
            outline.add(_table(child))
        else:  # lists, list items, sections, table of contents bodies...
            _blocks(child, outline)


def _table(table: etree._Element) -> str:
    """A table's rows one per line, cells by tabs (a cell's paragraphs joined by spaces)."""
    rows = []
    for row in table.iter(f"{_TABLE}table-row"):
        cells = [" ".join(_inline(p) for p in cell.iter(f"{_TEXT}p", f"{_TEXT}h"))
                 for cell in row.iterfind(f"{_TABLE}table-cell")]
        rows.append("\t".join(cells).rstrip("\t"))
    return "\n".join(rows)


def _inline(element: etree._Element) -> str:
    """The text of a paragraph or heading: spaces (text:s), tabs and line breaks kept."""
    pieces = [element.text or ""]
    for child in element:
        if child.tag == f"{_TEXT}s":
            count = child.get(f"{_TEXT}c", "1")
            pieces.append(" " * min(int(count) if count.isdigit() else 1, 80))
        elif child.tag == f"{_TEXT}tab":
            pieces.append("\t")
        elif child.tag == f"{_TEXT}line-break":
            pieces.append("\n")
        elif child.tag not in _SKIPPED:
            pieces.append(_inline(child))
        pieces.append(child.tail or "")
    return "".join(pieces)
