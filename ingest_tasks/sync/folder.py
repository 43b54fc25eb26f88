"""Listing a folder: the supported files under it, from their stat alone (no file is opened).

Hidden files and folders (a name starting with a dot: editors' swap and temporary files)
and files of unsupported kinds are left out, as `ingest batch` leaves them out. Symlinks
are not followed; a file that vanishes while listed is simply not listed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from ingest_tasks.pipeline.sources import SUPPORTED_SUFFIXES
from ingest_tasks.sync.entry import Entry
from ingest_tasks.sync.sources import Source


def list_entries(source: Source, under: list[str] | None = None) -> Iterator[Entry]:
    """The supported regular files of the folder (or at and below `under`), sorted by path."""
    root = Path(source.uri)
    starts = [""] if under is None else sorted(set(under))
    seen: set[str] = set()
    for start in starts:
        for entry in _walk(root, start):
            if entry.relative not in seen:
                seen.add(entry.relative)
                yield entry


def _walk(root: Path, relative: str) -> Iterator[Entry]:
    """The entries at `relative`: the file itself, or the files below the folder."""
    if hidden(relative):
        return
    path = root / relative if relative else root
    try:
        info = path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return
    if stat.S_ISREG(info.st_mode) and listed(relative):
        yield _entry(relative, path, info)
    elif stat.S_ISDIR(info.st_mode):
        yield from _below(root, path)


def _below(root: Path, folder: Path) -> Iterator[Entry]:
    try:
        with os.scandir(folder) as found:
            items = sorted(found, key=lambda item: item.name)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return
    for item in items:
        if item.name.startswith("."):
            continue
        try:
            info = item.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        relative = Path(item.path).relative_to(root).as_posix()
        if stat.S_ISDIR(info.st_mode):
            yield from _below(root, Path(item.path))
        elif stat.S_ISREG(info.st_mode) and listed(relative):
            yield _entry(relative, Path(item.path), info)


def listed(relative: str) -> bool:
    """Whether a file under a source is one of its documents (not hidden, a supported kind)."""
    return not hidden(relative) and PurePosixPath(relative).suffix.lower() in SUPPORTED_SUFFIXES


def hidden(relative: str) -> bool:
    """Whether a path under a source is hidden: a name in it starts with a dot."""
    return any(part.startswith(".") for part in PurePosixPath(relative).parts)


def _entry(relative: str, path: Path, info: os.stat_result) -> Entry:
    stamp = f"{info.st_mtime_ns}:{info.st_size}:{info.st_ino}"
    return Entry(relative, str(path), stamp, info.st_mtime_ns, info.st_size)
