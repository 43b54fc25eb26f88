"""Cut text into overlapping windows of the embedding model's own tokens.

A window's edges snap to the nearest paragraph, sentence or word boundary within `snap`
tokens of the cut, in that order of preference, so that a chunk does not end mid-word.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ingest_tasks.store.base import HEADING, PAGE_END, PAGE_START, SECTION

_SENTENCE_ENDS = ".!?…。！？"
_CLOSERS = "\"')]}»”’"
# boundary kinds, best first
_PARAGRAPH, _SENTENCE, _WORD, _NONE = 3, 2, 1, 0


@dataclass(frozen=True)
class Place:
    """Where a chunk lies in its document: the headings it falls under, its pages (PDF)."""

    heading: str = ""  # the path of headings at its start, outermost first, joined by " > "
    section: str = ""  # the innermost of them
    pages: tuple[int, int] | None = None  # first and last page, from 1

    def metadata(self) -> dict[str, str | int]:
        """Its chunk metadata fields; none for what is unknown (Chroma holds no None)."""
        meta: dict[str, str | int] = {HEADING: self.heading, SECTION: self.section}
        if self.pages is not None:
            meta.update({PAGE_START: self.pages[0], PAGE_END: self.pages[1]})
        return {key: value for key, value in meta.items() if value != ""}

    @classmethod
    def of(cls, headings: tuple[str, ...], pages: tuple[int, int] | None) -> Place:
        """The place under these headings (outermost first), on these pages."""
        return cls(" > ".join(headings), headings[-1] if headings else "", pages)

    @classmethod
    def from_metadata(cls, meta: Mapping[str, object]) -> Place:
        """Inverse of metadata()."""
        start, end = meta.get(PAGE_START), meta.get(PAGE_END)
        pages = (start, end) if isinstance(start, int) and isinstance(end, int) else None
        return cls(str(meta.get(HEADING, "")), str(meta.get(SECTION, "")), pages)


@dataclass(frozen=True)
class Chunk:
    """One window of a document's text."""

    index: int
    text: str
    ids: tuple[int, ...]  # its model token ids, embedded without tokenizing the text again
    place: Place = Place()

    @property
    def tokens(self) -> int:
        """How many model tokens it holds."""
        return len(self.ids)


def chunk_text(text: str, ids: list[int], spans: list[tuple[int, int]], size: int,
               overlap: int, snap: int = 0,
               place: Callable[[int, int], Place] | None = None) -> list[Chunk]:
    """Windows of at most `size` tokens, each sharing up to `overlap` tokens with the previous.

    `ids` and `spans` are the text's tokens and their character offsets, as the model's
    tokenizer gives them. An end moves back, and a start forward, by at most `snap` tokens
    to a boundary (never to more overlap, never leaving a gap). `place(start, end)` says
    where the characters [start, end) of a chunk lie.
    """
    if not 0 <= overlap < size:
        raise ValueError("need 0 <= overlap < size")
    chunks: list[Chunk] = []
    for start, end in _windows(text, spans, size, overlap, snap):
        first, last = spans[start][0], spans[end - 1][1]
        piece = text[first:last].strip()
        if piece:
            where = place(first, last) if place is not None else Place()
            chunks.append(Chunk(len(chunks), piece, tuple(ids[start:end]), where))
    return chunks


def _windows(text: str, spans: list[tuple[int, int]], size: int, overlap: int,
             snap: int) -> list[tuple[int, int]]:
    """The token ranges [start, end) of the windows, in order, covering every token."""
    windows: list[tuple[int, int]] = []
    start, count = 0, len(spans)
    while start < count:
        end = min(start + size, count)
        if end < count:  # the end moves back, leaving room for progress past the overlap
            end = _snapped(text, spans, range(end, max(end - snap, start + overlap + 1) - 1, -1))
        windows.append((start, end))
        if end == count:
            break
        start = _snapped(text, spans, range(end - overlap, min(end - overlap + snap, end) + 1))
    return windows


def _snapped(text: str, spans: list[tuple[int, int]], cuts: range) -> int:
    """The first of the cuts at the best boundary; the first cut if none is a boundary."""
    return max(cuts, key=lambda cut: _boundary(text, spans, cut))


def _boundary(text: str, spans: list[tuple[int, int]], cut: int) -> int:
    """What kind of boundary lies between token cut-1 and token cut."""
    if cut <= 0 or cut >= len(spans):
        return _PARAGRAPH
    before, after = spans[cut - 1][1], spans[cut][0]
    gap = text[before:after] if before < after else ""
    token = text[after : spans[cut][1]]
    gap += token[: len(token) - len(token.lstrip())]  # a BPE token starts with its space
    if not gap.isspace():  # '' is no space either
        return _NONE
    if "\n\n" in gap:
        return _PARAGRAPH
    last = text[max(before - 8, 0) : before].rstrip(_CLOSERS)[-1:]
    return _SENTENCE if "\n" in gap or (last and last in _SENTENCE_ENDS) else _WORD


def chunk_id(doc_id: str, index: int) -> str:
    """The deterministic id of a document's chunk."""
    return f"{doc_id}#{index}"
