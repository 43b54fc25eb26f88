"""Word .docx: read body, boxes, headers, notes and comments, inflating only those parts.

The parts are found by relationship from the package's _rels/.rels, as Word finds them;
each is checked against zip bombs as it is read (unzip.ZipParts). The styles part (which
styles are headings) and the core properties (the title) are read too, the same way.
Pictures, fonts, embedded objects, the theme and the like are never inflated.
"""

from __future__ import annotations

import posixpath

from celery.exceptions import SoftTimeLimitExceeded
from docx.oxml.parser import parse_xml

from ingest_tasks.core.errors import CorruptDocument, EmptyDocument, EncryptedDocument, ParseError
from ingest_tasks.pipeline.parse.normalize import block_at, join_blocks_at
from ingest_tasks.pipeline.parse.options import Options
from ingest_tasks.pipeline.parse.parsed import Heading, Parsed
from ingest_tasks.pipeline.parse.sniff import OLE_MAGIC
from ingest_tasks.pipeline.parse.unzip import ZipParts
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
PACKAGE_RELS = "_rels/.rels"
_RELATIONSHIP = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_OTHER_ZIPS = (
    ("xl/workbook.xml", "an Excel .xlsx workbook"),
    ("ppt/presentation.xml", "a PowerPoint .pptx presentation"),
    ("META-INF/container.xml", "an EPUB book"),
    ("content.xml", "an OpenDocument file"),
)
_EXTRA_PARTS = ("header", "footer", "footnotes", "endnotes", "comments")
_DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"


def parse_docx(data: bytes, options: Options) -> Parsed:
    """Headers, body paragraphs and tables in order, text boxes, footers, notes, comments."""
    if data.startswith(OLE_MAGIC):
        raise _ole_error(data)
    try:
        parsed = _parsed(_open(data, options))
    except (ParseError, SoftTimeLimitExceeded):  # the task's time limit is no damage
        raise
    except Exception as exc:  # zipfile, zlib and lxml raise many kinds
        raise CorruptDocument(f"cannot read the .docx ({_error_name(exc)}: {exc})") from exc
    if not parsed.text:
        raise EmptyDocument(
            "no text in body, tables, text boxes, headers, footers, notes or comments"
        )
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


def _open(data: bytes, options: Options) -> ZipParts:
    """The zip, refused if truncated, not a Word document, or with encrypted entries."""
    package = ZipParts(data, options)
    names = set(package.infos)
    if MAIN_PART not in names:
        _check_package(names)
    if any(info.flag_bits & 0x1 for info in package.infos.values()):
        raise EncryptedDocument("zip entries are password-protected")
    return package


def _check_package(names: set[str]) -> None:
    """Without word/document.xml, still accept an OPC package (its main part may be renamed)."""
    for marker, what in _OTHER_ZIPS:
        if marker in names:
            raise CorruptDocument(f"zip archive is {what}, not a .docx")
    if not {"[Content_Types].xml", PACKAGE_RELS} <= names:
        listing = ", ".join(sorted(names)[:5]) or "nothing"
        raise CorruptDocument(f"zip archive is not a .docx (no {MAIN_PART}; it holds {listing})")


def _parsed(package: ZipParts) -> Parsed:
    """Headers, body, footers, notes and comments, as blocks joined by blank lines; the
    body's headings; the title: the first paragraph in the Title style, else the core
    properties' title."""
    main = _main_part(package)
    related = _related(package, main)
    names = [main, *(name for kind in _EXTRA_PARTS for name in related[kind])]
    roots = dict(zip(names, map(parse_xml, package.read(names)), strict=True))
    namespace = namespace_of(roots[main])
    if namespace not in (TRANSITIONAL, STRICT):
        raise CorruptDocument(f"main part is not WordprocessingML (root element {roots[main].tag})")
    words = WordText(namespace, _style_levels(package, related["styles"], namespace))
    extra = {kind: ["\n\n".join(words.blocks(roots[name])) for name in related[kind]]
             for kind in _EXTRA_PARTS}
    blocks = [*_unique(extra["header"]), *words.blocks(roots[main]), *_unique(extra["footer"])]
    text, starts = join_blocks_at(
        blocks + extra["footnotes"] + extra["endnotes"] + extra["comments"])
    marked = [(start, block.level, block_at(text, start)) for block, start in zip(blocks, starts)
              if isinstance(block, HeadingText) and block.strip()]
    titles = [heading for _, level, heading in marked if level == TITLE_LEVEL]
    headings = tuple(Heading(*mark) for mark in marked if mark[1] != TITLE_LEVEL)
    return Parsed(text, title=titles[0] if titles else _core_title(package), headings=headings)


def _style_levels(package: ZipParts, styles: list[str], namespace: str) -> dict[str, int]:
    """The heading levels of the paragraph styles of the main part's styles part."""
    return style_levels(parse_xml(package.read(styles[:1])[0]), namespace) if styles else {}


def _core_title(package: ZipParts) -> str:
    """The title in the package's core properties, '' if it has none."""
    for kind, name in _relationships(package, ""):
        if kind == "core-properties" and name in package.infos:
            found = parse_xml(package.read([name])[0]).find(_DC_TITLE)
            return " ".join((found.text or "").split()) if found is not None else ""
    return ""


def _main_part(package: ZipParts) -> str:
    """The main document part, found by relationship as Word does, else word/document.xml."""
    for kind, name in _relationships(package, ""):
        if kind == "officeDocument" and name in package.infos:
            return name
    if MAIN_PART in package.infos:
        return MAIN_PART
    raise CorruptDocument("no main document relationship (transitional or strict)")


def _related(package: ZipParts, main: str) -> dict[str, list[str]]:
    """The header, footer, note, comment and styles parts the main part relates, by kind
    and name."""
    found: dict[str, list[str]] = {kind: [] for kind in (*_EXTRA_PARTS, "styles")}
    for kind, name in _relationships(package, main):
        if kind in found and name in package.infos and name not in found[kind]:
            found[kind].append(name)
    return {kind: sorted(names) for kind, names in found.items()}


def _relationships(package: ZipParts, source: str) -> list[tuple[str, str]]:
    """(kind, part name) of a part's internal relationships ('' for the package's own);
    the kind is the last segment of the type, the same in the transitional and strict URIs."""
    folder, base = posixpath.split(source)
    rels = posixpath.join(folder, "_rels", f"{base}.rels")
    if rels not in package.infos:
        return []
    found = []
    for relationship in parse_xml(package.read([rels])[0]).iter(_RELATIONSHIP):
        target = relationship.get("Target", "")
        if relationship.get("TargetMode") == "External" or not target:
            continue
        name = posixpath.normpath(posixpath.join("/" + folder, target)).lstrip("/")
        found.append((relationship.get("Type", "").rsplit("/", 1)[-1], name))
    return found


def _unique(texts: list[str]) -> list[str]:
    """Non-empty texts, each once: sections often repeat the same header or footer."""
    return [text for text in dict.fromkeys(texts) if text.strip()]
