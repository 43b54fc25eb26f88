"""One pipeline for both lanes: read, parse, chunk, embed in batches, commit."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ingest_tasks.core.errors import EmptyDocument, LiveMoved, PermanentError, TooLarge
from ingest_tasks.core.results import UNCHANGED, ProcessingResult
from ingest_tasks.core.timeline import Timeline
from ingest_tasks.pipeline.attachments import attachment_refs
from ingest_tasks.pipeline.chunk import Place, chunk_text
from ingest_tasks.pipeline.commit import Prepared, commit_documents, superseded, writer_free
from ingest_tasks.pipeline.commit import delete_document as _delete
from ingest_tasks.pipeline.deadline import deadline
from ingest_tasks.pipeline.docids import check_doc_id
from ingest_tasks.pipeline.metadata import check_metadata, metadata_hash
from ingest_tasks.pipeline.parse import Parsed, parse
from ingest_tasks.pipeline.parse.mail import Mail
from ingest_tasks.pipeline.sources import DocRef, content_hash, read_source
from ingest_tasks.pipeline.write_behind import WriteBehind
from ingest_tasks.state import registry
from ingest_tasks.store.base import Hit, Where
from ingest_tasks.store.where import check_where

if TYPE_CHECKING:
    from ingest_tasks.core.settings import Settings
    from ingest_tasks.pipeline.embed import Embedder
    from ingest_tasks.pipeline.resources import Resources
    from ingest_tasks.state.alias import Target
    from ingest_tasks.state.registry import Entry

T = TypeVar("T")


def prepare(ref: DocRef, embedder: Embedder, settings: Settings) -> Prepared:
    """Read, parse and chunk one document in its time limit; PermanentError for bad input."""
    started = time.perf_counter()
    with deadline(settings.document_time_limit, "reading, parsing and chunking"):
        parsed = document_text(ref, settings)
        text = parsed.text
        ids, spans = embedder.tokenize(text)
        chunks = chunk_text(text, ids, spans, settings.chunk_tokens, settings.chunk_overlap,
                            settings.chunk_snap_tokens, lambda start, end: place(parsed, start, end))
    if not chunks:
        raise EmptyDocument(f"no {embedder.name} tokens in {len(text)} characters of text")
    children = (tuple(attachment_refs(ref, parsed.attachments, settings.max_attachments))
                if isinstance(parsed, Mail) and not ref.parent else ())
    return Prepared(ref, chunks, content_hash(text), time.perf_counter() - started,
                    parsed.encoding, parsed.title, children)


def place(parsed: Parsed, start: int, end: int) -> Place:
    """Where the characters [start, end) of a parsed document lie: headings and pages."""
    return Place.of(parsed.heading_path(start), parsed.page_range(start, end))


def document_text(ref: DocRef, settings: Settings) -> Parsed:
    """A document parsed, within the limits on its source, its archive and its text."""
    data = read_source(ref, settings)
    parsed = parse(data, Path(ref.source).name, legacy_encoding=settings.legacy_encoding,
                   encoding_min_confidence=settings.encoding_min_confidence,
                   max_unzipped_bytes=settings.max_unzipped_bytes,
                   max_zip_ratio=settings.max_zip_ratio)
    if len(parsed.text) > settings.max_text_chars:
        raise TooLarge(f"{len(parsed.text):,} characters of text, over the limit of "
                       f"{settings.max_text_chars:,} (INGEST_MAX_TEXT_CHARS)")
    return parsed


def ingest_documents(refs: list[DocRef], resources: Resources, model: str | None = None,
                     bulk: bool = False, timeline: Timeline | None = None) -> list[ProcessingResult]:
    """Ingest a group of documents; bad ones become failure records, the rest are committed.

    A document the collection already holds at this version is skipped unread, and one
    that a newer version or a later delete outranks is dropped: re-runs and redeliveries
    redo only what is missing. The collection is the live one unless `model` names
    another; should a swap move the alias meanwhile, the group is done again on the new one.
    A bulk group writes behind its parsing (see write_behind); `timeline` gets its spans.
    """
    timeline = timeline or Timeline()
    return on_live(resources, model, lambda target: _ingest(refs, resources, target, bulk, timeline))


def _ingest(refs: list[DocRef], resources: Resources, target: Target, bulk: bool,
            timeline: Timeline) -> list[ProcessingResult]:
    embedder = resources.embedder(target.model)
    if not bulk:  # one document, or a few: no thread
        results, ready, held = prepare_group(refs, resources, target, timeline)
        return results + (commit_documents(ready, embedder, target, resources, held,
                                           timeline=timeline) if ready else [])
    known: dict[str, Entry | None] = {}

    def commit(docs: list[Prepared]) -> list[ProcessingResult]:
        return commit_documents(docs, embedder, target, resources, known, bulk, timeline=timeline)

    refused: list[ProcessingResult] = []
    with WriteBehind(commit, writer_free(resources, target) if embedder.static else lambda: True,
                     ) as behind:
        for outcome in outcomes(refs, resources, target, known, timeline):
            if isinstance(outcome, Prepared):
                behind.add(outcome)
            else:
                refused.append(outcome)
        return refused + behind.finish()


def prepare_group(refs: list[DocRef], resources: Resources, target: Target,
                  timeline: Timeline | None = None,
                  ) -> tuple[list[ProcessingResult], list[Prepared], dict[str, Entry | None]]:
    """The outcomes of a group's documents that need no vectors, the others read, parsed
    and chunked, and what the registry held of them (see `outcomes`)."""
    known: dict[str, Entry | None] = {}
    results: list[ProcessingResult] = []
    ready: list[Prepared] = []
    for outcome in outcomes(refs, resources, target, known, timeline or Timeline()):
        if isinstance(outcome, Prepared):
            ready.append(outcome)
        else:
            results.append(outcome)
    return results, ready, known


def outcomes(refs: list[DocRef], resources: Resources, target: Target,
             known: dict[str, Entry | None], timeline: Timeline,
             ) -> Iterator[ProcessingResult | Prepared]:
    """Each document's outcome if it needs no vectors (refused, outranked, unchanged, bad
    input), else the document read, parsed and chunked, one at a time; the attachments of
    the mails among them after them, as documents of their own. `known` gets what the
    registry held of each before it was read."""
    embedder = resources.embedder(target.model)
    todo = refs
    while todo:
        failed, todo = _checked(todo, resources.settings)
        yield from failed
        known.update(registry.get_many(resources.redis, target.collection,
                                       [ref.doc_id for ref in todo]))
        children: list[DocRef] = []
        for ref in todo:
            held = known[ref.doc_id]
            if held is not None and held.outranks(ref.version):
                yield superseded(ref, held)
            elif held is not None and held.holds(ref.version, ref.size, metadata_hash(ref.metadata)):
                yield ProcessingResult(ref.doc_id, ref.source, UNCHANGED, chunks=held.chunks)
            else:
                try:
                    with timeline.span("parse", doc=ref.doc_id) as facts:
                        doc = prepare(ref, embedder, resources.settings)
                        facts["chunks"] = len(doc.chunks)
                except PermanentError as exc:
                    yield ProcessingResult.failure(ref.doc_id, ref.source, exc.reason)
                else:
                    children += doc.children
                    yield doc
        todo = children


def _checked(refs: list[DocRef], settings: Settings) -> tuple[list[ProcessingResult],
                                                              list[DocRef]]:
    """Failure records of the documents whose ids or metadata are refused (a message proves
    no sender), and the other documents."""
    failed, valid = [], []
    for ref in refs:
        try:
            check_doc_id(ref.doc_id, settings.max_doc_id_bytes)
            check_metadata(ref.metadata, settings)
        except PermanentError as exc:
            failed.append(ProcessingResult.failure(ref.doc_id, ref.source, exc.reason))
        else:
            valid.append(ref)
    return failed, valid


def on_live(resources: Resources, model: str | None, work: Callable[[Target], T],
             attempts: int = 3) -> T:
    """`work(target)` on the collection `model` resolves to, again if a swap moved it."""
    for _ in range(attempts - 1):
        try:
            return work(resources.target(model))
        except LiveMoved:
            continue
    return work(resources.target(model))


def delete_document(doc_id: str, version: int, resources: Resources,
                    model: str | None = None) -> ProcessingResult:
    """Remove a document from the live collection, leaving a tombstone at `version`."""
    return on_live(resources, model, lambda target: _delete(doc_id, version, target, resources))


def search(text: str, resources: Resources, k: int = 5, model: str | None = None,
           where: Where | None = None) -> list[Hit]:
    """The chunks nearest to a query text, in the live collection (resolved now), among
    those whose metadata passes `where` (see store.where; InvalidWhere before any search)."""
    where = check_where(where)
    target = resources.target(model)
    vector = resources.embedder(target.model).embed_query(text)
    return resources.store.search(resources.collection(target), vector, k, where)
