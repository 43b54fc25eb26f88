"""What parsing one document gives: its text, and what was learnt reading it."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class Heading:
    """A heading of the document: where it starts in Parsed.text, its level (1 = top), its text."""

    start: int
    level: int
    text: str


@dataclass(frozen=True)
class Parsed:
    """A document's text, the codec its bytes were decoded with ('' for .docx and PDF), and
    its structure: title, headings and (PDF) page starts, as offsets into `text`."""

    text: str
    encoding: str = ""  # a Python codec name: utf-8, cp1252, utf-16-le, ...
    title: str = ""  # the document's title ('' if none known)
    headings: tuple[Heading, ...] = ()  # in text order
    pages: tuple[int, ...] = ()  # PDF: pages[i] is the offset in text where page i+1 starts

    def heading_path(self, offset: int) -> tuple[str, ...]:
        """The texts of the headings `offset` falls under, outermost first."""
        under = bisect_right(self._heading_starts, offset)
        return self._heading_paths[under - 1] if under else ()

    @cached_property
    def _heading_starts(self) -> list[int]:
        return [heading.start for heading in self.headings]

    @cached_property
    def _heading_paths(self) -> list[tuple[str, ...]]:
        """The path under each heading, itself last (a chunk asks for one: a bisection)."""
        paths: list[tuple[str, ...]] = []
        path: list[Heading] = []
        for heading in self.headings:
            while path and path[-1].level >= heading.level:
                path.pop()
            path.append(heading)
            paths.append(tuple(h.text for h in path))
        return paths

    def page_range(self, start: int, end: int) -> tuple[int, int] | None:
        """The first and last page (from 1) of the text in [start, end); None without pages."""
        if not self.pages:
            return None
        last = max(start, end - 1)
        return max(bisect_right(self.pages, start), 1), max(bisect_right(self.pages, last), 1)
