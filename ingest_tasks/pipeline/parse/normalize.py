"""Whitespace normalisation shared by the parsers: tidy lines, no runs of blank lines."""

from __future__ import annotations

import re

_BREAKS = str.maketrans({"\r": "\n", "\f": "\n", "\v": "\n", "\u2028": "\n", "\u2029": "\n\n"})
_BLANK_RUNS = re.compile(r"\n{3,}")
_SPACES = re.compile(r"[^\S\n\t]+")
_TABS = re.compile(r" ?\t[\t ]*")


def tidy(text: str) -> str:
    """Unify line ends, strip trailing spaces and BOMs, keep at most one blank line in a row."""
    text = text.replace("\r\n", "\n").translate(_BREAKS).replace("\ufeff", "")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_RUNS.sub("\n\n", text).strip()


def collapse(text: str) -> str:
    """Collapse spaces in every line (tabs stay single tabs) and strip each line."""
    lines = (_TABS.sub("\t", _SPACES.sub(" ", line)).strip() for line in text.split("\n"))
    return "\n".join(lines)


def join_blocks(blocks: list[str]) -> str:
    """Blocks of text (paragraphs, tables) separated by one blank line, empty ones dropped."""
    return join_blocks_at(blocks)[0]


def join_blocks_at(blocks: list[str]) -> tuple[str, list[int]]:
    """join_blocks, and where each block starts in its result (see join_tidied)."""
    return join_tidied([tidy(collapse(block)) for block in blocks])


def block_at(text: str, start: int) -> str:
    """The block of joined text that starts at `start`, on one line."""
    end = text.find("\n\n", start)
    return " ".join(text[start : end if end >= 0 else len(text)].split())


def join_tidied(blocks: list[str]) -> tuple[str, list[int]]:
    """Tidied blocks separated by one blank line, empty ones dropped, and where each starts
    in the result (an empty one where the next block starts): tidy of the blocks joined."""
    starts, at = [], 0
    for block in blocks:
        starts.append(at)
        at += len(block) + 2 if block else 0
    text = "\n\n".join(filter(None, blocks))
    return text, [min(start, len(text)) for start in starts]
