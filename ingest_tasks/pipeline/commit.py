"""Commit: write a group's vectors to the store as a check-and-set against the registry.

Under the documents' commit locks, each write is checked against what the registry
holds now: an older version never overwrites a newer one, a tombstone is never
resurrected by a stale write, and unchanged content (the same text with the same caller's
metadata) is recorded without new vectors. New metadata on unchanged text is a change:
its chunks are written again, so that every chunk carries the document's metadata.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ingest_tasks.core.errors import LeaseLost
from ingest_tasks.core.keys import STREAM_QUEUE, WRITER_KEY
from ingest_tasks.core.results import COMMITTED, DELETED, SUPERSEDED, UNCHANGED, ProcessingResult
from ingest_tasks.core.timeline import Timeline
from ingest_tasks.pipeline.chunk import Chunk, chunk_id
from ingest_tasks.pipeline.metadata import metadata_hash
from ingest_tasks.pipeline.sources import DocRef
from ingest_tasks.state import alias, changes, latency, locks, registry
from ingest_tasks.state.registry import Entry
from ingest_tasks.store.base import PARENT, TITLE, ChunkRecord

if TYPE_CHECKING:
    from ingest_tasks.pipeline.embed import Embedder
    from ingest_tasks.pipeline.resources import Resources
    from ingest_tasks.state.alias import Target


@dataclass
class Prepared:
    """A document parsed and chunked, waiting for its vectors."""

    ref: DocRef
    chunks: list[Chunk]
    digest: str
    seconds: float
    encoding: str = ""  # the codec its bytes were decoded with; '' for .docx and PDF
    title: str = ""  # the document's title, '' if none is known
    children: tuple[DocRef, ...] = ()  # documents found in it: a mail's attachments

    def entry(self) -> Entry:
        """The registry entry this document has once committed."""
        return Entry(self.ref.version, COMMITTED, self.digest, len(self.chunks), self.ref.size,
                     metadata_hash(self.ref.metadata))


def commit_documents(docs: list[Prepared], embedder: Embedder, target: Target,
                     resources: Resources, known: dict[str, Entry | None],
                     bulk: bool = False, vectors: Mapping[str, np.ndarray] | None = None,
                     timeline: Timeline | None = None) -> list[ProcessingResult]:
    """Embed what changed, then write every document that still wins, in one batch.

    `vectors` holds documents' vectors computed before (by a Batch API): those are not
    embedded again. `timeline` gets the spans of embedding, waiting and writing.

    A bulk write waits for its turn at the collection (see `_writer_turn`). Writing, it is
    counted in the collection's gate (alias.writing), and what it wrote is marked in the
    change log of the collections this one feeds (changes.record). Turns, places in the gate
    and commit locks are leases (see locks): a holder that dies frees them within a lease,
    at once for waiters on its machine, and any wait ends in Busy, a retry.
    """
    timeline = timeline or Timeline()
    same = [d for d in docs if same_content(known.get(d.ref.doc_id), d)]
    fresh = [d for d in docs if d not in same]
    started = time.perf_counter()
    with timeline.span("embed", chunks=sum(len(d.chunks) for d in fresh)):
        rows = _vectors(fresh, embedder, vectors or {})
    embed_s = time.perf_counter() - started
    # built before the turn at the store, which waits for no more than it must
    built = {d.ref.doc_id: list(chunk_records(d, rows[d.ref.doc_id], embedder.name)) for d in fresh}
    redis, name = resources.redis, resources.collection(target)
    with ExitStack() as held:
        with timeline.span("wait"):  # for a turn at the collection, a swap's gate, the locks
            held.enter_context(_writer_turn(resources, name, bulk))
            held.enter_context(_gate(resources, target, bulk))
            lease = held.enter_context(_locked(resources, name, [d.ref.doc_id for d in docs]))
        now = registry.get_many(redis, name, [d.ref.doc_id for d in docs])
        cut_off = registry.unrecorded(redis, name, [d.ref.doc_id for d in docs])
        # Content that was unchanged before the lock may have changed since, or a write cut off
        # before it was recorded may have left other text in the store: embed it after.
        changed = [d for d in same if not same_content(now[d.ref.doc_id], d) or cut_off[d.ref.doc_id]]
        winners = [d for d in docs if d not in changed and not _outranked(now[d.ref.doc_id], d.ref)]
        written = [d for d in winners if d in fresh]
        started = time.perf_counter()
        records = [record for d in written for record in built[d.ref.doc_id]]
        longer = {d.ref.doc_id: len(d.chunks) for d in written
                  if _shrinks(now[d.ref.doc_id], d, cut_off[d.ref.doc_id])}
        _still_held(lease)
        registry.writing(redis, name, {d.ref.doc_id: max(len(d.chunks), cut_off[d.ref.doc_id])
                                       for d in written})
        with timeline.span("write", chunks=len(records)):
            resources.store.write(name, records, longer, _write_batch(resources, bulk))
        registry.put(redis, name, {doc.ref.doc_id: doc.entry() for doc in winners}, lease)
        changes.record(redis, name, [doc.ref.doc_id for doc in winners])
        store_s = time.perf_counter() - started
    total = max(sum(len(d.chunks) for d in written), 1)
    results = [_result(d, now[d.ref.doc_id], d in written, len(d.chunks) / total * embed_s,
                       len(d.chunks) / total * store_s) for d in docs if d not in changed]
    if changed:
        results += commit_documents(changed, embedder, target, resources, dict.fromkeys(
            (d.ref.doc_id for d in changed), None), bulk, vectors, timeline)
    return results


def _vectors(docs: list[Prepared], embedder: Embedder,
             known: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each document's chunk vectors: those given, the others embedded in one call."""
    rows = {d.ref.doc_id: known[d.ref.doc_id] for d in docs if d.ref.doc_id in known}
    todo = [d for d in docs if d.ref.doc_id not in rows]
    if todo:
        vectors, row = embedder.embed_chunks([c for d in todo for c in d.chunks]), 0
        for doc in todo:
            rows[doc.ref.doc_id] = vectors[row : row + len(doc.chunks)]
            row += len(doc.chunks)
    return rows


def _writer_turn(resources: Resources, collection: str, bulk: bool):
    """For a bulk write, one of the collection's `bulk_writers` turns; none for a stream write.

    The Chroma server applies one write at a time, and writers that contend for it cost
    it CPU: taking turns, the bulk lane writes faster (scripts/bench_batch.py). Stream
    writes are small and never wait for a turn.
    """
    slots = resources.settings.bulk_writers if bulk else 0
    if not slots:
        return nullcontext()
    return locks.slot(resources.redis, f"{WRITER_KEY}{collection}", slots,
                      lease=resources.settings.lock_lease_seconds, wait=300.0)


def _write_batch(resources: Resources, bulk: bool) -> int | None:
    """The calls of a bulk write while the stream lane is busy: small, so that a stream write
    waits for little at the Chroma server (which applies one write at a time; 1,024 vectors
    take it a second); else the store's own."""
    settings = resources.settings
    if bulk and latency.recent_totals(resources.redis, STREAM_QUEUE, settings.yield_window, 1):
        return settings.bulk_write_batch_streaming
    return None


def writer_free(resources: Resources, target: Target) -> Callable[[], bool]:
    """Whether a bulk write to the target's collection would get a turn now (see above)."""
    slots, name = resources.settings.bulk_writers, resources.collection(target)
    return lambda: not slots or locks.slots_free(resources.redis, f"{WRITER_KEY}{name}", slots)


def _locked(resources: Resources, collection: str, doc_ids: list[str]):
    """The commit locks of these documents, under a lease of INGEST_LOCK_LEASE_SECONDS."""
    return registry.locked(resources.redis, collection, doc_ids,
                           lease=resources.settings.lock_lease_seconds)


def _still_held(lease) -> None:
    """LeaseLost before a store write whose locks lapsed (the registry fences it anyway)."""
    if lease.lost:
        raise LeaseLost("the commit locks lapsed before the store write")


def _gate(resources: Resources, target: Target, bulk: bool):
    """Count as a writer of the target while a swap may pause it (see alias.writing)."""
    settings = resources.settings
    return alias.writing(resources.redis, target, settings.collection_prefix, bulk,
                         wait=2 * settings.swap_pause_timeout, lease=settings.lock_lease_seconds)


def same_content(entry: Entry | None, doc: Prepared) -> bool:
    """True if the collection holds this text with this metadata (at any version)."""
    return (entry is not None and entry.state == COMMITTED and entry.content_hash == doc.digest
            and entry.meta_hash == metadata_hash(doc.ref.metadata))


def _shrinks(entry: Entry | None, doc: Prepared, cut_off: int = 0) -> bool:
    """True if the collection may hold more chunks of this document than its new version has.

    Only then are there leftovers to prune: skipping the prune query otherwise is what
    makes a first load fast. (The registry is the record of what the collection holds,
    with the writes cut off before they were recorded: `cut_off` chunks, see registry.writing.)
    """
    held = entry.chunks if entry is not None and entry.state == COMMITTED else 0
    return max(held, cut_off) > len(doc.chunks)


def _outranked(entry: Entry | None, ref: DocRef) -> bool:
    return entry is not None and entry.outranks(ref.version)


def chunk_records(doc: Prepared, vectors: np.ndarray, model: str) -> Iterator[ChunkRecord]:
    """The store records of a document's chunks with their vectors; their metadata is the
    caller's beside the system's own (store.base.SYSTEM_FIELDS)."""
    # Chroma holds no None: a document read from no bytes of text (.docx, PDF) has no key,
    # nor one of no known title
    encoding = {"encoding": doc.encoding} if doc.encoding else {}
    title = {TITLE: doc.title} if doc.title else {}
    parent = {PARENT: doc.ref.parent} if doc.ref.parent else {}
    for chunk, vector in zip(doc.chunks, vectors):
        yield ChunkRecord(
            id=chunk_id(doc.ref.doc_id, chunk.index),
            vector=vector,
            text=chunk.text,
            metadata={
                **doc.ref.metadata,
                "doc_id": doc.ref.doc_id,
                "version": doc.ref.version,
                "source": doc.ref.source,
                "chunk_index": chunk.index,
                "model": model,
                "content_hash": doc.digest,
                **encoding,
                **title,
                **parent,
                **chunk.place.metadata(),
            },
        )


def _result(doc: Prepared, held: Entry | None, written: bool, embed_s: float,
            store_s: float) -> ProcessingResult:
    """The outcome of one document; group-wide embed and store time shared by chunks."""
    ref = doc.ref
    if held is not None and held.outranks(ref.version):
        return superseded(ref, held)
    timings = {"parse_chunk": round(doc.seconds, 4)}
    if written:
        timings.update(embed=round(embed_s, 4), store=round(store_s, 4))
    return ProcessingResult(
        doc_id=ref.doc_id, source=ref.source, status=COMMITTED if written else UNCHANGED,
        chunks=len(doc.chunks), tokens=sum(c.tokens for c in doc.chunks), timings=timings,
    )


def superseded(ref: DocRef, held: Entry) -> ProcessingResult:
    """The record of a write that a newer version or a later delete outranks."""
    return ProcessingResult(ref.doc_id, ref.source, SUPERSEDED,
                            reason=f"{held.state} at version {held.version}, newer than {ref.version}")


def delete_document(doc_id: str, version: int, target: Target,
                    resources: Resources) -> ProcessingResult:
    """Remove a document's chunks and leave a tombstone at `version`, unless a newer write holds."""
    redis, name = resources.redis, resources.collection(target)
    with _gate(resources, target, False), _locked(resources, name, [doc_id]) as lease:
        held = registry.get(redis, name, doc_id)
        if held is not None and held.version > version:
            return superseded(DocRef(doc_id, "", version), held)
        _still_held(lease)
        resources.store.delete_documents(name, [doc_id])
        registry.put(redis, name, {doc_id: Entry(version, DELETED)}, lease)
        changes.record(redis, name, [doc_id])
    return ProcessingResult(doc_id=doc_id, source="", status=DELETED)
