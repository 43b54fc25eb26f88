"""Bytes of a document to its text: sniff what the bytes are, then parse by file extension.

parse(data, name, **options) -> Parsed (.text, .encoding, .title, .headings, .pages), or
a ParseError subclass: UnsupportedFormat (no parser for the extension), CorruptDocument (truncated, damaged,
or not what its name says), EncryptedDocument, EncodingError, EmptyDocument, ZipBomb.
The options (legacy_encoding, encoding_min_confidence, max_unzipped_bytes, max_zip_ratio)
are those of Options.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded

from ingest_tasks.core.errors import CorruptDocument, EmptyDocument, ParseError, UnsupportedFormat
from ingest_tasks.pipeline.parse.csvfile import parse_csv
from ingest_tasks.pipeline.parse.docx import parse_docx
from ingest_tasks.pipeline.parse.epub import parse_epub
from ingest_tasks.pipeline.parse.html import parse_html
from ingest_tasks.pipeline.parse.mail import parse_eml, parse_mbox
from ingest_tasks.pipeline.parse.odt import parse_odt
from ingest_tasks.pipeline.parse.options import Options
from ingest_tasks.pipeline.parse.parsed import Parsed
from ingest_tasks.pipeline.parse.pdf import parse_pdf
from ingest_tasks.pipeline.parse.pptx import parse_pptx
from ingest_tasks.pipeline.parse.sniff import Kind, sniff
from ingest_tasks.pipeline.parse.text import parse_markdown, parse_text
from ingest_tasks.pipeline.parse.xlsx import parse_xlsx

__all__ = ["FORMATS", "Options", "Parsed", "parse"]

Parser = Callable[[bytes, Options], Parsed]


@dataclass(frozen=True)
class Format:
    """A file format we parse: its name for messages, its parser, the kinds of bytes it takes."""

    name: str
    parser: Parser
    kinds: tuple[str, ...]


_DOCX = Format("a .docx (Word) file", parse_docx, ("zip", "ole"))  # ole: docx.py says which
_HTML = Format("HTML", parse_html, ("text",))
_TEXT = Format("text", parse_text, ("text",))
_MARKDOWN = Format("text", parse_markdown, ("text",))  # failure reasons as for text
_PDF = Format("a PDF", parse_pdf, ("pdf",))
_CSV = Format("CSV", parse_csv, ("text",))
FORMATS: dict[str, Format] = {
    ".docx": _DOCX,
    **dict.fromkeys((".html", ".htm", ".xhtml"), _HTML),
    **dict.fromkeys((".txt", ".text", ".rst"), _TEXT),
    **dict.fromkeys((".md", ".markdown"), _MARKDOWN),
    ".pdf": _PDF,
    ".pptx": Format("a .pptx (PowerPoint) file", parse_pptx, ("zip", "ole")),  # ole: it says
    ".xlsx": Format("an .xlsx (Excel) file", parse_xlsx, ("zip", "ole")),  # which Office file
    ".csv": _CSV,
    ".tsv": _CSV,
    ".odt": Format("an .odt (OpenDocument text) file", parse_odt, ("zip",)),
    ".epub": Format("an EPUB book", parse_epub, ("zip",)),
    ".eml": Format("an e-mail message", parse_eml, ("text",)),
    ".mbox": Format("an mbox mailbox", parse_mbox, ("text",)),
}


def parse(data: bytes, name: str, **options: Any) -> Parsed:
    """The text of a document and its encoding, or a ParseError subclass saying why not."""
    opts = Options(**options)
    if not data:
        raise EmptyDocument("zero-byte file")
    kind = sniff(data)
    fmt = _format_for(name, kind)
    if kind.name not in fmt.kinds:
        raise CorruptDocument(f"bytes are {kind.what}, not {fmt.name}")
    try:
        parsed = fmt.parser(data, opts)
    except (ParseError, SoftTimeLimitExceeded):  # the task's time limit is no parser failure
        raise
    except Exception as exc:  # the contract: text or a ParseError, never a raw exception
        raise CorruptDocument(f"{fmt.name} parser failed: {type(exc).__name__}: {exc}") from exc
    if not parsed.text.strip():
        raise EmptyDocument(f"no text after parsing as {fmt.name}")
    return parsed


def _format_for(name: str, kind: Kind) -> Format:
    """The format the file name's extension asks for."""
    suffix = PurePath(name).suffix.lower()
    if suffix not in FORMATS:
        what = f"{suffix} files" if suffix else "files without an extension"
        raise UnsupportedFormat(f"no parser for {what} ({name!r}; the bytes are {kind.what})")
    return FORMATS[suffix]
