"""Write-behind: a bulk group's documents committed in a thread while the next are parsed.

Without it a group parsed all its documents, then embedded them, then wrote them: the
store sat idle while a group parsed, and the parser while it wrote (docs/benchmarks.md
has the timeline). With it the group's first write starts as soon as its first document
is ready, and parsing goes on beside the writes.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from types import TracebackType

from ingest_tasks.core.results import ProcessingResult
from ingest_tasks.pipeline.commit import Prepared


class WriteBehind:
    """Commits the documents handed to it in a thread of its own, in the caller's context.

    Each commit takes every document handed over since the previous one began: while the
    store is the slow part the writes grow, and while parsing is they start as soon as a
    document is ready. After the first, a commit starts only once `may_write()` says so
    (a static model's: no other bulk writer holds the collection), gathering documents
    meanwhile: a store write costs the server tens of ms besides its vectors, so while
    the store is busy fewer, larger writes get more done. The first error of a commit (or
    of `may_write`) is raised to the caller at its next `add`, or by `finish`; nothing more
    is committed after it. Leaving the block on an error of the caller's waits for the
    commit under way and drops the documents not yet taken (the task is retried or gives
    the group up).
    """

    POLL = 0.01  # seconds between two looks at `may_write`

    def __init__(self, commit: Callable[[list[Prepared]], list[ProcessingResult]],
                 may_write: Callable[[], bool] = lambda: True) -> None:
        self._commit = commit
        self._may_write = may_write
        self._ready: list[Prepared] = []
        self._closed = False
        self._error: BaseException | None = None
        self._results: list[ProcessingResult] = []
        self._changed = threading.Condition()
        context = contextvars.copy_context()  # the task's waiting budget (locks.budget)
        self._thread = threading.Thread(target=context.run, args=(self._run,),
                                        name="write-behind", daemon=True)
        self._thread.start()

    def __enter__(self) -> WriteBehind:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        with self._changed:
            if kind is not None:
                self._ready.clear()
            self._closed = True
            self._changed.notify()
        self._thread.join()

    def add(self, doc: Prepared) -> None:
        """Hand a document over to be committed."""
        with self._changed:
            self._raise()
            self._ready.append(doc)
            self._changed.notify()

    def finish(self) -> list[ProcessingResult]:
        """Commit what is left, wait for it, and return the outcomes of every commit."""
        with self._changed:
            self._closed = True
            self._changed.notify()
        self._thread.join()
        self._raise()
        return self._results

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        try:
            first = True
            while True:
                with self._changed:
                    self._changed.wait_for(lambda: self._ready or self._closed)
                while not first and not self._closed and not self._may_write():
                    time.sleep(self.POLL)
                with self._changed:
                    docs, self._ready, first = self._ready, [], False
                if not docs:
                    return
                self._results += self._commit(docs)
        except BaseException as exc:  # noqa: BLE001 - the caller's thread raises it
            with self._changed:
                self._error = exc
