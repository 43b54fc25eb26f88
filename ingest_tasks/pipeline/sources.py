"""Document references: what a task message carries instead of the document itself."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from ingest_tasks.core.errors import SourceError, TooLarge
from ingest_tasks.core.settings import S3_SCHEME
from ingest_tasks.pipeline import s3
from ingest_tasks.pipeline.roots import check_opened, confine

if TYPE_CHECKING:
    from ingest_tasks.core.settings import Settings

HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
SUPPORTED_SUFFIXES = HTML_SUFFIXES | {
    ".docx", ".txt", ".text", ".md", ".markdown", ".rst", ".pdf", ".pptx", ".xlsx", ".csv",
    ".tsv", ".odt", ".epub", ".eml", ".mbox",
}
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # the last component: confine() resolved it already


@dataclass(frozen=True)
class DocRef:
    """A document by reference: its id, where to read it, its version and size, and the
    caller's metadata that its chunks carry (see metadata; {} in messages without it).

    The version orders writes of one document: the higher one wins. By default it is
    the file's modification time in nanoseconds, so a re-run of a job sees the same
    versions, and an edit saved later outranks an older copy from any lane.
    """

    doc_id: str
    source: str
    version: int = 0
    size: int = 0
    submitted: float = 0.0  # wall-clock time of submission, for end-to-end latency
    content: str = ""  # the bytes themselves, base64, for small documents sent inline
    metadata: dict[str, Any] = field(default_factory=dict)
    # the document this one was found in (a mail's attachment, see pipeline.attachments);
    # never in messages: such documents are made by the worker that parses their parent
    parent: str = ""

    @classmethod
    def inline(cls, doc_id: str, data: bytes, source: str, version: int,
               metadata: Mapping[str, Any] | None = None) -> DocRef:
        """A document whose bytes travel in the message; `source` names it (its suffix
        tells its kind: note.md)."""
        return cls(doc_id, source, version, len(data), content=base64.b64encode(data).decode("ascii"),
                   metadata=dict(metadata or {}))

    def to_dict(self) -> dict:
        """JSON-ready form, for task messages (the message schema's DocRef: no parent)."""
        data = asdict(self)
        if not self.parent:
            del data["parent"]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> DocRef:
        """Inverse of to_dict."""
        return cls(**data)


def discover(paths: list[str | Path]) -> tuple[list[DocRef], list[Path]]:
    """Expand files and folders into document references; also return skipped files.

    A file named on its own is always taken (an unsupported one becomes a failure
    record); inside a folder only supported kinds are taken, the rest are skipped.
    The id of a document is its path relative to the folder given, or its file name.
    """
    refs: list[DocRef] = []
    skipped: list[Path] = []
    for given in map(Path, paths):
        if given.is_dir():
            for path in sorted(p for p in given.rglob("*") if p.is_file()):
                if hidden(path.relative_to(given)):
                    continue
                if supported(path.name):
                    refs.append(_ref(path, path.relative_to(given).as_posix()))
                else:
                    skipped.append(path)
        elif given.is_file():
            refs.append(_ref(given, given.name))
        else:
            raise SourceError(f"no such file or folder: {given}")
    return refs, skipped


def hidden(relative: str | PurePath) -> bool:
    """Whether a path under a folder is hidden: a name in it starts with a dot (editors'
    swap and temporary files, .git)."""
    return any(part.startswith(".") for part in PurePath(relative).parts)


def supported(name: str) -> bool:
    """Whether a file's name is of a kind the parsers take (by its suffix)."""
    return os.path.splitext(name)[1].lower() in SUPPORTED_SUFFIXES


def listed(relative: str) -> bool:
    """Whether a file under a folder is one of its documents (not hidden, a supported kind)."""
    return not hidden(relative) and supported(relative)


def _ref(path: Path, doc_id: str) -> DocRef:
    stat = path.stat()
    return DocRef(doc_id, str(path.resolve()), stat.st_mtime_ns, stat.st_size)


def file_ref(path: str | Path, doc_id: str | None = None, version: int | None = None) -> DocRef:
    """A reference to one file; the version defaults to its modification time."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"no such file: {path}")
    ref = _ref(path, doc_id or path.name)
    return ref if version is None else DocRef(ref.doc_id, ref.source, version, ref.size)


def is_remote(source: str) -> bool:
    """Whether a source names an object of a store (s3://...) rather than a file."""
    return source.startswith(S3_SCHEME)


def read_source(ref: DocRef, settings: Settings) -> bytes:
    """The bytes of a document as a worker takes them: inline content within its limit, or
    a regular file or an S3 object under a source root (see roots) within its kind's size
    limit."""
    if ref.content:
        return _inline(ref.content, settings.inline_max_bytes)
    path = Path(ref.source)
    limit, setting = byte_limit(path.name, settings)
    if is_remote(ref.source):
        return s3.read_object(ref.source, limit, setting, settings)
    return read_file(path, limit, setting, roots=settings.roots)


def byte_limit(name: str, settings: Settings) -> tuple[int, str]:
    """A source's size limit and the setting that sets it: HTML's own, or the general one."""
    html = PurePath(name).suffix.lower() in HTML_SUFFIXES
    if html and settings.max_html_bytes < settings.max_document_bytes:
        return settings.max_html_bytes, "INGEST_MAX_HTML_BYTES"
    return settings.max_document_bytes, "INGEST_MAX_DOCUMENT_BYTES"


def read_file(path: Path, max_bytes: int, setting: str = "INGEST_MAX_DOCUMENT_BYTES",
              roots: list[Path] | None = None) -> bytes:
    """The bytes of a regular file, refused past `max_bytes`; given `roots`, only of a
    file under one of them."""
    try:
        flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC  # a FIFO must not block the open
        if roots is not None:
            path, flags = confine(path, roots), flags | _NOFOLLOW
        fd = os.open(path, flags)
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:  # a NUL in the path
        raise SourceError(f"cannot read {path!r}: {exc}") from exc
    try:
        if roots is not None:
            check_opened(fd, path, roots)
        return _read_regular(fd, path, max_bytes, setting)
    finally:
        os.close(fd)


def _read_regular(fd: int, path: Path, max_bytes: int, setting: str) -> bytes:
    """Read an open file whole, if it is a regular file within the limit (it may grow)."""
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):  # a FIFO would wait for a writer, /dev/zero never end
        raise SourceError(f"{path} is not a regular file")
    if info.st_size > max_bytes:
        raise TooLarge(f"{path} is {info.st_size:,} bytes, over the limit of {max_bytes:,} "
                       f"({setting})")
    try:
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise TooLarge(f"{path} grew past the limit of {max_bytes:,} bytes ({setting}) as read")
    return data


def _inline(content: str, max_bytes: int) -> bytes:
    """Inline content decoded, refused undecoded past the limit (messages can be crafted)."""
    size = len(content) * 3 // 4 - content.endswith("=") - content.endswith("==")
    if size > max_bytes:
        raise TooLarge(f"inline content of {size:,} bytes is over the limit of {max_bytes:,} "
                       "(INGEST_INLINE_MAX_BYTES)")
    try:
        return base64.b64decode(content, validate=True)
    except ValueError as exc:
        raise SourceError(f"inline content is not base64: {exc}") from None


def content_hash(text: str) -> str:
    """A short, stable hash of a document's text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
