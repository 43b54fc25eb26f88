"""Uploads stored where the workers read them (INGEST_UPLOADS_DIR, made a source root):
one new folder per request, files under their own base names, each within the limits."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path, PurePosixPath, PureWindowsPath

from fastapi import UploadFile

from ingest_tasks.core.errors import SourceError, SourceOutsideRoots, TooLarge
from ingest_tasks.core.settings import Settings
from ingest_tasks.pipeline.roots import check_submitted, remember

_CHUNK = 1024 * 1024


def make_readable(settings: Settings) -> Path:
    """Make the uploads folder, and a source root (remembered in the state folder, as
    `ingest up --source-root` does) unless it lies under one already; returns it."""
    uploads = settings.uploads
    uploads.mkdir(parents=True, exist_ok=True)
    try:
        check_submitted([uploads], settings.roots)
    except SourceOutsideRoots:
        remember(settings.state_dir, [uploads])
    return uploads


def new_folder(uploads: Path) -> Path:
    """A fresh folder for one request's files."""
    folder = uploads / uuid.uuid4().hex
    folder.mkdir(parents=True, mode=0o750)
    return folder


def store(files: list[UploadFile], folder: Path, max_bytes: int) -> list[Path]:
    """Write each upload into `folder` under its base name; TooLarge past `max_bytes` a
    file, SourceError for a file with no usable name or a name given twice."""
    paths = []
    for upload in files:
        path = folder / base_name(upload.filename)
        if path.exists():
            raise SourceError(f"two files named {path.name} in one upload")
        _copy(upload, path, max_bytes)
        paths.append(path)
    return paths


def discard(folder: Path) -> None:
    """Remove a request's folder (its submission failed)."""
    shutil.rmtree(folder, ignore_errors=True)


def base_name(filename: str | None) -> str:
    """The file's own name, without any folder a client put in it (either slash)."""
    name = PureWindowsPath(PurePosixPath(filename or "").name).name.strip()
    if name in ("", ".", "..") or "\x00" in name or len(name.encode("utf-8")) > 255:
        raise SourceError(f"an uploaded file needs a name (got {filename!r})")
    return name


def _copy(upload: UploadFile, path: Path, max_bytes: int) -> None:
    written = 0
    with path.open("xb") as out:
        while chunk := upload.file.read(_CHUNK):
            written += len(chunk)
            if written > max_bytes:
                raise TooLarge(f"{path.name} is over {max_bytes} bytes (INGEST_MAX_DOCUMENT_BYTES)")
            out.write(chunk)
