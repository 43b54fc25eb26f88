"""Plain text and Markdown: decode, tidy whitespace, keep the markup."""

from __future__ import annotations

from ..errors import EmptyDocument
from .encoding import decode
from .normalize import tidy
from .options import Options


def parse_text(data: bytes, options: Options) -> str:
    """The text of a .txt/.md/.rst file, with line ends and blank lines tidied."""
    text = tidy(decode(data, legacy_encoding=options.legacy_encoding))
    if not text:
        raise EmptyDocument(f"only whitespace ({len(data)} bytes)")
    return text
