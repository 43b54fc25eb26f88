"""Listing a folder: the supported files under it, from their stat alone (no file is opened).

Hidden files and folders (a name starting with a dot: editors' swap and temporary files)
and files of unsupported kinds are left out, as `ingest batch` leaves them out. Symlinks
are not followed; a file that vanishes while listed is simply not listed. Paths stay
strings here: a listing of 10,000 files is mostly this loop.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

from ingest_tasks.core.errors import SourceError
from ingest_tasks.pipeline.sources import hidden, listed, supported
from ingest_tasks.sync.entry import Entry
from ingest_tasks.sync.sources import Source


def list_entries(source: Source, under: list[str] | None = None) -> Iterator[Entry]:
    """The supported regular files of the folder (or at and below `under`), sorted by path.

    SourceError if the folder itself is gone: an unmounted share must not read as every
    document deleted.
    """
    root = source.uri
    if not os.path.isdir(root):
        raise SourceError(f"source {source.name}: {root} is not a folder (gone, or not "
                          "mounted?): nothing is synced")
    starts = [""] if under is None else sorted(set(under))
    seen: set[str] = set()
    for start in starts:
        for entry in _walk(root, start):
            if entry.relative not in seen:
                seen.add(entry.relative)
                yield entry


def _walk(root: str, relative: str) -> Iterator[Entry]:
    """The entries at `relative`: the file itself, or the files below the folder."""
    if hidden(relative):
        return
    path = os.path.join(root, relative) if relative else root
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return
    if stat.S_ISREG(info.st_mode) and listed(relative):
        yield _entry(relative, path, info)
    elif stat.S_ISDIR(info.st_mode):
        yield from _below(path, relative + "/" if relative else "")


def _below(folder: str, relative: str) -> Iterator[Entry]:
    """The entries under a folder whose relative path (with a trailing slash) is `relative`."""
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
        if stat.S_ISDIR(info.st_mode):
            yield from _below(item.path, f"{relative}{item.name}/")
        elif stat.S_ISREG(info.st_mode) and supported(item.name):
            yield _entry(relative + item.name, item.path, info)


def _entry(relative: str, path: str, info: os.stat_result) -> Entry:
    stamp = f"{info.st_mtime_ns}:{info.st_size}:{info.st_ino}"
    return Entry(relative, path, stamp, info.st_mtime_ns, info.st_size)
