"""Listing a source: a folder's files or an S3 prefix's objects, as Entry records."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ingest_tasks.sync import folder, s3
from ingest_tasks.sync.entry import Entry

if TYPE_CHECKING:
    from ingest_tasks.core.settings import Settings
    from ingest_tasks.sync.sources import Source


def list_source(source: Source, settings: Settings,
                under: list[str] | None = None) -> Iterator[Entry]:
    """The documents of a source; with `under`, only those at or below these relative paths."""
    if source.is_s3:
        return s3.list_entries(source, settings, under)
    return folder.list_entries(source, under)
