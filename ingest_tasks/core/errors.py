"""Errors of ingest-tasks.

The hierarchy decides what happens to a document:

    IngestError
    ├── PermanentError          bad input: the document becomes a failure record
    │   ├── SourceError         the source cannot be read (missing, not a regular file)
    │   │   ├── TooLarge            past a size limit: file, HTML, inline content, text
    │   │   └── SourceOutsideRoots  a path (or s3:// object) under none of the source roots
    │   ├── InvalidDocId        empty, too long, control characters, absolute or `..`
    │   ├── InvalidMetadata     a caller's metadata: a reserved or bad key, a bad value, too much
    │   ├── ParseError          the bytes cannot become text
    │   │   ├── UnsupportedFormat   no parser for this kind of file
    │   │   ├── CorruptDocument     truncated or not what its name says
    │   │   ├── EncryptedDocument   needs a password
    │   │   ├── EncodingError       the text encoding is wrong or unknown
    │   │   ├── EmptyDocument       parses, but holds no text
    │   │   └── ZipBomb             a zip part expands past the size or ratio limit
    │   ├── TimeLimit           the task ran past its soft time limit
    │   └── ModelMismatch       a collection belongs to another embedding model
    ├── InvalidWhere            a search filter outside the `where` language; a ValueError
    ├── WaitTimeout             waited past its deadline (a job, a service, writers); a TimeoutError
    ├── SyncBusy                a sync of the source runs already (another process, a watcher)
    ├── BlueGreenError          an operator's re-embedding command cannot go on
    │   ├── BuildError          no build to start, resume or swap in, or one still running
    │   └── SwapRefused         a check failed: the live collection stays live
    └── TransientError          a service is down or busy: the task is retried
        ├── LiveMoved           the alias moved during a write: redo it on the new live collection
        ├── StoreUnavailable    the Chroma server did not answer
        ├── RedisUnavailable    Redis did not answer (a restart): the registry, locks, jobs
        ├── SourceUnavailable   the store of a source (S3) did not answer, or was busy
        ├── Busy                a lock, a writer's slot or a paused gate not had in time
        │   └── LeaseLost       a lease lapsed while held: another holder may have it now
        └── EmbeddingUnavailable  the embedding backend did not answer

Every error carries a short ``code`` for counting failures by reason and a message
that says what was wrong with this document.
"""

from __future__ import annotations

from typing import Protocol


class IngestError(Exception):
    """Base of every error raised by ingest-tasks."""

    code = "error"

    @property
    def reason(self) -> str:
        """The failure reason stored in a ProcessingResult."""
        return f"{self.code}: {self}"


class PermanentError(IngestError):
    """Retrying cannot help: record the failure and go on."""


class SourceError(PermanentError):
    """The source cannot be read."""

    code = "source"


class TooLarge(SourceError):
    """The document is past a size limit: its file, its kind's, its inline content's or its text's."""

    code = "too-large"


class SourceOutsideRoots(SourceError):
    """The source path, symlinks and `..` resolved, or its s3:// object, lies under none of
    the source roots."""

    code = "source-outside-roots"


class InvalidDocId(PermanentError, ValueError):
    """A document id no document may have; a ValueError too, for callers of the client."""

    code = "doc-id"


class InvalidMetadata(PermanentError, ValueError):
    """A caller's metadata no document may carry; a ValueError too, for callers of the client."""

    code = "metadata"


class InvalidWhere(IngestError, ValueError):
    """A search filter the store would refuse, or that the in-memory store cannot run."""

    code = "where"


class ParseError(PermanentError):
    """The bytes cannot become text."""

    code = "parse"


class UnsupportedFormat(ParseError):
    """No parser handles this kind of file."""

    code = "unsupported"


class CorruptDocument(ParseError):
    """The file is truncated, damaged, or not the format its name says."""

    code = "corrupt"


class EncryptedDocument(ParseError):
    """The file is encrypted and no password was given."""

    code = "encrypted"


class EncodingError(ParseError):
    """The text is not in a declared, marked or accepted encoding."""

    code = "encoding"


class EmptyDocument(ParseError):
    """The file parses but holds no extractable text."""

    code = "empty"


class ZipBomb(ParseError):
    """A zip archive whose parts expand past the size limit or by too high a ratio."""

    code = "zip-bomb"


class TimeLimit(PermanentError):
    """The task ran past its soft time limit: the document costs more than a task may."""

    code = "time-limit"


class ModelMismatch(PermanentError):
    """A collection holds vectors of another embedding model."""

    code = "model-mismatch"


class TransientError(IngestError):
    """A service is down or overloaded: retry with backoff."""

    code = "transient"


class StoreUnavailable(TransientError):
    """The vector store did not answer."""

    code = "store-unavailable"


class SourceUnavailable(TransientError):
    """The store of a source (S3) did not answer, or answered that it is busy or failing."""

    code = "source-unavailable"


class RedisUnavailable(TransientError):
    """Redis (registry, locks, job state) did not answer: restarting, or unreachable."""

    code = "redis-unavailable"


class WaitTimeout(IngestError, TimeoutError):
    """Something waited for did not happen in time (core.polling.poll_until)."""

    code = "timeout"


class SyncBusy(IngestError):
    """A sync of the source is running already: two never run at once."""

    code = "sync-busy"


class BlueGreenError(IngestError):
    """A re-embedding build or swap cannot go on: the message says what to run."""


class BuildError(BlueGreenError):
    """The build asked for cannot be started, resumed or swapped in."""

    code = "build"


class CheckReport(Protocol):
    """What refused a swap: a check's report (bluegreen.checks.Report)."""

    def to_dict(self) -> dict: ...


class SwapRefused(BlueGreenError):
    """A check failed: the live collection stays live."""

    code = "swap-refused"

    def __init__(self, message: str, report: CheckReport | None = None):
        super().__init__(message)
        self.report = report


class LiveMoved(TransientError):
    """The alias moved while a writer prepared its write: redo it on the new live collection."""

    code = "live-moved"


class Busy(TransientError):
    """Waited its whole budget for a lock, a slot or a gate: the task tries again later.

    Waiting is never a document's fault, so it never becomes a time-limit failure.
    """

    code = "busy"


class LeaseLost(Busy):
    """A lease lapsed while its holder still worked (stopped, or Redis unreachable)."""

    code = "lease-lost"


class EmbeddingUnavailable(TransientError):
    """The embedding backend did not answer."""

    code = "embedding-unavailable"
