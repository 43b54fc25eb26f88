"""File sources confined to configured roots: which paths a worker may read.

Paths arrive in task messages, and whatever can write to the broker can write one: a
message proves nothing about who sent it, so "what the submitter may read" cannot be
checked. A worker reads a file only if its path, with symlinks and `..` resolved, lies
under one of the source roots; and it checks again the file it opened, in case a
folder on the way was swapped for a symlink in between. No roots: no file is read.

The roots are INGEST_SOURCE_ROOTS and those `ingest up --source-root` remembered in the
state folder for the stack it starts; among them, s3://bucket/prefix entries confine the
objects workers read from S3 (see s3.confine). A submitter checks its paths against the same
roots before it sends anything (`check_submitted`), so a job the workers would refuse
document by document fails at once instead.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ingest_tasks.core.errors import SourceError, SourceOutsideRoots
from ingest_tasks.core.settings import REMEMBERED_ROOTS, S3_SCHEME, remembered
from ingest_tasks.pipeline import s3

_FD_LINKS = Path("/proc/self/fd")  # Linux: where an open file really is


def remember(state_dir: Path, roots: Sequence[Path | str]) -> list[Path | str]:
    """Add folders and s3:// prefixes to the remembered roots; returns those not there before."""
    known = remembered(state_dir)
    added: list[Path | str] = []
    for given in roots:
        root = _root(given)
        if str(root) not in known and root not in added:
            added.append(root)
    if added:
        state_dir.mkdir(parents=True, exist_ok=True)
        text = "".join(f"{root}\n" for root in [*known, *added])
        (state_dir / REMEMBERED_ROOTS).write_text(text, encoding="utf-8")
    return added


def _root(given: Path | str) -> Path | str:
    """A root as remembered: an S3 prefix normalized, a folder as its real path."""
    if str(given).startswith(S3_SCHEME):
        return s3.normalized(str(given))
    real = Path(given).expanduser().resolve()
    if not real.is_dir():
        raise SourceError(f"--source-root {given}: not a folder")
    return real


def check_submitted(paths: list[Path], roots: list[Path]) -> None:
    """SourceOutsideRoots, saying what to run, for the first path the workers may not read."""
    for path in paths:
        real = path.expanduser().resolve()
        if not any(real.is_relative_to(root.resolve()) for root in roots):
            folder = real if real.is_dir() else real.parent
            listing = ", ".join(map(str, roots)) or "none"
            raise SourceOutsideRoots(
                f"{path} is outside the workers' source roots ({listing}): run "
                f"`ingest up --source-root {folder}` (or add it to INGEST_SOURCE_ROOTS)"
            )


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
