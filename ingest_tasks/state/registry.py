"""The document registry in Redis: what each collection holds, at which version.

Every commit and delete goes through it. Under per-document commit locks (leases that
die with their holder, see locks), a writer reads the entry, decides (newer wins, a
tombstone outranks older writes, unchanged content, text and caller's metadata alike, is
not embedded again), writes Chroma,
then records the new entry, in one script that first checks its locks are still its own.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingest_tasks.core.errors import LeaseLost
from ingest_tasks.core.keys import DOC_KEY, LOCK_KEY, UNRECORDED_KEY
from ingest_tasks.state import locks

if TYPE_CHECKING:
    from redis import Redis

COMMITTED, DELETED = "committed", "deleted"


@dataclass(frozen=True)
class Entry:
    """A document as its collection holds it."""

    version: int
    state: str
    content_hash: str = ""
    chunks: int = 0
    size: int = 0
    meta_hash: str = ""  # of the caller's metadata its chunks carry ("": none)

    def outranks(self, version: int) -> bool:
        """True if a write at `version` must not replace this entry."""
        return self.version > version or (self.state == DELETED and self.version == version)

    def holds(self, version: int, size: int, meta_hash: str = "") -> bool:
        """True if this entry is the committed document at this version and size, with the
        metadata of this hash."""
        return (self.state == COMMITTED and self.version == version and self.size == size
                and self.meta_hash == meta_hash)


def _key(collection: str, doc_id: str) -> str:
    return f"{DOC_KEY}{collection}:{doc_id}"


def get(redis: Redis, collection: str, doc_id: str) -> Entry | None:
    """The registered entry of a document, or None if the collection never held it."""
    return _entry(redis.hgetall(_key(collection, doc_id)))


def get_many(redis: Redis, collection: str, doc_ids: list[str]) -> dict[str, Entry | None]:
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
                 int(fields.get("chunks", 0)), int(fields.get("size", 0)),
                 fields.get("meta_hash", ""))


def entries(redis: Redis, collection: str, batch: int = 1000,
            doc_prefix: str = "") -> Iterator[tuple[str, Entry]]:
    """Every document the collection's registry holds (committed or tombstone), in no order;
    only those whose ids start with `doc_prefix`, if given."""
    prefix = _key(collection, "")
    pattern = prefix + re.sub(r"([*?\[\]\\])", r"\\\1", doc_prefix) + "*"
    keys: list[str] = []
    for key in redis.scan_iter(match=pattern, count=batch):
        keys.append(key)
        if len(keys) == batch:
            yield from _read(redis, prefix, keys)
            keys = []
    yield from _read(redis, prefix, keys)


def committed_ids(redis: Redis, collection: str, doc_prefix: str) -> Iterator[str]:
    """The ids of the documents the collection holds (not tombstones) that start with
    `doc_prefix`, in no order."""
    return (doc_id for doc_id, entry in entries(redis, collection, doc_prefix=doc_prefix)
            if entry.state == COMMITTED)


def _read(redis: Redis, prefix: str, keys: list[str]) -> Iterator[tuple[str, Entry]]:
    with redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.hgetall(key)
        rows = pipe.execute()
    for key, fields in zip(keys, rows):
        entry = _entry(fields)
        if entry is not None:
            yield key.removeprefix(prefix), entry


def drop(redis: Redis, collection: str, batch: int = 1000) -> None:
    """Forget everything the registry holds of a collection."""
    keys = list(redis.scan_iter(match=_key(collection, "*"), count=batch))
    for start in range(0, len(keys), batch):
        redis.unlink(*keys[start : start + batch])


# KEYS: n lock keys, the documents' keys, the collection's unrecorded writes; ARGV: n, the
# locks' value, the time, then doc id, version, state, content hash, chunks, size, metadata
# hash of each document. 0 if a lock is not ours.
_PUT = """
local n = tonumber(ARGV[1])
for i = 1, n do
  if redis.call('get', KEYS[i]) ~= ARGV[2] then return 0 end
end
for i = n + 1, #KEYS - 1 do
  local at = 4 + (i - n - 1) * 7
  redis.call('hset', KEYS[i], 'version', ARGV[at + 1], 'state', ARGV[at + 2], 'content_hash',
             ARGV[at + 3], 'chunks', ARGV[at + 4], 'size', ARGV[at + 5], 'meta_hash',
             ARGV[at + 6], 'updated', ARGV[3])
  redis.call('hdel', KEYS[#KEYS], ARGV[at])
end
return 1
"""


def unrecorded(redis: Redis, collection: str, doc_ids: list[str]) -> dict[str, int]:
    """Chunks written to the store for these documents by writes never recorded here (a
    writer cut off between its store write and its registry write); 0 for none."""
    counts = redis.hmget(UNRECORDED_KEY + collection, doc_ids) if doc_ids else []
    return {doc_id: int(count or 0) for doc_id, count in zip(doc_ids, counts)}


def writing(redis: Redis, collection: str, chunks: dict[str, int]) -> None:
    """Note, before a store write, how many chunks it writes per document (at least as many
    as noted before): until `put` records them, a later write knows what to prune."""
    if chunks:
        # the stubs' Mapping[str | bytes, ...] (invariant key) refuses a dict[str, int]
        redis.hset(UNRECORDED_KEY + collection, mapping=chunks)  # type: ignore[arg-type]


def put(redis: Redis, collection: str, entries: dict[str, Entry], fence: locks.Lease | None = None) -> None:
    """Record documents' new entries in one step; with `fence`, only while its locks are
    still held by it (LeaseLost if not: a holder whose lease lapsed writes nothing)."""
    held = fence.keys if fence else []
    args: list = [len(held), fence.value if fence else "", time.time()]
    for doc_id, entry in entries.items():
        args += [doc_id, entry.version, entry.state, entry.content_hash, entry.chunks, entry.size,
                 entry.meta_hash]
    keys = held + [_key(collection, doc_id) for doc_id in entries] + [UNRECORDED_KEY + collection]
    if not redis.register_script(_PUT)(keys=keys, args=args):
        raise LeaseLost(f"the commit locks of {len(held)} documents lapsed before the commit")


@contextmanager
def locked(redis: Redis, collection: str, doc_ids: list[str], lease: float = 10.0,
           wait: float = 120.0) -> Iterator[locks.Lease]:
    """Hold the commit locks of these documents for the block; yields the lease to fence with."""
    keys = [f"{LOCK_KEY}{collection}:{doc_id}" for doc_id in sorted(set(doc_ids))]
    with locks.held(redis, keys, lease, wait) as held:
        yield held
