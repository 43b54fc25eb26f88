"""Text built block by block, with the offsets of the headings among the blocks."""

from __future__ import annotations

from ingest_tasks.pipeline.parse.normalize import collapse, tidy
from ingest_tasks.pipeline.parse.parsed import Heading, Parsed


class Outline:
    """Blocks joined by one blank line, as join_blocks joins them; headings know their offset."""

    def __init__(self) -> None:
        self._blocks: list[str] = []
        self._headings: list[Heading] = []
        self._size = 0

    def add(self, text: str, level: int = 0) -> None:
        """Append a block (dropped if blank); a `level` above 0 makes it a heading."""
        block = tidy(collapse(text))
        if not block:
            return
        start = self._size + 2 if self._blocks else 0
        if level > 0:
            self._headings.append(Heading(start, level, block))
        self._blocks.append(block)
        self._size = start + len(block)

    @property
    def empty(self) -> bool:
        """Whether no block holds text."""
        return not self._blocks

    def parsed(self, encoding: str = "", title: str = "") -> Parsed:
        """The text of the blocks, its headings, and the given codec and title."""
        return Parsed("\n\n".join(self._blocks), encoding, title, tuple(self._headings))
