"""File sources confined to configured roots: which paths a worker may read.

Paths arrive in task messages, and whatever can write to the broker can write one: a
message proves nothing about who sent it, so "what the submitter may read" cannot be
checked. A worker reads a file only if its path, with symlinks and `..` resolved, lies
under one of INGEST_SOURCE_ROOTS; and it checks again the file it opened, in case a
folder on the way was swapped for a symlink in between. No roots: no file is read.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import SourceError, SourceOutsideRoots

_FD_LINKS = Path("/proc/self/fd")  # Linux: where an open file really is


def confine(path: Path, roots: list[Path]) -> Path:
    """The real path of `path`, if it lies under a root; SourceOutsideRoots otherwise."""
    if not roots:
        raise SourceOutsideRoots(
            f"{path}: no source roots are set (INGEST_SOURCE_ROOTS): workers read no files"
        )
    if not path.is_absolute():
        raise SourceOutsideRoots(f"{path} is a relative path: sources are named by absolute paths")
    try:
        real = path.resolve()
    except RuntimeError as exc:  # Python 3.11: a symlink loop
        raise SourceError(f"cannot read {path}: {exc}") from None
    _check(real, roots, path)
    return real


def check_opened(fd: int, path: Path, roots: list[Path]) -> None:
    """Refuse the open file `fd` if it is not, after all, under a root (Linux; else a no-op)."""
    try:
        opened = Path(os.readlink(_FD_LINKS / str(fd)))
    except OSError:
        return
    _check(opened, roots, path)


def _check(real: Path, roots: list[Path], given: Path) -> None:
    """SourceOutsideRoots unless `real` (a resolved path) is under a resolved root."""
    if any(real.is_relative_to(root.resolve()) for root in roots):
        return
    where = str(given) if real == given else f"{given} resolves to {real}, which"
    listing = ", ".join(map(str, roots))
    raise SourceOutsideRoots(f"{where} is under none of the source roots ({listing})")
