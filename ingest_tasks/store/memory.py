"""A Store in this process's memory, for fast tests of what writes and reads the store."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ingest_tasks.core.errors import ModelMismatch
from ingest_tasks.store.base import ChunkRecord, Hit, Metadata, NoCollection, Where, tail_of
from ingest_tasks.store.where import check_where, matches


@dataclass
class _Collection:
    model: str
    dim: int
    rows: dict[str, tuple[np.ndarray, str, Metadata]] = field(default_factory=dict)


class MemoryStore:
    """A Store in dicts: the same collections, ids, model check and filters as ChromaStore.

    Search is exact cosine similarity (Chroma's index is approximate). `where` is the
    language of store.where, checked as the Chroma client checks it.
    """

    def __init__(self) -> None:
        self._collections: dict[str, _Collection] = {}

    def ensure(self, name: str, model: str, dim: int) -> None:
        """Make the collection `name` of `model`'s vectors if there is none, and check it is."""
        col = self._collections.setdefault(name, _Collection(model, dim))
        if (col.model, col.dim) != (model, dim):
            raise ModelMismatch(f"collection {name} holds vectors of {col.model} ({col.dim} "
                                f"dimensions), not of {model} ({dim} dimensions)")

    def _col(self, name: str) -> _Collection:
        if name not in self._collections:
            raise NoCollection(name)
        return self._collections[name]

    def write(self, name: str, records: Sequence[ChunkRecord], prune: Mapping[str, int],
              batch: int | None = None) -> None:
        """Upsert records by id, then prune the named documents' chunks past their count
        (one call: `batch` means nothing here)."""
        col = self._col(name)
        for record in records:
            vector = np.asarray(record.vector, dtype=np.float32)
            if vector.shape != (col.dim,):
                raise ValueError(f"{record.id}: a vector of shape {vector.shape}, not ({col.dim},)")
            if any(value is None for value in record.metadata.values()):
                raise ValueError(f"None in the metadata of {record.id}: {record.metadata}")
            col.rows[record.id] = (vector, record.text, dict(record.metadata))
        for doc_id, count in prune.items():
            self._delete_where(col, tail_of(doc_id, count))

    def delete(self, name: str, ids: Sequence[str]) -> None:
        """Delete chunks by id."""
        col = self._col(name)
        for chunk_id in ids:
            col.rows.pop(chunk_id, None)

    def delete_documents(self, name: str, doc_ids: Sequence[str]) -> None:
        """Remove every chunk of these documents."""
        self._delete_where(self._col(name), {"doc_id": {"$in": list(doc_ids)}})

    def search(self, name: str, vector: np.ndarray, k: int = 5,
               where: Where | None = None) -> list[Hit]:
        """The k chunks nearest to `vector` by cosine similarity, best first."""
        where = check_where(where)
        rows = [row for row in self._col(name).rows.values() if matches(row[2], where)]
        if not rows:
            return []
        matrix = np.stack([row[0] for row in rows])
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        norms = np.linalg.norm(matrix, axis=1) * np.linalg.norm(query)
        scores = matrix @ query / np.where(norms == 0, 1, norms)
        best = np.argsort(-scores, kind="stable")[:k]
        return [Hit.of(rows[i][2], round(float(scores[i]), 4), rows[i][1], name) for i in best]

    def count(self, name: str, doc_id: str | None = None) -> int:
        """How many chunks the collection holds, for one document or in all."""
        rows = self._col(name).rows.values()
        return len(rows) if doc_id is None else sum(meta["doc_id"] == doc_id for _, _, meta in rows)

    def chunks_of(self, name: str, doc_ids: Sequence[str]) -> dict[str, list[tuple[str, Metadata]]]:
        """The chunks (text, metadata) of these documents, in chunk order."""
        wanted = set(doc_ids)
        found = sorted(((text, dict(meta)) for _, text, meta in self._col(name).rows.values()
                        if meta["doc_id"] in wanted), key=lambda row: row[1]["chunk_index"])
        chunks: dict[str, list[tuple[str, Metadata]]] = {}
        for text, meta in found:
            chunks.setdefault(meta["doc_id"], []).append((text, meta))
        return chunks

    def metadatas(self, name: str, page: int = 5000) -> Iterator[Metadata]:
        """Every chunk's metadata in the collection."""
        for _, _, meta in list(self._col(name).rows.values()):
            yield dict(meta)

    def drop(self, name: str) -> None:
        """Delete a collection and everything in it (nothing if there is none)."""
        self._collections.pop(name, None)

    def heartbeat(self) -> None:
        """Always answers: it lives in this process."""

    @staticmethod
    def _delete_where(col: _Collection, where: Where) -> None:
        for chunk_id in [i for i, (_, _, meta) in col.rows.items() if matches(meta, where)]:
            del col.rows[chunk_id]
