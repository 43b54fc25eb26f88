"""Watching a folder source: file events become syncs of the paths they touched.

Each event (created, modified, closed after writing, deleted, moved: both ends) notes its
relative path as pending, with the time of its last event; a directory's event notes the
directory (a sync of it covers everything below). Paths of no document (hidden names,
editors' temp files, unsupported kinds) are ignored, so an editor's save (a temp file
renamed onto the document) counts once, for the document. A path is sent once quiet for
INGEST_WATCH_DEBOUNCE s, and the paths of a burst together (see Debouncer), in one sync of
those paths: a few small documents stream, more become one batch job (see runner).

The watcher holds the source's watcher lease, starts observing, then syncs the whole
source, catching up on what changed while no watcher ran. A sync that fails (Redis away,
SyncBusy while a scheduled sync runs) keeps its paths pending and is tried again after a
growing pause. SIGINT or SIGTERM stops it after a last sync of the whole source: what is
pending is sent, and so is a change whose event was still on its way.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from ingest_tasks.core.errors import SourceError
from ingest_tasks.lanes.worklog import LOGGER, log_fields
from ingest_tasks.pipeline.sources import hidden, listed
from ingest_tasks.sync import runner, status
from ingest_tasks.sync.runner import SyncReport
from ingest_tasks.sync.sources import Source

if TYPE_CHECKING:
    from ingest_tasks.lanes.app import IngestApp

log = logging.getLogger(LOGGER + ".watch")
EVENTS = [FileCreatedEvent, FileModifiedEvent, FileClosedEvent, FileDeletedEvent, FileMovedEvent,
          DirCreatedEvent, DirDeletedEvent, DirMovedEvent]  # not opened, attrib, a folder's mtime
MAX_PAUSE = 30.0  # seconds between tries of a failing sync, at most
SHOWN = 20  # paths named in a log line


class Debouncer:
    """Paths pending with the time of their last event; released together once settled.

    A path is settled once quiet for `quiet` s. Settled paths are released when every
    pending path is settled (a burst ends as one release), or when the oldest has waited
    twice `quiet` (a path written without pause holds back no other for longer).
    """

    def __init__(self, quiet: float):
        self.quiet = quiet
        self.pending: dict[str, float] = {}

    def touch(self, path: str, now: float) -> None:
        """Note an event on `path` at `now`."""
        self.pending[path] = now

    def next_at(self) -> float | None:
        """When paths are next released; None if none is pending."""
        if not self.pending:
            return None
        times = self.pending.values()
        return min(max(times) + self.quiet, min(times) + 2 * self.quiet)

    def due(self, now: float) -> list[str]:
        """Take the paths to send now (sorted; none before next_at())."""
        at = self.next_at()
        if at is None or now < at:
            return []
        taken = sorted(path for path, last in self.pending.items() if now - last >= self.quiet)
        for path in taken:
            del self.pending[path]
        return taken


class Watcher(FileSystemEventHandler):
    """Follows one folder source: the observer's thread notes paths, run() syncs them."""

    def __init__(self, app: IngestApp, source: Source, debounce: float,
                 clock: Callable[[], float] = time.monotonic):
        self.app, self.source, self.clock = app, source, clock
        self.root = Path(source.uri)
        self.debouncer = Debouncer(debounce)
        self.lock = threading.Lock()  # the debouncer's: both threads use it
        self.wake, self.stopped = threading.Event(), threading.Event()
        self.whole = True  # the start's sync of the whole source is still to run
        self.failures, self.not_before = 0, 0.0

    def dispatch(self, event: FileSystemEvent) -> None:
        """Note the paths of a file event that may be documents (the observer's thread)."""
        ends = [event.src_path, event.dest_path] if event.dest_path else [event.src_path]
        paths = [path for path in map(self.relative, ends)
                 if path and (not hidden(path) if event.is_directory else listed(path))]
        if paths:
            with self.lock:
                for path in paths:
                    self.debouncer.touch(path, self.clock())
            self.wake.set()

    def relative(self, path: bytes | str) -> str | None:
        """A path as the source names it (POSIX, under its folder); None for the folder
        itself or a path outside it."""
        found = os.path.relpath(os.fsdecode(path), self.root)
        outside = found == ".." or found.startswith("../")
        return None if found == "." or outside else PurePath(found).as_posix()

    def run(self) -> None:
        """Sync paths as they settle until stop(); then the whole source, once."""
        while not self.stopped.is_set():
            self.wake.clear()
            self.wake.wait(self._pause())
            if not self.stopped.is_set():
                self._step()
        self._sync(None, final=True)  # the pending paths, and changes whose events are in flight

    def stop(self) -> None:
        """End run() after the sync under way, if any (any thread, a signal handler)."""
        self.stopped.set()
        self.wake.set()

    def _pause(self) -> float | None:
        """Seconds until there may be something to send; None: until an event or stop()."""
        now = self.clock()
        with self.lock:
            at = self.not_before if self.whole else self.debouncer.next_at()
        return None if at is None else max(at, self.not_before, now) - now

    def _step(self) -> None:
        """Send what is due: the whole source first, then settled paths."""
        if self.clock() < self.not_before:
            return
        if self.whole:
            self._sync(None)
            return
        with self.lock:
            paths = self.debouncer.due(self.clock())
        if paths:
            self._sync(paths)

    def _sync(self, paths: list[str] | None, final: bool = False) -> None:
        """Sync the paths (None: the whole source); log it, or keep them for another try."""
        trigger = "watch-stop" if final else "watch-start" if paths is None else "watch"
        try:
            report = runner.sync(self.app, self.source, under=paths, hybrid=True,
                                 trigger=trigger, wait=0)
        except Exception as exc:  # noqa: BLE001 - one failed sync never ends the watcher
            self._failed(paths, trigger, exc, final)
            return
        self.whole, self.failures = False, 0
        log_fields(log, logging.INFO, _fields(self.source, trigger, paths, report))

    def _failed(self, paths: list[str] | None, trigger: str, exc: Exception, final: bool) -> None:
        """Keep the paths pending, and try again after a pause twice as long as the last."""
        self.failures += 1
        pause = 0.0 if final else min(self.debouncer.quiet * 2 ** self.failures, MAX_PAUSE)
        now = self.clock()
        self.not_before = now + pause
        with self.lock:
            for path in paths or []:
                self.debouncer.touch(path, now)
        log_fields(log, logging.WARNING, {
            "source": self.source.name, "trigger": trigger, **_shown(paths),
            "error": type(exc).__name__, "reason": str(exc),
            "retry": "at the next start's sync" if final else f"in {pause:.1f} s"})


def _fields(source: Source, trigger: str, paths: list[str] | None, report: SyncReport) -> dict:
    """A sync's log line: its paths, counts, job and tasks."""
    return {"source": source.name, "trigger": trigger, **_shown(paths), **report.counts,
            "job_id": report.job_id, "tasks": len(report.tasks),
            "seconds": round(report.seconds, 3)}


def _shown(paths: list[str] | None) -> dict:
    """Paths as a log line names them: the first SHOWN, comma-separated, and how many."""
    if paths is None:
        return {"paths": "*", "count": None}
    more = f",+{len(paths) - SHOWN} more" if len(paths) > SHOWN else ""
    return {"paths": ",".join(paths[:SHOWN]) + more, "count": len(paths)}


def watch(app: IngestApp, source: Source, debounce: float | None = None) -> None:
    """Follow a folder source until SIGINT or SIGTERM (or, off the main thread, forever);
    SyncBusy if another watcher follows it. See the module's docstring."""
    if source.is_s3:
        raise SourceError(f"{source.uri}: only folders are watched; sync an S3 source instead")
    watcher = Watcher(app, source, debounce or app.settings.watch_debounce)
    redis = app.resources.redis
    with (status.watching(redis, source.name, app.settings.lock_lease_seconds),
          _observing(watcher), _stopped_by_signals(watcher)):
        watcher.run()


@contextmanager
def _observing(watcher: Watcher) -> Iterator[None]:
    """Feed the watcher the events of its folder and everything below, for the block."""
    observer = Observer()
    observer.schedule(watcher, str(watcher.root), recursive=True, event_filter=EVENTS)
    observer.start()
    try:
        yield
    finally:
        observer.stop()
        observer.join()


@contextmanager
def _stopped_by_signals(watcher: Watcher) -> Iterator[None]:
    """SIGINT and SIGTERM stop the watcher (a second one acts as before); main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signals = (signal.SIGINT, signal.SIGTERM)
    before = {number: signal.getsignal(number) for number in signals}

    def stop(received: int, frame: object) -> None:
        watcher.stop()
        for number, handler in before.items():
            signal.signal(number, handler)

    for number in signals:
        signal.signal(number, stop)
    try:
        yield
    finally:
        for number, handler in before.items():
            signal.signal(number, handler)
