"""Plain text and Markdown: decode, tidy whitespace, keep the markup; Markdown's headings."""

from __future__ import annotations

import re

from ingest_tasks.core.errors import EmptyDocument
from ingest_tasks.pipeline.parse.encoding import decode_text
from ingest_tasks.pipeline.parse.normalize import tidy
from ingest_tasks.pipeline.parse.options import Options
from ingest_tasks.pipeline.parse.parsed import Heading, Parsed

# CommonMark: an ATX heading is 1 to 6 '#' and a space; a setext heading is a line of text
# underlined by '=' (level 1) or '-' (level 2); neither inside a fenced code block
_ATX = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))??(?:[ \t]+#+)?[ \t]*")
_SETEXT = re.compile(r" {0,3}(=+|-+)[ \t]*")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_MARK_LINE = re.compile(r"^ {0,3}[#`~=-].*$", re.MULTILINE)  # a line any of them may match


def parse_text(data: bytes, options: Options) -> Parsed:
    """The text of a .txt/.md/.rst file, with line ends and blank lines tidied."""
    text, codec = decode_text(data, options)
    text = tidy(text)
    if not text:
        raise EmptyDocument(f"only whitespace ({len(data)} bytes)")
    return Parsed(text, codec)


def parse_markdown(data: bytes, options: Options) -> Parsed:
    """A Markdown file as text, with its headings; its title is a level-1 heading on line 1."""
    parsed = parse_text(data, options)
    headings = tuple(markdown_headings(parsed.text))
    first = headings[0] if headings else None
    title = first.text if first is not None and first.start == 0 and first.level == 1 else ""
    return Parsed(parsed.text, parsed.encoding, title, headings)


def markdown_headings(text: str) -> list[Heading]:
    """The ATX and setext headings of Markdown text, outside fenced code, in order.

    Only lines that start (after up to 3 spaces) with a mark of fence, ATX heading or setext
    underline can change anything; the others are only looked at as the line above one.
    """
    headings: list[Heading] = []
    fence, last = "", (-1, 0, "", False)  # the last mark line: its end, start, text, prose
    for found in _MARK_LINE.finditer(text):
        start, line = found.start(), found.group()
        above = last[1:] if last[0] == start - 1 else _line_above(text, start)
        mark = line.lstrip(" ")[0]
        fenced = _FENCE.fullmatch(line) if mark in "`~" else None
        atx = _ATX.fullmatch(line) if mark == "#" else None
        under = _SETEXT.fullmatch(line) if mark in "=-" else None
        prose = False
        if fence:
            fence = "" if _closes(fenced, fence) else fence
        elif fenced is not None:
            fence = fenced.group(1)
        elif atx is not None:
            headings.append(Heading(start + line.index("#"), len(atx.group(1)), atx.group(2) or ""))
        elif above[2] and under is not None:
            headings.append(Heading(above[0], 1 if mark == "=" else 2, above[1]))
        else:
            prose = bool(line.strip()) and under is None
        last = (found.end(), start, line.strip(), prose)
    return [heading for heading in headings if heading.text]


def _line_above(text: str, start: int) -> tuple[int, str, bool]:
    """Start, stripped text and prose-ness of the line above the one at `start`, which starts
    with no mark (so it is prose if it is not blank; outside a fence, as the caller knows)."""
    if start == 0:
        return 0, "", False
    begin = text.rfind("\n", 0, start - 1) + 1
    above = text[begin : start - 1].strip()
    return begin, above, bool(above)


def _closes(fenced: re.Match | None, fence: str) -> bool:
    """True if the line matched closes the fenced code block `fence` opened."""
    return (fenced is not None and fenced.group(1)[0] == fence[0]
            and len(fenced.group(1)) >= len(fence) and not fenced.group(2).strip())
