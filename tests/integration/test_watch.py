"""`ingest watch` on the real stack: a folder's changes reach the index as they settle,
debounced, and a watcher killed and started again catches up on what changed meanwhile."""

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ingest_tasks.core.keys import SOURCE_KEY
from ingest_tasks.core.polling import poll_until
from ingest_tasks.interfaces.cli.console import OK
from ingest_tasks.pipeline.sources import listed
from ingest_tasks.state import locks

DEBOUNCE = 0.3


@contextmanager
def watching(folder: Path, log: Path) -> Iterator[subprocess.Popen]:
    """`ingest watch FOLDER` running, its JSON log lines appended to `log`; killed after."""
    with log.open("ab") as lines:
        watcher = subprocess.Popen(
            [sys.executable, "-m", "ingest_tasks.interfaces.cli", "watch", str(folder),
             "--debounce", str(DEBOUNCE)],
            stderr=lines, env={**os.environ, "INGEST_LOG_FORMAT": "json"})
    try:
        yield watcher
    finally:
        if watcher.poll() is None:
            watcher.kill()
        watcher.wait()


def syncs(log: Path) -> list[dict]:
    """The watcher's log lines so far: one per sync (or failed sync)."""
    found = []
    for line in log.read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if entry.get("logger") == "ingest.watch":
            found.append(entry)
    return found


def started(log: Path, times: int = 1) -> list[dict]:
    """Wait for the watcher's `times`-th sync at start; the log lines of those syncs."""
    def done() -> list[dict] | None:
        starts = [line for line in syncs(log) if line["trigger"] == "watch-start"
                  and line["level"] == "INFO"]
        return starts if len(starts) >= times else None

    return poll_until(done, 60, "the watcher's sync at start")


def on_disk(folder: Path) -> dict[str, str]:
    """The folder's documents as the index should hold them: path -> words."""
    files = {path.relative_to(folder).as_posix(): path for path in folder.rglob("*")
             if path.is_file()}
    return {name: " ".join(path.read_text().split()) for name, path in files.items()
            if listed(name)}


def in_index(client, names: set[str]) -> dict[str, str]:
    """What the live collection holds of these documents: doc id -> words."""
    resources = client.resources
    chunks = resources.store.chunks_of(resources.collection(), sorted(names))
    return {doc_id: " ".join(" ".join(text for text, _ in rows).split())
            for doc_id, rows in chunks.items()}


def settle(client, folder: Path, names: set[str]) -> None:
    """Wait until the index holds exactly the folder's documents, each at its newest text,
    and none of `names` (every document the test made) that the folder no longer has."""
    names = names | set(on_disk(folder))
    poll_until(lambda: in_index(client, names) == on_disk(folder), 60,
               f"the index equal to {folder}", interval=0.1)


def note(path: Path, text: str) -> None:
    """Write a one-line document."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


def test_edits_creations_renames_and_deletions_follow_the_folder(client, tmp_path):
    folder, log = tmp_path / "notes", tmp_path / "watch.log"
    names = {"w-kept.txt", "w-edited.txt", "w-saved.txt", "w-moved.txt", "w-gone.txt",
             "w-new.txt", "w-moved-here.txt", "sub/w-inner.txt", "sub/deeper/w-deep.txt",
             "w-last.txt"}
    for name in ("w-kept", "w-edited", "w-saved", "w-moved", "w-gone"):
        note(folder / f"{name}.txt", f"The {name} note speaks of tide tables and harbour cranes.")
    with watching(folder, log) as watcher:
        started(log)
        settle(client, folder, names)

        note(folder / "w-new.txt", "A new note on lighthouse lenses.")
        with (folder / "w-edited.txt").open("a") as edited:
            for n in range(5):  # several writes in a row, each flushed to the file
                edited.write(f" Edit number {n} of the tide tables.")
                edited.flush()
        note(folder / ".w-saved.txt.swp", "an editor's swap file")
        note(folder / "w-saved.txt.tmp~", "The saved note, as the editor wrote it anew.")
        (folder / "w-saved.txt.tmp~").rename(folder / "w-saved.txt")
        (folder / "w-moved.txt").rename(folder / "w-moved-here.txt")
        (folder / "w-gone.txt").unlink()
        note(folder / "sub" / "w-inner.txt", "A note in a new folder, about buoys.")
        note(folder / "sub" / "deeper" / "w-deep.txt", "A note deeper down, about anchors.")
        settle(client, folder, names)
        edits = [line for line in syncs(log) if "w-edited.txt" in line.get("paths", "")]
        assert len(edits) == 1, edits  # the writes, and the burst's other paths, in one sync
        assert edits[0]["count"] >= 8 and edits[0]["tasks"] >= 8  # streamed, tombstones too

        shutil.rmtree(folder / "sub")
        burst = [f"burst/w-page-{n:02d}.txt" for n in range(client.settings.stream_max_docs + 4)]
        for name in burst:  # more than the stream lane takes: a batch job
            note(folder / name, f"Page {name[-6:-4]} of an uploaded manual on buoys.")
        settle(client, folder, names | set(burst))
        (sync,) = [line for line in syncs(log) if burst[0] in line.get("paths", "")]
        assert sync["new"] == len(burst) and sync["job_id"], sync

        note(folder / "w-last.txt", "Written just before the watcher was told to stop.")
        watcher.send_signal(signal.SIGTERM)  # stops after a last sync of the whole folder
        assert watcher.wait(timeout=60) == OK
    settle(client, folder, names | set(burst))
    assert "w-last.txt" in in_index(client, names)


def test_a_watcher_killed_and_started_again_catches_up(client, tmp_path):
    folder, log = tmp_path / "notes", tmp_path / "watch.log"
    names = {"k-one.txt", "k-two.txt", "k-three.txt", "k-four.txt", "k-renamed.txt"}
    for name in ("k-one", "k-two", "k-three"):
        note(folder / f"{name}.txt", f"The {name} note speaks of river barges.")
    with watching(folder, log) as watcher:
        started(log)
        settle(client, folder, names)
        watcher.send_signal(signal.SIGKILL)
        watcher.wait()

    note(folder / "k-four.txt", "Added while no watcher ran: canal locks.")
    note(folder / "k-one.txt", "Edited while no watcher ran: the barges are gone.")
    (folder / "k-two.txt").rename(folder / "k-renamed.txt")
    (folder / "k-three.txt").unlink()
    with watching(folder, log):
        start = started(log, times=2)[-1]
        assert (start["new"], start["changed"], start["deleted"]) == (2, 1, 2), start
        settle(client, folder, names)

        lock = f"{SOURCE_KEY}{folder.resolve()}:lock"  # a scheduled sync of the folder runs
        with locks.held(client.resources.redis, [lock], lease=10, wait=0):
            note(folder / "k-four.txt", "Edited while a sync ran: the locks are open.")
            poll_until(lambda: [line for line in syncs(log) if line["level"] == "WARNING"], 60,
                       "the watcher's sync refused")
        settle(client, folder, names)  # tried again, once the other sync ended
        refused = next(line for line in syncs(log) if line["level"] == "WARNING")
        assert refused["error"] == "SyncBusy" and refused["paths"] == "k-four.txt", refused
