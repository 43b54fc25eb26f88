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
    return tidy("\n\n".join(collapse(block) for block in blocks if block.strip()))
