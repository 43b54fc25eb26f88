"""Sending single changes: one document to the stream lane, and tombstones, few or many.

The client and the sources' syncs both send through here. A small file travels inline
(the stream worker need not read it); a larger one, or an S3 object, by reference. A few
tombstones go to the stream lane one message each; more go to the bulk lane in groups.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from celery.result import AsyncResult

from ingest_tasks.lanes.app import IngestApp
from ingest_tasks.lanes.tasks import BULK_DELETE, STREAM_DELETE, STREAM_INGEST
from ingest_tasks.pipeline.sources import DocRef, is_remote, read_file


def stream(app: IngestApp, ref: DocRef, model: str | None = None) -> AsyncResult:
    """Send one document to the stream lane, inline if it is a small file; its AsyncResult."""
    settings = app.settings
    if not ref.content and not is_remote(ref.source) and ref.size <= settings.inline_max_bytes:
        data = read_file(Path(ref.source), settings.max_document_bytes)
        ref = replace(ref, content=DocRef.inline(ref.doc_id, data, ref.source, ref.version).content,
                      size=len(data))
    return app.send_task(STREAM_INGEST, args=[replace(ref, submitted=time.time()).to_dict(), model])


def delete(app: IngestApp, doc_id: str, version: int, model: str | None = None) -> AsyncResult:
    """Send the removal of one document, a tombstone at `version`, to the stream lane."""
    return app.send_task(STREAM_DELETE, args=[doc_id, version, model])


def delete_many(app: IngestApp, deletes: Sequence[tuple[str, int]],
                model: str | None = None) -> list[AsyncResult]:
    """Send tombstones: to the stream lane if they are few (INGEST_STREAM_MAX_DOCS), else to
    the bulk lane in groups of INGEST_GROUP_MAX_DOCS; the tasks' AsyncResults."""
    settings = app.settings
    if len(deletes) <= settings.stream_max_docs:
        return [delete(app, doc_id, version, model) for doc_id, version in deletes]
    size = settings.group_max_docs
    return [app.send_task(BULK_DELETE, args=[[list(pair) for pair in deletes[at:at + size]], model])
            for at in range(0, len(deletes), size)]
