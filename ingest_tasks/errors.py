"""Errors of ingest-tasks.

The hierarchy decides what happens to a document:

    IngestError
    ├── PermanentError          bad input: the document becomes a failure record
    │   ├── SourceError         the source cannot be read (missing, too large)
    │   ├── ParseError          the bytes cannot become text
    │   │   ├── UnsupportedFormat   no parser for this kind of file
    │   │   ├── CorruptDocument     truncated or not what its name says
    │   │   ├── EncryptedDocument   needs a password
    │   │   ├── EncodingError       the text encoding is wrong or unknown
    │   │   └── EmptyDocument       parses, but holds no text
    │   └── ModelMismatch       a collection belongs to another embedding model
    └── TransientError          a service is down or busy: the task is retried
        ├── StoreUnavailable    the Chroma server did not answer
        └── EmbeddingUnavailable  the embedding backend did not answer

Every error carries a short ``code`` for counting failures by reason and a message
that says what was wrong with this document.
"""


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


class ModelMismatch(PermanentError):
    """A collection holds vectors of another embedding model."""

    code = "model-mismatch"


class TransientError(IngestError):
    """A service is down or overloaded: retry with backoff."""

    code = "transient"


class StoreUnavailable(TransientError):
    """The vector store did not answer."""

    code = "store-unavailable"


class EmbeddingUnavailable(TransientError):
    """The embedding backend did not answer."""

    code = "embedding-unavailable"
