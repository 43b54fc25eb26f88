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
    """The ATX and setext headings of Markdown text, outside fenced code, in order."""
    headings: list[Heading] = []
    fence, at, paragraph = "", 0, None  # paragraph: start and text of the line before, if prose
    for line in text.split("\n"):
        fenced, atx, under = _FENCE.fullmatch(line), _ATX.fullmatch(line), _SETEXT.fullmatch(line)
        prose = False
        if fence:
            fence = "" if _closes(fenced, fence) else fence
        elif fenced is not None:
            fence = fenced.group(1)
        elif atx is not None:
            headings.append(Heading(at + line.index("#"), len(atx.group(1)), atx.group(2) or ""))
        elif paragraph is not None and under is not None:
            headings.append(Heading(paragraph[0], 1 if line.strip()[0] == "=" else 2, paragraph[1]))
        else:
            prose = bool(line.strip()) and under is None
        paragraph = (at, line.strip()) if prose else None
        at += len(line) + 1
    return [heading for heading in headings if heading.text]


def _closes(fenced: re.Match | None, fence: str) -> bool:
    """True if the line matched closes the fenced code block `fence` opened."""
    return (fenced is not None and fenced.group(1)[0] == fence[0]
            and len(fenced.group(1)) >= len(fence) and not fenced.group(2).strip())
