"""The watcher without a stack: debouncing on a fake clock, which events count, and what
is refused before it starts."""

import time

import pytest
from watchdog.events import (
    DirCreatedEvent,
    DirModifiedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
)

from ingest_tasks.core.errors import SourceOutsideRoots
from ingest_tasks.core.settings import get_settings
from ingest_tasks.interfaces.cli import main, parser
from ingest_tasks.interfaces.cli.console import ERROR, USAGE
from ingest_tasks.interfaces.client import IngestClient
from ingest_tasks.sync.manifest import Sent
from ingest_tasks.sync.plan import make_plan
from ingest_tasks.sync.sources import Source
from ingest_tasks.sync.watch import Debouncer, Watcher

QUIET = 0.5


def test_several_writes_in_a_row_are_one_release_once_quiet():
    debouncer = Debouncer(QUIET)
    for now in (0.0, 0.2, 0.4):
        debouncer.touch("notes/a.md", now)
    assert debouncer.next_at() == 0.9
    assert debouncer.due(0.89) == []
    assert debouncer.due(0.9) == ["notes/a.md"]
    assert debouncer.due(5.0) == [] and debouncer.next_at() is None


def test_a_burst_of_files_is_released_together_once_it_ends():
    debouncer = Debouncer(QUIET)
    names = [f"upload/page-{n:03d}.md" for n in range(100)]
    for n, name in enumerate(names):
        debouncer.touch(name, n * 0.004)  # 0.4 s of copying: the first ones settle meanwhile
    assert debouncer.due(0.6) == []  # settled ones wait for the burst to end
    assert debouncer.due(0.396 + QUIET) == names


def test_a_file_written_without_pause_holds_others_back_twice_the_quiet_at_most():
    debouncer = Debouncer(QUIET)
    debouncer.touch("b.md", 0.0)
    released = []
    for now in (step / 10 for step in range(30)):
        debouncer.touch("log.md", now)
        released += [(now, path) for path in debouncer.due(now)]
    assert released == [(1.0, "b.md")]  # log.md never settled: it is still pending
    assert list(debouncer.pending) == ["log.md"]


def test_a_path_touched_again_after_release_is_released_again():
    debouncer = Debouncer(QUIET)
    debouncer.touch("a.md", 0.0)
    assert debouncer.due(0.5) == ["a.md"]
    debouncer.touch("a.md", 0.7)
    assert debouncer.due(1.1) == [] and debouncer.due(1.2) == ["a.md"]


def watcher(tmp_path) -> Watcher:
    """A watcher of tmp_path on a clock that stands still (no app: nothing is sent here)."""
    return Watcher(None, Source(str(tmp_path), str(tmp_path)), QUIET, clock=lambda: 1.0)


def test_events_of_documents_and_folders_count_others_do_not(tmp_path):
    seen = watcher(tmp_path)
    for event in (FileCreatedEvent(f"{tmp_path}/a.md"), FileModifiedEvent(f"{tmp_path}/a.md"),
                  FileClosedEvent(f"{tmp_path}/sub/b.txt"), FileDeletedEvent(f"{tmp_path}/c.pdf"),
                  DirCreatedEvent(f"{tmp_path}/new folder")):
        seen.dispatch(event)
    for event in (FileModifiedEvent(f"{tmp_path}/.a.md.swp"),  # an editor's swap file
                  FileCreatedEvent(f"{tmp_path}/a.md.tmp~"),  # a temp file: no document kind
                  FileCreatedEvent(f"{tmp_path}/photo.jpg"),
                  FileCreatedEvent(f"{tmp_path}/.git/config.txt"),
                  DirCreatedEvent(f"{tmp_path}/.git"),
                  DirModifiedEvent(str(tmp_path)),  # the folder itself
                  FileCreatedEvent(f"{tmp_path.parent}/outside.md")):
        seen.dispatch(event)
    assert sorted(seen.debouncer.pending) == ["a.md", "c.pdf", "new folder", "sub/b.txt"]


def test_a_rename_counts_at_both_ends_that_are_documents(tmp_path):
    seen = watcher(tmp_path)
    seen.dispatch(FileMovedEvent(f"{tmp_path}/.a.md.swx", f"{tmp_path}/a.md"))  # editor's save
    seen.dispatch(FileMovedEvent(f"{tmp_path}/b.md", f"{tmp_path}/sub/c.md"))
    seen.dispatch(FileMovedEvent(f"{tmp_path}/d.md", f"{tmp_path}/d.md~"))  # kept as a backup
    assert sorted(seen.debouncer.pending) == ["a.md", "b.md", "d.md", "sub/c.md"]


def test_what_cannot_be_watched_is_refused_before_anything_starts(tmp_path, capsys):
    note = tmp_path / "a.md"
    note.write_text("A note, not a folder.\n")
    assert main(["watch", str(note)]) == ERROR
    assert f"{note}: no such folder" in capsys.readouterr().err
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    client = IngestClient(get_settings().model_copy(update={"source_roots": str(elsewhere)}))
    with pytest.raises(SourceOutsideRoots, match=f"ingest up --source-root {tmp_path}"):
        client.watch(tmp_path)
    with pytest.raises(SystemExit) as usage:
        parser().parse_args(["watch", str(tmp_path), "--debounce", "0"])
    assert usage.value.code == USAGE


def test_a_burst_of_thousands_of_paths_is_planned_in_the_time_of_a_few():
    under = [f"burst/page-{n}.md" for n in range(10_000)]
    manifest = {f"old/{n % 50}/page-{n}.md": Sent("1:1:1", 1) for n in range(10_000)}
    started = time.monotonic()
    plan = make_plan([], manifest, range, under)
    assert plan.empty  # none of the manifest's documents is in the burst's scope
    assert time.monotonic() - started < 1  # 0.03 s; each path against each scope took 40 s
