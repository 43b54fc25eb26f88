"""HTML: decode the bytes ourselves, parse with html.parser, keep visible text by block."""

from __future__ import annotations

import re
import warnings

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PreformattedString

from ..errors import EmptyDocument
from .encoding import decode, html_charset
from .normalize import join_blocks

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
# Comments, scripts and styles, as html.parser would tokenise them (whichever opens first wins);
# cutting them before BeautifulSoup halves the work on script-heavy pages.
_RAW_SKIPPED = re.compile(
    r"<!--.*?-->|<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL
)


class _Mark(str):
    """A separator pushed on the walk stack, told apart from the document's own strings."""


_BLOCK, _CELL, _LINE, _PRE_END = _Mark("\n\n"), _Mark("\t"), _Mark("\n"), _Mark("")


def parse_html(data: bytes, legacy_encoding: str = "") -> str:
    """The title and visible text of an HTML page, one block per paragraph-like element."""
    markup = decode(data, declared=html_charset(data), legacy_encoding=legacy_encoding)
    markup = _RAW_SKIPPED.sub("", markup)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # XMLParsedAsHTML, MarkupResemblesLocator
        soup = BeautifulSoup(markup, "html.parser", multi_valued_attributes=None)
    title = _title(soup)
    body = join_blocks("".join(_pieces(soup)).split("\n\n"))
    if body.split("\n", 1)[0] == title:
        title = ""  # the page repeats its title as its first heading
    text = join_blocks([title, body])
    if not text:
        raise EmptyDocument(f"no visible text in {len(data)} bytes of HTML")
    return text


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


def _push(stack: list, tag: Tag, out: list[str]) -> bool:
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
    return name == "pre"
