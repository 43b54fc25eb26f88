"""A time limit on one document's work inside a task: when it passes, TimeLimit is raised.

Celery's soft time limit is the task's: past it, a bulk group's one slow document would
fail the whole group. This limit is per document (INGEST_DOCUMENT_TIME_LIMIT), so the
others go on. It needs SIGALRM in the main thread, where prefork and solo pools run
tasks; anywhere else it does nothing, and the task's limits remain.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from ingest_tasks.core.errors import TimeLimit


def during_document_work(exc: BaseException) -> bool:
    """True if `exc` (a task's soft time limit, say) came while a document was read, parsed
    or chunked in a `deadline` block: only that work fails a document for time."""
    return getattr(exc, "during_document_work", False)


def _mark(exc: BaseException) -> None:
    """Note on `exc` that it came during document work (see `during_document_work`)."""
    setattr(exc, "during_document_work", True)  # noqa: B010 - mypy: no exception declares it


_AGAIN = 0.05  # seconds between alarms once the limit has passed


class _Expired(BaseException):
    """Raised by the alarm: no Exception, so that no parser's broad `except` swallows it."""


@contextmanager
def deadline(seconds: float, what: str) -> Iterator[None]:
    """Raise TimeLimit in the block once `seconds` have passed (0: no limit)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        try:
            yield
        except Exception as exc:
            _mark(exc)
            raise
        return
    armed = [True]

    def expired(_signum: int, _frame: FrameType | None) -> None:
        if armed[0]:  # not once the block is over
            raise _Expired

    previous = signal.signal(signal.SIGALRM, expired)
    # again every _AGAIN s: an alarm that lands in a weakref callback or a __del__ has its
    # exception swallowed by Python (only printed), and the work would run on unlimited
    signal.setitimer(signal.ITIMER_REAL, seconds, _AGAIN)
    try:
        yield
    except Exception as exc:  # the task's soft limit among them: it came during this work
        armed[0] = False  # no alarm may replace it now
        _mark(exc)
        raise
    except _Expired:
        armed[0] = False
        raise TimeLimit(
            f"{what} took longer than {seconds:g} s (INGEST_DOCUMENT_TIME_LIMIT)"
        ) from None
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
