"""Document references: what a task message carries instead of the document itself."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import SourceError

SUPPORTED_SUFFIXES = frozenset(
    {".docx", ".html", ".htm", ".xhtml", ".txt", ".text", ".md", ".markdown", ".rst", ".pdf"}
)


@dataclass(frozen=True)
class DocRef:
    """A document by reference: its id, where to read it, its version and size.

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

    @classmethod
    def inline(cls, doc_id: str, data: bytes, source: str, version: int) -> DocRef:
        """A document whose bytes travel in the message; `source` names it (its suffix
        tells its kind: note.md)."""
        return cls(doc_id, source, version, len(data), content=base64.b64encode(data).decode("ascii"))

    def to_dict(self) -> dict:
        """JSON-ready form, for task messages."""
        return asdict(self)

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
                if _hidden(path.relative_to(given)):
                    continue
                if path.suffix.lower() in SUPPORTED_SUFFIXES:
                    refs.append(_ref(path, path.relative_to(given).as_posix()))
                else:
                    skipped.append(path)
        elif given.is_file():
            refs.append(_ref(given, given.name))
        else:
            raise SourceError(f"no such file or folder: {given}")
    return refs, skipped


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


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


def read_source(ref: DocRef, max_bytes: int) -> bytes:
    """The bytes of a document, refusing missing files and files over the size limit."""
    if ref.content:
        data = base64.b64decode(ref.content)
        if len(data) > max_bytes:
            raise SourceError(f"{len(data)} bytes is over the limit of {max_bytes}")
        return data
    path = Path(ref.source)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SourceError(f"{size} bytes is over the limit of {max_bytes}")
        return path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc


def content_hash(text: str) -> str:
    """A short, stable hash of a document's text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
