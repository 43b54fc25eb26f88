"""Plain text and Markdown: decode, tidy whitespace, keep the markup."""

from __future__ import annotations

from ..errors import EmptyDocument
from .encoding import decode_text
from .normalize import tidy
from .options import Options
from .parsed import Parsed


def parse_text(data: bytes, options: Options) -> Parsed:
    """The text of a .txt/.md/.rst file, with line ends and blank lines tidied."""
    text, codec = decode_text(data, options)
    text = tidy(text)
    if not text:
        raise EmptyDocument(f"only whitespace ({len(data)} bytes)")
    return Parsed(text, codec)
