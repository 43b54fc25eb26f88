"""The one polling loop: call a check until it answers, or until time runs out."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from ingest_tasks.core.errors import IngestError, WaitTimeout

T = TypeVar("T")


def poll_until(check: Callable[[], T | None], timeout: float | None, what: str,
               interval: float = 0.2, error: type[IngestError] = WaitTimeout) -> T:
    """Call `check()` every `interval` s until it returns something true, and return that;
    past `timeout` s (None: never) raise `error` naming `what`."""
    started = time.monotonic()
    while not (got := check()):
        waited = time.monotonic() - started
        if timeout is not None and waited > timeout:
            raise error(f"{what} (waited {waited:.1f} s)")
        time.sleep(interval)
    return got
