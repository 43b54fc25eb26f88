"""Whitespace normalisation shared by the parsers: tidy lines, no runs of blank lines."""

from __future__ import annotations

import re

_BREAKS = str.maketrans({"\r": "\n", "\f": "\n", "\v": "\n", "\u2028": "\n", "\u2029": "\n\n"})
_ODD_BREAKS = "\r\f\v\u2028\u2029"
_BLANK_RUNS = re.compile(r"\n{3,}")
_SPACES = re.compile(r"[^\S\n\t]+")
_TABS = re.compile(r" ?\t[\t ]*")


def tidy(text: str) -> str:
    """Unify line ends, strip trailing spaces and BOMs, keep at most one blank line in a row."""
    text = text.replace("\r\n", "\n").replace("\ufeff", "")
    if any(mark in text for mark in _ODD_BREAKS):  # translate() is slow on non-ASCII text
        text = text.translate(_BREAKS)
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
    return join_tidied([_tidy_collapsed(collapse(block)) for block in blocks])


def _tidy_collapsed(text: str) -> str:
    """tidy() of a text collapse() gave, faster: its lines are stripped already, and the odd
    line breaks tidy() unifies (\r, \f, \v, U+2028/9) were whitespace it made spaces."""
    if "\ufeff" in text:
        return tidy(text)
    return _BLANK_RUNS.sub("\n\n", text).strip() if "\n" in text else text


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
