"""Plain text and Markdown: decode, tidy whitespace, keep the markup."""

from __future__ import annotations

from ingest_tasks.core.errors import EmptyDocument
from ingest_tasks.pipeline.parse.encoding import decode_text
from ingest_tasks.pipeline.parse.normalize import tidy
from ingest_tasks.pipeline.parse.options import Options
from ingest_tasks.pipeline.parse.parsed import Parsed


def parse_text(data: bytes, options: Options) -> Parsed:
    """The text of a .txt/.md/.rst file, with line ends and blank lines tidied."""
    text, codec = decode_text(data, options)
    text = tidy(text)
    if not text:
        raise EmptyDocument(f"only whitespace ({len(data)} bytes)")
    return Parsed(text, codec)
