"""How to parse one document: the encodings to accept, and what it may cost."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Options:
    """Parse options; the defaults are those of the INGEST_* settings of the same names."""

    legacy_encoding: str = ""  # e.g. cp1252: for text not detected, and HTML's fallback
    encoding_min_confidence: float = 0.1  # to decode undeclared non-UTF-8 text as detected
    max_unzipped_bytes: int = 128 * 1024 * 1024  # a zip's parts, declared and counted
    max_zip_ratio: int = 100  # unzipped:zipped of any part past 1 MiB
