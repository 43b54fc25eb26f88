"""Listing an S3 prefix (to be written: list_objects_v2 pages into Entry records)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ingest_tasks.sync.entry import Entry

if TYPE_CHECKING:
    from ingest_tasks.core.settings import Settings
    from ingest_tasks.sync.sources import Source


def list_entries(source: Source, settings: Settings, under: list[str] | None = None
                 ) -> Iterator[Entry]:
    """The supported objects under the source's prefix (or at and below `under`)."""
    raise NotImplementedError("S3 listing")
