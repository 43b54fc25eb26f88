"""What parsing one document gives: its text, and what was learnt reading it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Parsed:
    """A document's text, and the codec its bytes were decoded with ('' for .docx and PDF)."""

    text: str
    encoding: str = ""  # a Python codec name: utf-8, cp1252, utf-16-le, ...
