"""Bulk-load mode: a collection's index tuned for loading while any batch job writes to it.

The analogue of turning replication off for a load: while at least one job loads a
collection, its HNSW index takes writes in large batches and persists rarely; the last
job to end restores the serving settings. The jobs loading each collection are a Redis
set, so concurrent and resumed jobs agree on when the last one ends. (A job starting
just as the last one ends may find the serving settings back: slower, never wrong.)
"""

from __future__ import annotations

import logging
import time

from .constants import BULK_LOAD_KEY
from .errors import StoreUnavailable

log = logging.getLogger(__name__)


def begin(resources, job_id: str, model: str | None = None) -> None:
    """Count a job as loading its collection and switch bulk-load mode on (idempotent)."""
    if not resources.settings.bulk_load_mode:
        return
    col = resources.collection(model)
    key = BULK_LOAD_KEY + col.name
    if resources.redis.sadd(key, job_id):
        _switch(resources.store, col, True)
    resources.redis.expire(key, resources.settings.job_ttl_seconds)


def end(resources, job_id: str, model: str | None = None) -> None:
    """Count a job as done loading; the last one restores the serving settings."""
    if not resources.settings.bulk_load_mode:
        return
    col = resources.collection(model)
    key = BULK_LOAD_KEY + col.name
    if resources.redis.srem(key, job_id) and resources.redis.scard(key) == 0:
        _switch(resources.store, col, False)


def _switch(store, col, on: bool, attempts: int = 5) -> None:
    """Switch the mode, retrying a busy server; it only tunes speed, so never fail a job on it."""
    for attempt in range(attempts):
        try:
            store.set_bulk_load(col, on)
            return
        except StoreUnavailable as exc:
            if attempt == attempts - 1:
                log.warning("could not switch bulk-load mode %s for %s: %s",
                            "on" if on else "off", col.name, exc)
            else:
                time.sleep(0.2 * 2**attempt)
