"""The vector store: one Chroma server over HTTP, collections named for model and build."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from ingest_tasks.core.errors import ModelMismatch, StoreUnavailable
from ingest_tasks.store.base import ChunkRecord, Hit, Metadata, NoCollection, Where, tail_of
from ingest_tasks.store.where import check_where


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
    """Writes and searches chunks on a Chroma server (a Store); collection handles kept by name."""

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
        self._collections: dict[str, Any] = {}

    def ensure(self, name: str, model: str, dim: int) -> None:
        """Make the collection `name` of `model`'s vectors if there is none, and check it is."""
        col = self._collections.get(name)
        if col is None:
            with _store_errors():
                col = self.client.get_or_create_collection(
                    name,
                    embedding_function=None,
                    metadata={"model": model, "dim": dim},
                    configuration={"hnsw": {"space": "cosine"}},
                )
        if col.metadata.get("model") != model or col.metadata.get("dim") != dim:
            raise ModelMismatch(f"collection {name} holds vectors of {col.metadata.get('model')} "
                                f"({col.metadata.get('dim')} dimensions), not of {model} "
                                f"({dim} dimensions)")
        self._collections[name] = col

    def _col(self, name: str) -> Any:
        """The handle of a collection made before, in this process or another."""
        from chromadb.errors import NotFoundError

        if name not in self._collections:
            with _store_errors():
                try:
                    col = self.client.get_collection(name, embedding_function=None)
                except (NotFoundError, ValueError) as exc:
                    raise NoCollection(name) from exc
            self._collections[name] = col
        return self._collections[name]

    def write(self, name: str, records: Sequence[ChunkRecord], prune: Mapping[str, int],
              batch: int | None = None) -> None:
        """Upsert records in calls of `batch` (default INGEST_STORE_BATCH), then prune the
        named documents' chunks past their count."""
        col, batch = self._col(name), min(batch or self.batch, self.batch)
        with _store_errors():
            for start in range(0, len(records), batch):
                part = records[start : start + batch]
                col.upsert(
                    ids=[r.id for r in part],
                    embeddings=np.stack([r.vector for r in part]),
                    documents=[r.text for r in part],
                    metadatas=[r.metadata for r in part],
                )
            for doc_id, count in prune.items():
                col.delete(where=dict(tail_of(doc_id, count)))

    def delete(self, name: str, ids: Sequence[str]) -> None:
        """Delete chunks by id."""
        if ids:
            col = self._col(name)
            with _store_errors():
                col.delete(ids=list(ids))

    def delete_documents(self, name: str, doc_ids: Sequence[str]) -> None:
        """Remove every chunk of these documents."""
        if doc_ids:
            col = self._col(name)
            with _store_errors():
                col.delete(where={"doc_id": {"$in": list(doc_ids)}})

    def search(self, name: str, vector: np.ndarray, k: int = 5,
               where: Where | None = None) -> list[Hit]:
        """The k chunks nearest to `vector`, best first; InvalidWhere before any query for a
        filter the server would refuse."""
        where = check_where(where)
        col = self._col(name)
        with _store_errors():
            found = col.query(
                query_embeddings=vector.reshape(1, -1),
                n_results=k,
                where=dict(where) if where else None,
                include=["documents", "metadatas", "distances"],
            )
        rows = zip(found["documents"][0], found["metadatas"][0], found["distances"][0])
        # A chunk deleted while the query ran comes back without its metadata (chroma#2007).
        return [Hit.of(meta, round(1 - dist, 4), text, name) for text, meta, dist in rows
                if meta is not None]

    def count(self, name: str, doc_id: str | None = None) -> int:
        """How many chunks the collection holds, for one document or in all."""
        col = self._col(name)
        with _store_errors():
            if doc_id is None:
                return col.count()
            return len(col.get(where={"doc_id": doc_id}, include=[])["ids"])

    def chunks_of(self, name: str, doc_ids: Sequence[str]) -> dict[str, list[tuple[str, Metadata]]]:
        """The chunks (text, metadata) of these documents, in chunk order."""
        if not doc_ids:
            return {}
        col = self._col(name)
        with _store_errors():
            found = col.get(where={"doc_id": {"$in": list(doc_ids)}},
                            include=["documents", "metadatas"])
        chunks: dict[str, list[tuple[str, Metadata]]] = {}
        for text, meta in sorted(zip(found["documents"], found["metadatas"]),
                                 key=lambda row: row[1]["chunk_index"]):
            chunks.setdefault(meta["doc_id"], []).append((text, meta))
        return chunks

    def metadatas(self, name: str, page: int = 5000) -> Iterator[Metadata]:
        """Every chunk's metadata in the collection, a page at a time."""
        col, offset = self._col(name), 0
        while True:
            with _store_errors():
                rows = col.get(include=["metadatas"], limit=page, offset=offset)["metadatas"]
            yield from rows
            if len(rows) < page:
                return
            offset += page

    def heartbeat(self) -> None:
        """Nothing if the server answers; StoreUnavailable if not."""
        with _store_errors():
            self.client.heartbeat()

    def drop(self, name: str) -> None:
        """Delete a collection and everything in it (nothing if there is none)."""
        from chromadb.errors import NotFoundError

        self._collections.pop(name, None)
        with _store_errors():
            try:
                self.client.delete_collection(name)
            except (NotFoundError, ValueError):
                pass
