"""How to parse one document: the legacy encoding to accept, and what it may cost."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Options:
    """Parse options; the defaults are those of the INGEST_* settings of the same names."""

    legacy_encoding: str = ""  # e.g. cp1252: accept undeclared non-UTF-8 text in it
    max_unzipped_bytes: int = 128 * 1024 * 1024  # a zip's parts, declared and counted
    max_zip_ratio: int = 100  # unzipped:zipped of any part past 1 MiB
