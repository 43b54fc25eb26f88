"""The vector store: one Chroma server over HTTP, collections named for model and build."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ingest_tasks.core.errors import ModelMismatch, StoreUnavailable


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


class ChromaStore:
    """Writes and searches chunks on a Chroma server."""

    def __init__(self, host: str, port: int, batch: int = 1024):
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
        self._collections: dict[str, object] = {}

    def collection(self, name: str, model: str, dim: int):
        """The collection `name` of `model`'s vectors, created on first use and checked to be."""
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
        # A chunk deleted while the query ran comes back without its metadata (chroma#2007).
        return [
            Hit(meta["doc_id"], meta["source"], meta["chunk_index"], round(1 - dist, 4), text)
            for text, meta, dist in rows if meta is not None
        ]

    def count(self, col, doc_id: str | None = None) -> int:
        """How many chunks the collection holds, for one document or in all."""
        with _store_errors():
            if doc_id is None:
                return col.count()
            return len(col.get(where={"doc_id": doc_id}, include=[])["ids"])

    def chunks_of(self, col, doc_ids: list[str]) -> dict[str, list[tuple[str, dict]]]:
        """The chunks (text, metadata) of these documents, in chunk order."""
        if not doc_ids:
            return {}
        with _store_errors():
            found = col.get(where={"doc_id": {"$in": doc_ids}}, include=["documents", "metadatas"])
        chunks: dict[str, list[tuple[str, dict]]] = {}
        for text, meta in sorted(zip(found["documents"], found["metadatas"]),
                                 key=lambda row: row[1]["chunk_index"]):
            chunks.setdefault(meta["doc_id"], []).append((text, meta))
        return chunks

    def metadatas(self, col, page: int = 5000) -> Iterator[dict]:
        """Every chunk's metadata in the collection, a page at a time."""
        offset = 0
        while True:
            with _store_errors():
                rows = col.get(include=["metadatas"], limit=page, offset=offset)["metadatas"]
            yield from rows
            if len(rows) < page:
                return
            offset += page

    def drop(self, name: str) -> None:
        """Delete a collection and everything in it (nothing if there is none)."""
        from chromadb.errors import NotFoundError

        self._collections.pop(name, None)
        with _store_errors():
            try:
                self.client.delete_collection(name)
            except (NotFoundError, ValueError):
                pass
