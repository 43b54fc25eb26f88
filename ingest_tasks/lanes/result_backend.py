"""The result backend of the lanes: Celery's Redis backend, following a result only while
someone waits for it.

Celery's Redis backend subscribes to each task's result as the task is sent, and keeps
every member of a chord's group waited on until the process ends. The lanes follow
batch jobs through their state in Redis and never read a chord's results, so a
long-running producer (the HTTP API, a sync loop) would keep a subscription and a result
object per task it ever sent. This backend subscribes when `get()` asks, and holds only
the results their callers still hold: a stream handle's `get()` works as before.
"""

from __future__ import annotations

from celery.backends.redis import RedisBackend
from celery.result import AsyncResult

# Celery's form for a backend class with a URL, as in db+postgresql://
_CLASS = f"{__name__}:FollowedOnDemand"


class FollowedOnDemand(RedisBackend):
    """A Redis result backend that subscribes on demand and holds no result it is not asked for."""

    def on_task_call(self, producer, task_id: str) -> None:
        """Send without subscribing: `get()` subscribes, then reads the stored result."""

    def add_pending_result(self, result: AsyncResult, weak: bool = False,
                           start_drainer: bool = True) -> AsyncResult:
        """Wait for `result` only while its caller holds it: a group's members are held by
        the group, a handle's results by the handle."""
        return super().add_pending_result(result, weak=True, start_drainer=start_drainer)


def backend_url(url: str) -> str:
    """The result backend setting for `url`: this backend for redis:// and rediss://,
    Celery's own for anything else."""
    return f"{_CLASS}+{url}" if url.startswith(("redis://", "rediss://")) else url
