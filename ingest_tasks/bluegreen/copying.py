"""Copy documents from one collection into another, embedded with the other's model.

What is copied is the index itself: each document's chunks as the source collection
holds them, with the caller's metadata they carry, under its registry entry (version,
content and metadata hashes, size), read together under the document's commit lock so
they agree. The chunk texts are cut again only where the target model's window is
smaller, then embedded and committed to the target through the same check-and-set as
every write: a newer version or a tombstone already in the target wins. A document
deleted in the source is deleted in the target, leaving the same tombstone.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ingest_tasks.core.errors import EmptyDocument
from ingest_tasks.core.results import UNCHANGED, ProcessingResult
from ingest_tasks.pipeline.chunk import Chunk, Place, chunk_text
from ingest_tasks.pipeline.commit import Prepared, commit_documents, delete_document
from ingest_tasks.pipeline.metadata import metadata_hash
from ingest_tasks.pipeline.sources import DocRef
from ingest_tasks.state import changes, registry
from ingest_tasks.state.registry import COMMITTED, DELETED, Entry
from ingest_tasks.store.base import TITLE, Metadata, caller_metadata

if TYPE_CHECKING:
    from ingest_tasks.core.settings import Settings
    from ingest_tasks.pipeline.embed import Embedder
    from ingest_tasks.pipeline.resources import Resources
    from ingest_tasks.state.alias import Target


def copy_documents(doc_ids: list[str], source: Target, target: Target, resources: Resources,
                   bulk: bool = True) -> list[ProcessingResult]:
    """Bring these documents in `target` to their state in `source`; clear their change marks.

    A document the target already holds at the source's version is skipped unread.
    """
    redis, store = resources.redis, resources.store
    with registry.locked(redis, source.collection, doc_ids,
                         lease=resources.settings.lock_lease_seconds):
        found = registry.get_many(redis, source.collection, doc_ids)
        marks = changes.read(redis, target.collection, doc_ids)
        there = registry.get_many(redis, target.collection, doc_ids)
        held = {d: e for d, e in found.items() if e is not None}
        todo = [d for d in doc_ids if d in held and not _same_entry(held[d], there[d])]
        chunks = store.chunks_of(resources.collection(source),
                                 [d for d in todo if held[d].state == COMMITTED])
    results = [ProcessingResult(d, "", UNCHANGED, chunks=held[d].chunks if d in held else 0)
               for d in doc_ids if d not in todo]
    embedder = resources.embedder(target.model)
    ready = []
    for doc_id in todo:
        entry = held[doc_id]
        if entry.state == DELETED:
            results.append(delete_document(doc_id, entry.version, target, resources))
            continue
        rows = chunks.get(doc_id, [])
        problem = _disagrees(entry, rows)
        if problem:
            results.append(ProcessingResult.failure(doc_id, "", f"source-inconsistent: {problem}"))
            marks.pop(doc_id, None)  # keep it owed: the next catch-up reads it again
            continue
        try:
            ready.append(_prepared(doc_id, entry, rows, embedder, resources.settings))
        except EmptyDocument as exc:
            results.append(ProcessingResult.failure(doc_id, rows[0][1]["source"], exc.reason))
            marks.pop(doc_id, None)
    if ready:
        results += commit_documents(ready, embedder, target, resources,
                                    {d.ref.doc_id: there[d.ref.doc_id] for d in ready}, bulk)
    changes.clear(redis, target.collection, marks)
    return results


def _same_entry(held: Entry, there: Entry | None) -> bool:
    """True if the target holds the source's entry (new metadata at one version is a change)."""
    return there is not None and ((there.version, there.state, there.meta_hash)
                                  == (held.version, held.state, held.meta_hash))


def _disagrees(entry: Entry, rows: list[tuple[str, Metadata]]) -> str:
    """Why the chunks read do not make up the registered text ("" if they do).

    The text and the caller's metadata, not the version: a new version of unchanged
    content is recorded without writing its chunks again, so they may carry an older version.
    """
    hashes = {meta["content_hash"] for _, meta in rows}
    if len(rows) != entry.chunks or hashes - {entry.content_hash}:
        return (f"{len(rows)} chunks of texts {sorted(hashes)} held, the registry says "
                f"{entry.chunks} of text {entry.content_hash} (version {entry.version})")
    metas = {metadata_hash(caller_metadata(meta)) for _, meta in rows}
    if metas - {entry.meta_hash}:
        return (f"chunks of metadata {sorted(metas)} held, the registry says metadata "
                f"{entry.meta_hash!r} (version {entry.version})")
    return ""


def _prepared(doc_id: str, entry: Entry, rows: list[tuple[str, Metadata]], embedder: Embedder,
              settings: Settings) -> Prepared:
    """A document's chunks as the target model will embed them: cut again where too long."""
    started = time.perf_counter()
    chunks: list[Chunk] = []
    for text, row in rows:
        ids, spans = embedder.tokenize(text)
        place = Place.from_metadata(row)  # a piece of a chunk lies where the chunk did
        for piece in chunk_text(text, ids, spans, settings.chunk_tokens, settings.chunk_overlap,
                                settings.chunk_snap_tokens):
            chunks.append(Chunk(len(chunks), piece.text, piece.ids, place))
    if not chunks:
        raise EmptyDocument(f"no {embedder.name} tokens in the chunks of {doc_id}")
    meta = rows[0][1]
    ref = DocRef(doc_id, meta["source"], entry.version, entry.size,
                 metadata=caller_metadata(meta))
    return Prepared(ref, chunks, entry.content_hash, time.perf_counter() - started,
                    meta.get("encoding", ""), meta.get(TITLE, ""))
