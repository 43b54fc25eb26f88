"""The change log: which documents a collection still owes the collections it feeds.

While a build copies the live collection, and after a swap for the collections kept for
rollback, every commit or delete on the live collection marks its documents as changed
for each collection it feeds, with a sequence number that orders the changes. Catching
up copies the marked documents' current state in that order (versions decide any
conflict), and clears a mark only if no newer change came since it was read: a document
is never dropped from the log while a change of it is still owed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest_tasks.core.keys import CHANGE_SEQ_KEY, CHANGES_KEY, FEEDS_KEY

if TYPE_CHECKING:
    from redis import Redis

# KEYS[1]: the feeds of the written collection, KEYS[2]: the sequence; ARGV: doc ids
_RECORD = """
local targets = redis.call('smembers', KEYS[1])
for _, target in ipairs(targets) do
  for _, doc in ipairs(ARGV) do
    redis.call('hset', '""" + CHANGES_KEY + """' .. target, doc, redis.call('incr', KEYS[2]))
  end
end
return #targets
"""
# KEYS[1]: a changes hash; ARGV: doc id, sequence read, doc id, sequence read, ...
_CLEAR = """
local cleared = 0
for i = 1, #ARGV, 2 do
  if redis.call('hget', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    cleared = cleared + redis.call('hdel', KEYS[1], ARGV[i])
  end
end
return cleared
"""


def record(redis: Redis, collection: str, doc_ids: list[str]) -> None:
    """Mark documents just written to `collection` as changed for every collection it feeds."""
    if doc_ids:
        redis.register_script(_RECORD)(keys=[FEEDS_KEY + collection, CHANGE_SEQ_KEY], args=doc_ids)


def follow(redis: Redis, source: str, target: str) -> None:
    """From now on, owe `target` every change written to `source`."""
    redis.sadd(FEEDS_KEY + source, target)


def unfollow(redis: Redis, source: str, target: str) -> None:
    """Stop owing `target` the changes of `source`, and forget what it was owed."""
    redis.srem(FEEDS_KEY + source, target)
    redis.delete(CHANGES_KEY + target)


def feeds(redis: Redis, source: str) -> set[str]:
    """The collections `source` owes its changes to."""
    return redis.smembers(FEEDS_KEY + source)


def pending(redis: Redis, target: str) -> list[str]:
    """The documents whose changes `target` is still owed, oldest change first."""
    marks = redis.hgetall(CHANGES_KEY + target)
    return sorted(marks, key=lambda doc_id: int(marks[doc_id]))


def owed(redis: Redis, target: str) -> int:
    """How many documents' changes `target` is owed."""
    return redis.hlen(CHANGES_KEY + target)


def read(redis: Redis, target: str, doc_ids: list[str]) -> dict[str, str]:
    """The current marks of these documents (the ones that have one)."""
    marks = redis.hmget(CHANGES_KEY + target, doc_ids) if doc_ids else []
    return {doc_id: mark for doc_id, mark in zip(doc_ids, marks) if mark is not None}


def clear(redis: Redis, target: str, marks: dict[str, str]) -> None:
    """Clear the marks read before a copy, unless a newer change replaced them since."""
    if marks:
        args = [value for pair in marks.items() for value in pair]
        redis.register_script(_CLEAR)(keys=[CHANGES_KEY + target], args=args)
