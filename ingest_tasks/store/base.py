"""What a vector store does, keyed by collection name: the Store protocol and its records."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

Metadata = dict[str, Any]
Where = Mapping[str, Any]  # Chroma's filter language: see store.where

# The document's structure in its chunks' metadata: its title, the headings a chunk falls
# under and (PDF) its pages; named with the prefix kept for the system's fields, so that no
# caller's metadata clashes with them (pipeline.chunk.Place); each is absent when unknown
TITLE, HEADING, SECTION, PAGE_START, PAGE_END = (
    "ingest_title", "ingest_heading", "ingest_section", "ingest_page_start", "ingest_page_end")
STRUCTURE_FIELDS = frozenset({TITLE, HEADING, SECTION, PAGE_START, PAGE_END})
# The chunk metadata the pipeline writes itself (pipeline.commit.chunk_records). A caller's
# metadata sits beside it, under any other name (see pipeline.metadata).
PARENT = "ingest_parent_id"  # a mail attachment's chunks: the mail's document id
SYSTEM_FIELDS = frozenset({"doc_id", "version", "source", "chunk_index", "model",
                           "content_hash", "encoding", PARENT}) | STRUCTURE_FIELDS


def caller_metadata(meta: Mapping[str, Any]) -> Metadata:
    """The caller's part of a chunk's metadata: every key but the system's own."""
    return {key: value for key, value in meta.items() if key not in SYSTEM_FIELDS}


@dataclass
class ChunkRecord:
    """One chunk ready to write: id, vector, text and metadata."""

    id: str
    vector: np.ndarray
    text: str
    metadata: Metadata


@dataclass(frozen=True)
class Hit:
    """One search result: a chunk, its cosine similarity to the query, where it was found."""

    doc_id: str
    source: str
    chunk_index: int
    score: float
    text: str
    metadata: Metadata = field(default_factory=dict)  # the caller's, as its document carries it
    system: Metadata = field(default_factory=dict)  # the fields the system wrote: version, model ...
    collection: str = ""  # the collection searched

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {**self.__dict__, "metadata": dict(self.metadata), "system": dict(self.system)}

    @classmethod
    def of(cls, meta: Mapping[str, Any], score: float, text: str, collection: str) -> Hit:
        """The hit of a chunk of `collection`, from its metadata as the store holds it."""
        system = {key: meta[key] for key in SYSTEM_FIELDS
                  if key in meta and key not in ("doc_id", "source", "chunk_index")}
        return cls(meta["doc_id"], meta["source"], meta["chunk_index"], score, text,
                   caller_metadata(meta), system, collection)


def tail_of(doc_id: str, count: int) -> Where:
    """The filter of a document's chunks from chunk index `count` on: what a prune deletes."""
    return {"$and": [{"doc_id": doc_id}, {"chunk_index": {"$gte": count}}]}


class NoCollection(LookupError):
    """The collection named was never made in the store, or was dropped."""


class Store(Protocol):
    """A vector store of chunks in collections, each of one model's vectors.

    A collection is made (and checked) by `ensure`; the other methods name one made
    before, or raise NoCollection. A busy or unreachable server raises StoreUnavailable.
    """

    def ensure(self, name: str, model: str, dim: int) -> None:
        """Make the collection `name` of `model`'s vectors if there is none; ModelMismatch if
        it holds another model's, or another dimension."""
        ...

    def write(self, name: str, records: Sequence[ChunkRecord], prune: Mapping[str, int],
              batch: int | None = None) -> None:
        """Upsert records by id, in calls of at most `batch` (default: the store's own), then
        delete the chunks of each document in `prune` from its chunk index `prune[doc_id]` on."""
        ...

    def delete(self, name: str, ids: Sequence[str]) -> None:
        """Delete chunks by id (ids not held are no error)."""
        ...

    def delete_documents(self, name: str, doc_ids: Sequence[str]) -> None:
        """Delete every chunk of these documents."""
        ...

    def search(self, name: str, vector: np.ndarray, k: int = 5,
               where: Where | None = None) -> list[Hit]:
        """The k chunks (matching `where`) nearest to `vector` by cosine, best first."""
        ...

    def count(self, name: str, doc_id: str | None = None) -> int:
        """How many chunks the collection holds, for one document or in all."""
        ...

    def chunks_of(self, name: str, doc_ids: Sequence[str]) -> dict[str, list[tuple[str, Metadata]]]:
        """The chunks (text, metadata) of these documents, in chunk order; absent ones left out."""
        ...

    def metadatas(self, name: str, page: int = 5000) -> Iterator[Metadata]:
        """Every chunk's metadata in the collection, read a page at a time."""
        ...

    def drop(self, name: str) -> None:
        """Delete a collection and everything in it (nothing if there is none)."""
        ...

    def heartbeat(self) -> None:
        """Nothing if the store answers; StoreUnavailable if not."""
        ...
