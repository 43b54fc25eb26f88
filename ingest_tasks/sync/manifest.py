"""The manifest of a source: what was sent for each of its documents, in Redis.

A hash, relative path -> "stamp|version": the stamp the document had when it was sent, and
the version it was sent at; a tombstone sent for a vanished document keeps an empty stamp
and its version. Versions grow by at least one each time a document is sent again, so a
document that comes back (a rename onto the name of a deleted file keeps its old
modification time) outranks the tombstone before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingest_tasks.core.keys import SOURCE_KEY

if TYPE_CHECKING:
    from redis import Redis


@dataclass(frozen=True)
class Sent:
    """What was last sent for one document: its stamp ("" for a tombstone) and version."""

    stamp: str
    version: int

    @property
    def deleted(self) -> bool:
        """Whether a tombstone was sent last."""
        return not self.stamp

    def encode(self) -> str:
        """The manifest's form."""
        return f"{self.stamp}|{self.version}"

    @classmethod
    def decode(cls, text: str) -> Sent:
        """Inverse of encode."""
        stamp, _, version = text.rpartition("|")
        return cls(stamp, int(version))


def key(name: str) -> str:
    """The manifest's key for the source `name`."""
    return f"{SOURCE_KEY}{name}:manifest"


def load(redis: Redis, name: str) -> dict[str, Sent]:
    """The whole manifest of a source."""
    raw: Mapping[str, str] = redis.hgetall(key(name))  # the clients decode responses
    return {path: Sent.decode(value) for path, value in raw.items()}


def record(redis: Redis, name: str, sent: Iterable[tuple[str, Sent]], batch: int = 5000) -> None:
    """Note what was sent, in pieces of `batch` documents."""
    pending: dict[str | bytes, bytes | float | int | str] = {}
    for path, what in sent:
        pending[path] = what.encode()
        if len(pending) >= batch:
            redis.hset(key(name), mapping=pending)
            pending = {}
    if pending:
        redis.hset(key(name), mapping=pending)


def forget(redis: Redis, name: str) -> None:
    """Drop a source's manifest: its next sync sends every document again (unread where the
    index holds it at the same version)."""
    redis.delete(key(name))

