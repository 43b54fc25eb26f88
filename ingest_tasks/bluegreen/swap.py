"""The swap: make another collection live in one atomic step; rollback is the same step back.

To swap in a candidate (a build, or for a rollback the previous live collection):
1. catch up: copy the documents whose changes it is owed until few are left;
2. check it (checks.verify) while writers go on: a failed check refuses the swap, except
   for documents changed meanwhile, which are owed and checked again in step 3; then
   catch up again with what changed during the check;
3. pause the live collection's writers (alias.paused), copy what is still owed, check
   those documents, and move the alias in one MULTI, which also makes the new live
   collection feed the ones kept for rollback; the writers then resume on it;
4. drop the collections past the retention (INGEST_KEEP_PREVIOUS).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ingest_tasks.bluegreen import checks
from ingest_tasks.bluegreen.copying import copy_documents
from ingest_tasks.core.errors import SwapRefused
from ingest_tasks.core.keys import ALIAS_KEY, CHANGES_KEY, FEEDS_KEY, HISTORY_KEY
from ingest_tasks.state import alias, changes, registry
from ingest_tasks.state.alias import Pause, Target

if TYPE_CHECKING:
    from redis import Redis

    from ingest_tasks.pipeline.resources import Resources

_COPY_BATCH = 64
_CATCH_UP_ROUNDS = 20


@dataclass
class SwapResult:
    """What a swap did."""

    live: Target
    previous: Target
    check: dict  # the full check's report
    caught_up: int  # documents copied before the pause
    replayed: int  # documents copied while writers were paused
    pause: Pause
    dropped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"live": self.live.collection, "model": self.live.model,
                "previous": self.previous.collection, "check": self.check,
                "caught_up": self.caught_up, "replayed": self.replayed,
                "writers_paused_seconds": self.pause.all_seconds,
                "bulk_writers_paused_seconds": self.pause.bulk_seconds, "dropped": self.dropped}


def swap_to(resources: Resources, candidate: Target,
            report: Callable[[str], None] = lambda line: None) -> SwapResult:
    """Make `candidate` live, or raise SwapRefused (the live collection then stays live)."""
    redis, settings = resources.redis, resources.settings
    live = resources.target()
    if candidate.collection == live.collection:
        raise SwapRefused(f"{candidate.collection} is live already")
    caught_up = catch_up(resources, live, candidate, settings.swap_catch_up)
    report(f"caught up {len(caught_up)} changed documents; checking {candidate.collection}")
    full = checks.verify(resources, live, candidate)
    owed = set(changes.pending(redis, candidate.collection))  # checked again in the pause
    for problems in (full.not_current, full.extra, full.wrong_chunks):
        problems[:] = [doc_id for doc_id in problems if doc_id not in owed]
    full.details = {doc_id: line for doc_id, line in full.details.items() if doc_id not in owed}
    if not full.ok:
        raise SwapRefused("; ".join(full.problems()), full)
    caught_up += catch_up(resources, live, candidate, settings.swap_catch_up)  # what the check took
    report(f"checks passed: {full.documents} documents, {full.deleted} deleted, "
           f"self-retrieval {full.retrieval_rate:.2f}; pausing writers")
    try:
        with alias.paused(redis, live.collection, settings.swap_pause_timeout) as pause:
            replayed = catch_up(resources, live, candidate, 0, rounds=1, bulk=False)
            last = checks.verify(resources, live, candidate, docs=replayed) if replayed else full
            if not last.ok:
                raise SwapRefused("; ".join(last.problems()), last)
            dropped = _switch(redis, settings.collection_prefix, live, candidate,
                              settings.keep_previous)
    except TimeoutError as exc:
        raise SwapRefused(f"{exc} after {settings.swap_pause_timeout:.0f} s") from exc
    redis.hset(ALIAS_KEY + settings.collection_prefix, mapping={"pause_seconds": pause.all_seconds,
                                   "bulk_pause_seconds": pause.bulk_seconds})
    for target in dropped:
        resources.store.drop(target.collection)
        registry.drop(redis, target.collection)
    return SwapResult(Target(candidate.collection, candidate.model, candidate.build, live=True),
                      live, full.to_dict(), len(caught_up), len(replayed), pause,
                      [t.collection for t in dropped])


def rollback(resources: Resources, report: Callable[[str], None] = lambda line: None) -> SwapResult:
    """Make the previous live collection live again, caught up with every change since."""
    history = alias.previous(resources.redis, resources.settings.collection_prefix)
    if not history:
        raise SwapRefused("no previous collection is kept (INGEST_KEEP_PREVIOUS)")
    return swap_to(resources, history[0], report)


def catch_up(resources: Resources, source: Target, target: Target, until: int,
             rounds: int = _CATCH_UP_ROUNDS, bulk: bool = True) -> list[str]:
    """Copy documents owed to `target` until at most `until` are owed, or `rounds` passes end.

    Returns the documents copied, oldest change first.
    """
    copied: list[str] = []
    for _ in range(rounds):
        owed = changes.pending(resources.redis, target.collection)
        if len(owed) <= until:
            break
        for start in range(0, len(owed), _COPY_BATCH):
            copy_documents(owed[start : start + _COPY_BATCH], source, target, resources, bulk)
        copied += owed
    return copied


def _switch(redis: Redis, prefix: str, live: Target, candidate: Target,
            keep: int) -> list[Target]:
    """Move the alias and the feeds in one MULTI; returns the collections no longer kept."""
    history = [live] + [t for t in alias.previous(redis, prefix) if t.collection != candidate.collection]
    kept, dropped = history[:keep], history[keep:]
    with redis.pipeline() as pipe:
        pipe.hset(ALIAS_KEY + prefix, mapping={
            "collection": candidate.collection, "model": candidate.model,
            "build": candidate.build, "swapped_at": time.time()})
        pipe.delete(HISTORY_KEY + prefix, FEEDS_KEY + live.collection, FEEDS_KEY + candidate.collection,
                    CHANGES_KEY + candidate.collection,
                    *(CHANGES_KEY + target.collection for target in dropped))
        if kept:
            pipe.rpush(HISTORY_KEY + prefix, *(target.to_json() for target in kept))
            pipe.sadd(FEEDS_KEY + candidate.collection, *(target.collection for target in kept))
        pipe.execute()
    return dropped
