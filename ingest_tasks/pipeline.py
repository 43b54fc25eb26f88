"""One pipeline for both lanes: read, parse, chunk, embed in batches, commit."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .chunk import Chunk, chunk_id, chunk_text
from .errors import EmptyDocument, PermanentError
from .parse import parse
from .results import COMMITTED, DELETED, ProcessingResult
from .sources import DocRef, content_hash, read_source
from .store import ChunkRecord


@dataclass
class Prepared:
    """A document parsed and chunked, waiting for its vectors."""

    ref: DocRef
    chunks: list[Chunk]
    digest: str
    seconds: float


def prepare(ref: DocRef, embedder, settings) -> Prepared:
    """Read, parse and chunk one document; raises PermanentError for bad input."""
    started = time.perf_counter()
    data = read_source(ref, settings.max_document_bytes)
    text = parse(data, Path(ref.source).name, legacy_encoding=settings.legacy_encoding)
    spans = embedder.token_spans(text)
    chunks = chunk_text(text, spans, settings.chunk_tokens, settings.chunk_overlap)
    if not chunks:
        raise EmptyDocument(f"no {embedder.name} tokens in {len(text)} characters of text")
    return Prepared(ref, chunks, content_hash(text), time.perf_counter() - started)


def ingest_documents(refs: list[DocRef], resources, model: str | None = None) -> list[ProcessingResult]:
    """Ingest a group of documents; bad ones become failure records, the rest are committed."""
    embedder = resources.embedder(model)
    ready: list[Prepared] = []
    failures: list[ProcessingResult] = []
    for ref in refs:
        try:
            ready.append(prepare(ref, embedder, resources.settings))
        except PermanentError as exc:
            failures.append(ProcessingResult.failure(ref.doc_id, ref.source, exc.reason))
    committed = _embed_and_commit(ready, embedder, resources) if ready else []
    return committed + failures


def _embed_and_commit(ready: list[Prepared], embedder, resources) -> list[ProcessingResult]:
    texts = [chunk.text for doc in ready for chunk in doc.chunks]
    started = time.perf_counter()
    vectors = embedder.embed(texts)
    embedded = time.perf_counter()
    records = list(_records(ready, vectors, embedder.name))
    store = resources.store
    col = store.collection(embedder.name, embedder.dim)
    store.write(col, records, {doc.ref.doc_id: len(doc.chunks) for doc in ready})
    stored = time.perf_counter()
    return [
        _result(doc, len(texts), embedded - started, stored - embedded) for doc in ready
    ]


def _records(ready: list[Prepared], vectors, model: str):
    row = 0
    for doc in ready:
        for chunk in doc.chunks:
            yield ChunkRecord(
                id=chunk_id(doc.ref.doc_id, chunk.index),
                vector=vectors[row],
                text=chunk.text,
                metadata={
                    "doc_id": doc.ref.doc_id,
                    "version": doc.ref.version,
                    "source": doc.ref.source,
                    "chunk_index": chunk.index,
                    "model": model,
                    "content_hash": doc.digest,
                },
            )
            row += 1


def _result(doc: Prepared, total_chunks: int, embed_s: float, store_s: float) -> ProcessingResult:
    """A committed result; group-wide embed and store time is shared out by chunk count."""
    share = len(doc.chunks) / max(total_chunks, 1)
    return ProcessingResult(
        doc_id=doc.ref.doc_id,
        source=doc.ref.source,
        status=COMMITTED,
        chunks=len(doc.chunks),
        tokens=sum(chunk.tokens for chunk in doc.chunks),
        timings={
            "parse_chunk": round(doc.seconds, 4),
            "embed": round(embed_s * share, 4),
            "store": round(store_s * share, 4),
        },
    )


def delete_document(doc_id: str, resources, model: str | None = None) -> ProcessingResult:
    """Remove a document's chunks from the model's collection."""
    embedder = resources.embedder(model)
    store = resources.store
    store.delete_document(store.collection(embedder.name, embedder.dim), doc_id)
    return ProcessingResult(doc_id=doc_id, source="", status=DELETED)


def search(text: str, resources, k: int = 5, model: str | None = None):
    """The chunks nearest to a query text."""
    embedder = resources.embedder(model)
    store = resources.store
    col = store.collection(embedder.name, embedder.dim)
    return store.search(col, embedder.embed_query(text), k)
