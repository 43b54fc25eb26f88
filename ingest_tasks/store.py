"""The vector store: one Chroma server over HTTP, one collection per embedding model."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .errors import ModelMismatch, StoreUnavailable


@dataclass
class ChunkRecord:
    """One chunk ready to write: id, vector, text and metadata."""

    id: str
    vector: np.ndarray
    text: str
    metadata: dict


@dataclass(frozen=True)
class Hit:
    """One search result."""

    doc_id: str
    source: str
    chunk_index: int
    score: float
    text: str

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return self.__dict__.copy()


@contextmanager
def _store_errors() -> Iterator[None]:
    """Turn a connection failure or a busy server into StoreUnavailable, so tasks retry."""
    import httpx
    from chromadb.errors import InternalError

    try:
        yield
    except (httpx.TransportError, ConnectionError, TimeoutError) as exc:
        raise StoreUnavailable(f"Chroma server did not answer: {exc}") from exc
    except InternalError as exc:
        if "database is locked" not in str(exc):  # its SQLite, busy with other writers
            raise
        raise StoreUnavailable(f"Chroma server busy: {exc}") from exc


# HNSW settings of a collection while bulk jobs load it (index in large batches, persist
# rarely) and while it serves (Chroma's defaults), switched by set_bulk_load.
BULK_LOAD_HNSW = {"batch_size": 10_000, "sync_threshold": 100_000}
SERVING_HNSW = {"batch_size": 100, "sync_threshold": 1_000}


class ChromaStore:
    """Writes and searches chunks on a Chroma server."""

    def __init__(self, host: str, port: int, prefix: str, batch: int = 1024):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        try:
            with _store_errors():
                self.client = chromadb.HttpClient(
                    host=host, port=port, settings=ChromaSettings(anonymized_telemetry=False)
                )
                self.batch = min(batch, self.client.get_max_batch_size())
        except ValueError as exc:  # how HttpClient says that nothing answered at connect
            raise StoreUnavailable(f"Chroma server at {host}:{port} did not answer: {exc}") from exc
        self.prefix = prefix
        self._collections: dict[str, object] = {}

    def collection_name(self, model: str) -> str:
        """The collection that holds the vectors of `model`."""
        return f"{self.prefix}-{re.sub(r'[^a-zA-Z0-9._-]+', '-', model)}".strip("-.")

    def collection(self, model: str, dim: int, name: str | None = None):
        """The collection for `model`, created on first use and checked to belong to it."""
        name = name or self.collection_name(model)
        if name not in self._collections:
            with _store_errors():
                col = self.client.get_or_create_collection(
                    name,
                    embedding_function=None,
                    metadata={"model": model, "dim": dim},
                    configuration={"hnsw": {"space": "cosine"}},
                )
            if col.metadata.get("model") != model or col.metadata.get("dim") != dim:
                raise ModelMismatch(f"collection {name} holds {col.metadata}, not {model}/{dim}")
            self._collections[name] = col
        return self._collections[name]

    def write(self, col, records: list[ChunkRecord], prune: dict[str, int]) -> None:
        """Upsert records in batches, then prune the named documents' chunks past their count."""
        with _store_errors():
            for start in range(0, len(records), self.batch):
                part = records[start : start + self.batch]
                col.upsert(
                    ids=[r.id for r in part],
                    embeddings=np.stack([r.vector for r in part]),
                    documents=[r.text for r in part],
                    metadatas=[r.metadata for r in part],
                )
            for doc_id, count in prune.items():
                col.delete(where={"$and": [{"doc_id": doc_id}, {"chunk_index": {"$gte": count}}]})

    def set_bulk_load(self, col, on: bool) -> None:
        """Tune a collection's HNSW index for loading, or back for serving."""
        with _store_errors():
            col.modify(configuration={"hnsw": BULK_LOAD_HNSW if on else SERVING_HNSW})

    def delete_document(self, col, doc_id: str) -> None:
        """Remove every chunk of a document."""
        with _store_errors():
            col.delete(where={"doc_id": doc_id})

    def search(self, col, vector: np.ndarray, k: int = 5, where: dict | None = None) -> list[Hit]:
        """The k chunks nearest to `vector`, best first."""
        with _store_errors():
            found = col.query(
                query_embeddings=vector.reshape(1, -1),
                n_results=k,
                where=where,
                include=["documents", "metadatas", "distances"],
            )
        rows = zip(found["documents"][0], found["metadatas"][0], found["distances"][0])
        return [
            Hit(meta["doc_id"], meta["source"], meta["chunk_index"], round(1 - dist, 4), text)
            for text, meta, dist in rows
        ]

    def count(self, col, doc_id: str | None = None) -> int:
        """How many chunks the collection holds, for one document or in all."""
        with _store_errors():
            if doc_id is None:
                return col.count()
            return len(col.get(where={"doc_id": doc_id}, include=[])["ids"])
