"""Text built block by block, with the offsets of the headings among the blocks."""

from __future__ import annotations

from ingest_tasks.pipeline.parse.normalize import collapse, join_tidied, tidy
from ingest_tasks.pipeline.parse.parsed import Heading, Parsed


class Outline:
    """Blocks joined as join_blocks joins them; the headings among them know their offset."""

    def __init__(self) -> None:
        self._blocks: list[tuple[str, int]] = []  # (tidied block, heading level or 0)

    def add(self, text: str, level: int = 0) -> None:
        """Append a block (dropped if blank); a `level` above 0 makes it a heading."""
        block = tidy(collapse(text))
        if block:
            self._blocks.append((block, level))

    @property
    def empty(self) -> bool:
        """Whether no block holds text."""
        return not self._blocks

    def parsed(self, encoding: str = "", title: str = "") -> Parsed:
        """The text of the blocks, its headings, and the given codec and title."""
        text, starts = join_tidied([block for block, _ in self._blocks])
        headings = tuple(Heading(start, level, block)
                         for (block, level), start in zip(self._blocks, starts) if level)
        return Parsed(text, encoding, title, headings)
