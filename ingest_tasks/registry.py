"""The document registry in Redis: what each collection holds, at which version.

Every commit and delete goes through it. Under a short per-document lock, a writer
reads the entry, decides (newer wins, a tombstone outranks older writes, unchanged
content is not embedded again), writes Chroma, then records the new entry.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from . import locks
from .constants import DOC_KEY, LOCK_KEY

COMMITTED, DELETED = "committed", "deleted"


@dataclass(frozen=True)
class Entry:
    """A document as its collection holds it."""

    version: int
    state: str
    content_hash: str = ""
    chunks: int = 0
    size: int = 0

    def outranks(self, version: int) -> bool:
        """True if a write at `version` must not replace this entry."""
        return self.version > version or (self.state == DELETED and self.version == version)

    def holds(self, version: int, size: int) -> bool:
        """True if this entry is the committed document at this version and size."""
        return self.state == COMMITTED and self.version == version and self.size == size


def _key(collection: str, doc_id: str) -> str:
    return f"{DOC_KEY}{collection}:{doc_id}"


def get(redis, collection: str, doc_id: str) -> Entry | None:
    """The registered entry of a document, or None if the collection never held it."""
    return _entry(redis.hgetall(_key(collection, doc_id)))


def get_many(redis, collection: str, doc_ids: list[str]) -> dict[str, Entry | None]:
    """Entries of several documents in one round trip."""
    with redis.pipeline(transaction=False) as pipe:
        for doc_id in doc_ids:
            pipe.hgetall(_key(collection, doc_id))
        rows = pipe.execute()
    return {doc_id: _entry(fields) for doc_id, fields in zip(doc_ids, rows)}


def _entry(fields: dict) -> Entry | None:
    if not fields:
        return None
    return Entry(int(fields["version"]), fields["state"], fields.get("content_hash", ""),
                 int(fields.get("chunks", 0)), int(fields.get("size", 0)))


def entries(redis, collection: str, batch: int = 1000) -> Iterator[tuple[str, Entry]]:
    """Every document the collection's registry holds (committed or tombstone), in no order."""
    prefix = _key(collection, "")
    keys: list[str] = []
    for key in redis.scan_iter(match=prefix + "*", count=batch):
        keys.append(key)
        if len(keys) == batch:
            yield from _read(redis, prefix, keys)
            keys = []
    yield from _read(redis, prefix, keys)


def _read(redis, prefix: str, keys: list[str]) -> Iterator[tuple[str, Entry]]:
    with redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.hgetall(key)
        rows = pipe.execute()
    for key, fields in zip(keys, rows):
        entry = _entry(fields)
        if entry is not None:
            yield key.removeprefix(prefix), entry


def drop(redis, collection: str, batch: int = 1000) -> None:
    """Forget everything the registry holds of a collection."""
    keys = list(redis.scan_iter(match=_key(collection, "*"), count=batch))
    for start in range(0, len(keys), batch):
        redis.unlink(*keys[start : start + batch])


def put(redis, collection: str, entries: dict[str, Entry]) -> None:
    """Record documents' new entries, in one round trip."""
    now = time.time()
    with redis.pipeline(transaction=False) as pipe:
        for doc_id, entry in entries.items():
            pipe.hset(_key(collection, doc_id), mapping={
                "version": entry.version, "state": entry.state, "content_hash": entry.content_hash,
                "chunks": entry.chunks, "size": entry.size, "updated": now,
            })
        pipe.execute()


@contextmanager
def locked(redis, collection: str, doc_ids: list[str], ttl: float = 60.0,
           wait: float = 120.0) -> Iterator[None]:
    """Hold the commit locks of these documents for the block."""
    keys = [f"{LOCK_KEY}{collection}:{doc_id}" for doc_id in sorted(set(doc_ids))]
    with locks.held(redis, keys, ttl, wait):
        yield
