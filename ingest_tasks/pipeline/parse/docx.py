"""Word .docx: check the zip, open it with python-docx, read body, boxes, headers and notes."""

from __future__ import annotations

import io
import zipfile

import docx
from celery.exceptions import SoftTimeLimitExceeded
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.package import OpcPackage
from docx.oxml.parser import parse_xml
from lxml import etree

from ingest_tasks.core.errors import CorruptDocument, EmptyDocument, EncryptedDocument, ParseError
from ingest_tasks.pipeline.parse.normalize import block_at, join_blocks_at
from ingest_tasks.pipeline.parse.options import Options
from ingest_tasks.pipeline.parse.parsed import Heading, Parsed
from ingest_tasks.pipeline.parse.sniff import OLE_MAGIC
from ingest_tasks.pipeline.parse.unzip import check_archive
from ingest_tasks.pipeline.parse.wordml import (
    STRICT,
    TITLE_LEVEL,
    TRANSITIONAL,
    HeadingText,
    WordText,
    namespace_of,
    style_levels,
)

MAIN_PART = "word/document.xml"
STRICT_MAIN_REL = "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument"
_OTHER_ZIPS = (
    ("xl/workbook.xml", "an Excel .xlsx workbook"),
    ("ppt/presentation.xml", "a PowerPoint .pptx presentation"),
    ("META-INF/container.xml", "an EPUB book"),
    ("content.xml", "an OpenDocument file"),
)
_EXTRA_PARTS = ("header", "footer", "footnotes", "endnotes")


def parse_docx(data: bytes, options: Options) -> Parsed:
    """Headers, body paragraphs and tables in order, text boxes, footers, foot- and endnotes."""
    if data.startswith(OLE_MAGIC):
        raise _ole_error(data)
    try:
        _check_zip(data, options)
        parsed = _parsed(*_open(data))
    except (ParseError, SoftTimeLimitExceeded):  # the task's time limit is no damage
        raise
    except Exception as exc:  # python-docx, zipfile, zlib and lxml raise many kinds
        raise CorruptDocument(f"cannot read the .docx ({_error_name(exc)}: {exc})") from exc
    if not parsed.text:
        raise EmptyDocument("no text in body, tables, text boxes, headers, footers or notes")
    return parsed


def _error_name(exc: Exception) -> str:
    """The exception's class name, with its module when the name alone says little (zlib.error)."""
    name = type(exc).__name__
    return f"{type(exc).__module__}.{name}" if name.islower() else name


def _ole_error(data: bytes) -> ParseError:
    """An OLE compound file named .docx: a password-protected OOXML file, or a legacy .doc."""
    if "EncryptedPackage".encode("utf-16-le") in data:
        return EncryptedDocument(
            "encrypted OOXML (password-protected .docx) and no password was given"
        )
    if "WordDocument".encode("utf-16-le") in data:
        return CorruptDocument("legacy Word 97-2003 .doc (OLE compound file), not a .docx")
    return CorruptDocument(
        "OLE compound file (legacy Office format or encrypted OOXML), not a .docx"
    )


def _check_zip(data: bytes, options: Options) -> None:
    """Refuse truncated zips, zips that are not Word documents, encrypted entries, zip bombs."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile as exc:
        if "not a zip file" in str(exc):
            raise CorruptDocument("truncated zip: central directory missing") from None
        raise CorruptDocument(f"damaged zip: {exc}") from None
    names = {info.filename for info in infos}
    if MAIN_PART not in names:
        _check_package(names)
    if any(info.flag_bits & 0x1 for info in infos):
        raise EncryptedDocument("zip entries are password-protected")
    check_archive(data, infos, options)


def _check_package(names: set[str]) -> None:
    """Without word/document.xml, still accept an OPC package (its main part may be renamed)."""
    for marker, what in _OTHER_ZIPS:
        if marker in names:
            raise CorruptDocument(f"zip archive is {what}, not a .docx")
    if not {"[Content_Types].xml", "_rels/.rels"} <= names:
        listing = ", ".join(sorted(names)[:5]) or "nothing"
        raise CorruptDocument(f"zip archive is not a .docx (no {MAIN_PART}; it holds {listing})")


def _open(data: bytes) -> tuple[OpcPackage, etree._Element]:
    """The package and the root element of its main document part."""
    try:
        document = docx.Document(io.BytesIO(data))
    except (KeyError, ValueError):  # ISO Strict relationships, or a .docm/.dotx content type
        return _open_package(data)
    return document.part.package, document.element


def _open_package(data: bytes) -> tuple[OpcPackage, etree._Element]:
    """Find the main part by relationship, as Document() does, but in either namespace."""
    package = OpcPackage.open(io.BytesIO(data))
    for relationship in (RT.OFFICE_DOCUMENT, STRICT_MAIN_REL):
        try:
            return package, parse_xml(package.part_related_by(relationship).blob)
        except KeyError:
            continue
    raise CorruptDocument("no main document relationship (transitional or strict)")


def _parsed(package: OpcPackage, root: etree._Element) -> Parsed:
    """Headers, body, footers and notes of the package, as blocks joined by blank lines;
    the body's headings; the title: the first paragraph in the Title style, else the
    package's core properties' title."""
    namespace = namespace_of(root)
    if namespace not in (TRANSITIONAL, STRICT):
        raise CorruptDocument(f"main part is not WordprocessingML (root element {root.tag})")
    words = WordText(namespace, _style_levels(package, namespace))
    extra = _extra_parts(package, words)
    blocks = [*_unique(extra["header"]), *words.blocks(root), *_unique(extra["footer"])]
    text, starts = join_blocks_at(blocks + extra["footnotes"] + extra["endnotes"])
    marked = [(start, block.level, block_at(text, start)) for block, start in zip(blocks, starts)
              if isinstance(block, HeadingText) and block.strip()]
    titles = [heading for _, level, heading in marked if level == TITLE_LEVEL]
    headings = tuple(Heading(*mark) for mark in marked if mark[1] != TITLE_LEVEL)
    return Parsed(text, title=titles[0] if titles else _core_title(package), headings=headings)


def _style_levels(package: OpcPackage, namespace: str) -> dict[str, int]:
    """The heading levels of the paragraph styles of the package's styles part."""
    for part in package.iter_parts():
        if part.content_type.endswith(".styles+xml"):
            element = getattr(part, "element", None)
            return style_levels(parse_xml(part.blob) if element is None else element, namespace)
    return {}


def _core_title(package: OpcPackage) -> str:
    """The title in the package's core properties, '' if it has none."""
    try:
        part = package.part_related_by(RT.CORE_PROPERTIES)
    except KeyError:
        return ""
    properties = getattr(part, "core_properties", None)
    return " ".join((properties.title or "").split()) if properties is not None else ""


def _extra_parts(package: OpcPackage, words: WordText) -> dict[str, list[str]]:
    """Blocks of the header, footer, footnote and endnote parts, by kind."""
    found: dict[str, list[str]] = {kind: [] for kind in _EXTRA_PARTS}
    for part in sorted(package.iter_parts(), key=lambda part: str(part.partname)):
        kind = part.content_type.rsplit(".", 1)[-1].removesuffix("+xml")
        if kind in found:
            element = getattr(part, "element", None)
            element = parse_xml(part.blob) if element is None else element
            found[kind].append("\n\n".join(words.blocks(element)))
    return found


def _unique(texts: list[str]) -> list[str]:
    """Non-empty texts, each once: sections often repeat the same header or footer."""
    return [text for text in dict.fromkeys(texts) if text.strip()]
