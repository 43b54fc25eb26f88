"""HTML: decode the bytes ourselves, parse with html.parser, keep visible text by block."""

from __future__ import annotations

import re
import warnings
from bisect import bisect_right
from itertools import accumulate
from typing import Self

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PreformattedString

from ingest_tasks.core.errors import EmptyDocument
from ingest_tasks.pipeline.parse.encoding import decode_html
from ingest_tasks.pipeline.parse.normalize import block_at, join_blocks, join_blocks_at
from ingest_tasks.pipeline.parse.options import Options
from ingest_tasks.pipeline.parse.parsed import Heading, Parsed

# fmt: off
DROPPED = frozenset((
    "script", "style", "noscript", "template", "svg", "iframe", "button", "select", "nav",
    "title", "object", "canvas", "math", "audio", "video",
))
BLOCKS = frozenset((
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
    "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
    "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "html", "legend", "li",
    "main", "menu", "ol", "p", "pre", "section", "summary", "table", "tbody", "tfoot", "thead",
    "tr", "ul",
))
# fmt: on
CELLS = frozenset(("td", "th"))
_WS = re.compile(r"\s+")
# Comments, marked sections, scripts and styles, as html.parser tokenises them (whichever
# opens first wins); cutting them before BeautifulSoup halves the work on script-heavy pages.
_RAW_OPEN = re.compile(r"<!--|<!\[|<(script|style)\b", re.IGNORECASE)
_RAW_CLOSE = {
    "<!--": re.compile(r"--\s*>"),
    "<![": re.compile(r"\]\s*>"),
    "script": re.compile(r"</script\s*>", re.IGNORECASE),
    "style": re.compile(r"</style\s*>", re.IGNORECASE),
}
_TAG_OPEN = re.compile(r"<[a-zA-Z/!?]")


class _Mark(str):
    """A separator pushed on the walk stack, told apart from the document's own strings."""


class _HeadingMark(_Mark):
    """Where a heading element's text starts (no text itself), and its level."""

    level: int

    def __new__(cls, level: int) -> Self:
        """The mark of a heading of level `level`."""
        made = super().__new__(cls, "")
        made.level = level
        return made


_BLOCK, _CELL, _LINE, _PRE_END = _Mark("\n\n"), _Mark("\t"), _Mark("\n"), _Mark("")
_HEADING_MARKS = {f"h{level}": _HeadingMark(level) for level in range(1, 7)}


def parse_html(data: bytes, options: Options) -> Parsed:
    """The title and visible text of an HTML page, one block per paragraph-like element,
    and its headings h1-h6; its title is its <title>, else its first h1."""
    markup, codec = decode_html(data, options)
    markup = _cut_open_tail(_cut_raw(markup))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # XMLParsedAsHTML, MarkupResemblesLocator
        soup = BeautifulSoup(markup, "html.parser", multi_valued_attributes=None)
    title = _title(soup)
    body, headings = _body(_pieces(soup))
    shown = "" if body.split("\n", 1)[0] == title else title  # a page repeating its title
    text = join_blocks([shown, body])  # as its first heading shows it once
    if not text:
        raise EmptyDocument(f"no visible text in {len(data)} bytes of HTML")
    shift = len(text) - len(body)
    moved = tuple(Heading(h.start + shift, h.level, h.text) for h in headings)
    first = next((h.text for h in moved if h.level == 1), "")
    return Parsed(text, codec, title or first, moved)


def _body(pieces: list[str]) -> tuple[str, list[Heading]]:
    """The text of the walk's pieces, as blocks joined by blank lines, and its headings."""
    raw = "".join(pieces)
    blocks = raw.split("\n\n")
    block_starts = list(accumulate((len(block) + 2 for block in blocks[:-1]), initial=0))
    body, starts = join_blocks_at(blocks)
    starts.append(len(body))
    headings, at = [], 0
    for piece in pieces:
        if isinstance(piece, _HeadingMark):
            block = bisect_right(block_starts, at) - 1
            start = starts[block]
            if start < starts[block + 1]:  # else the heading's block was empty, and dropped
                headings.append(Heading(start, piece.level, block_at(body, start)))
        at += len(piece)
    return body, headings


def _cut_raw(markup: str) -> str:
    """The markup without its comments, marked sections, scripts and styles.

    In time linear in the page's length: a regex that looked for each one's end, and
    html.parser (Python 3.11.7) too, scanned the rest of the page for every one left
    unclosed; a page of 128 KB of `<script>` or `<!--` took a minute.
    """
    kept: list[str] = []
    at, ends = 0, _RawEnds(markup)
    for opened in _RAW_OPEN.finditer(markup):
        if opened.start() >= at:
            end = ends.of(opened)
            if end is not None:
                kept.append(markup[at : opened.start()])
                at = end
    kept.append(markup[at:])
    return "".join(kept)


class _RawEnds:
    """Where each comment, marked section, script or style ends; no search is made twice."""

    def __init__(self, markup: str):
        """Ends in `markup`; none known yet."""
        self.markup, self.gt = markup, -1
        self.unclosed: set[str] = set()

    def of(self, opened: re.Match) -> int | None:
        """Where the cut that `opened` starts ends, or None to leave it to html.parser."""
        kind = (opened.group(1) or opened.group(0)).lower()
        body = opened.end()
        if kind in ("script", "style"):
            body = self._next_gt(body) + 1  # past the opening tag
            if body > len(self.markup):
                return None  # no '>' is left: _cut_open_tail drops it
        closed = None if kind in self.unclosed else _RAW_CLOSE[kind].search(self.markup, body)
        if closed is not None:
            return closed.end()
        self.unclosed.add(kind)  # nothing after this one closes it either
        if kind == "<!--":
            return len(self.markup)  # HTML5: a comment left open runs to the end
        if kind == "<![":
            return min(self._next_gt(body) + 1, len(self.markup))  # a bogus comment, to '>'
        return None  # html.parser keeps the rest as the script's or style's, dropped

    def _next_gt(self, start: int) -> int:
        """The first '>' at or after `start` (len(markup) if none), each found once."""
        if self.gt < start:
            found = self.markup.find(">", start)
            self.gt = found if found >= 0 else len(self.markup)
        return self.gt


def _cut_open_tail(markup: str) -> str:
    """Drop a tag left open at the end, as HTML5 does at the end of the file; html.parser
    would look for its '>' again from every '<' after it (quadratic)."""
    opened = _TAG_OPEN.search(markup, markup.rfind(">") + 1)
    return markup if opened is None else markup[: opened.start()]


def _title(soup: BeautifulSoup) -> str:
    """The page title, not the <title> of an inline SVG."""
    for tag in soup.find_all("title", limit=10):
        if tag.find_parent("svg") is None:
            return _WS.sub(" ", tag.get_text()).strip()
    return ""


def _pieces(soup: BeautifulSoup) -> list[str]:
    """Text and separators in document order, without recursion (pages nest deeply)."""
    out: list[str] = []
    stack: list = [soup]
    in_pre = 0
    while stack:
        node = stack.pop()
        if type(node) is _Mark:
            if node is _PRE_END:
                in_pre -= 1
            out.append(node)
        elif isinstance(node, Tag):
            in_pre += _push(stack, node, out)
        elif isinstance(node, NavigableString) and not isinstance(node, PreformattedString):
            out.append(str(node) if in_pre else _WS.sub(" ", node))
    return out


def _push(stack: list, tag: Tag, out: list[str]) -> int:
    """Schedule a tag's children between its separators; 1 if it opens a <pre>."""
    name = tag.name
    if name in DROPPED:
        return 0
    if name == "br":
        out.append(_LINE)
        return 0
    after = _BLOCK if name in BLOCKS else _CELL if name in CELLS else None
    if after is not None:
        stack.append(after)
    if name == "pre":
        stack.append(_PRE_END)
    stack.extend(reversed(tag.contents))
    if name in BLOCKS:
        out.append(_BLOCK)
    if name in _HEADING_MARKS:
        out.append(_HEADING_MARKS[name])
    return name == "pre"
