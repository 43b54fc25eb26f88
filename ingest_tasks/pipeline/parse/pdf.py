"""PDF: pypdf, lenient; encrypted, damaged and text-less files become specific errors."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from celery.exceptions import SoftTimeLimitExceeded
from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError
from pypdf.generic import DictionaryObject

from ingest_tasks.core.errors import CorruptDocument, EmptyDocument, EncryptedDocument, ParseError
from ingest_tasks.pipeline.parse.normalize import join_tidied, tidy
from ingest_tasks.pipeline.parse.options import Options
from ingest_tasks.pipeline.parse.parsed import Parsed

log = logging.getLogger(__name__)


def parse_pdf(data: bytes, options: Options) -> Parsed:
    """The text of every page, pages separated by blank lines, where each page starts, and
    the title of the document information dictionary."""
    with _quiet_pypdf():
        try:
            reader = PdfReader(io.BytesIO(data), strict=False)
            _unlock(reader)
            pages = list(reader.pages)
        except (ParseError, SoftTimeLimitExceeded):  # the task's time limit is no damage
            raise
        except Exception as exc:  # pypdf raises PdfReadError, PdfStreamError, ValueError...
            raise CorruptDocument(_damage(data, exc)) from exc
        text, starts = _pages_text(pages)
        return Parsed(text, title=_title(reader), pages=tuple(starts))


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """Hide pypdf's warnings about recoverable damage while it reads one file."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _damage(data: bytes, exc: Exception) -> str:
    """Why pypdf could not open the file, saying 'truncated' when the end marker is missing."""
    what = "truncated PDF (no %EOF at the end)" if b"%%EOF" not in data[-2048:] else "damaged PDF"
    return f"{what}: {type(exc).__name__}: {exc}"


def _unlock(reader: PdfReader) -> None:
    """Open an encrypted PDF with the empty password, or say which encryption stops us."""
    if not reader.is_encrypted:
        return
    algorithm = _algorithm(reader)
    try:
        result = reader.decrypt("")
    except DependencyError as exc:
        raise EncryptedDocument(
            f"PDF is encrypted ({algorithm}) and cannot be opened: {exc}"
        ) from exc
    except NotImplementedError as exc:
        raise EncryptedDocument(
            f"PDF is encrypted with an unsupported scheme ({algorithm}): {exc}"
        ) from exc
    if result == PasswordType.NOT_DECRYPTED:
        raise EncryptedDocument(f"PDF is encrypted ({algorithm}) and no password was given")


def _algorithm(reader: PdfReader) -> str:
    """A name for the encryption of a PDF, from its /Encrypt dictionary."""
    try:
        encrypt = reader.trailer["/Encrypt"].get_object()
        if not isinstance(encrypt, DictionaryObject):
            return "unknown algorithm"
        if encrypt.get("/Filter") != "/Standard":
            return f"{str(encrypt.get('/Filter')).lstrip('/')} security handler"
        filters = encrypt.get("/CF", {})
        method = filters.get(encrypt.get("/StmF"), {}).get("/CFM") if filters else None
        version, length = int(encrypt.get("/V", 0)), int(encrypt.get("/Length", 40))
    except (KeyError, AttributeError, TypeError, ValueError):  # only costs the name
        return "unknown algorithm"
    if method == "/AESV3" or version == 5:
        return "AES-256"
    return "AES-128" if method == "/AESV2" else f"RC4-{length}"


def _title(reader: PdfReader) -> str:
    """The /Title of the document's information dictionary, '' if none or unreadable."""
    try:
        title = reader.metadata.title if reader.metadata is not None else None
    except SoftTimeLimitExceeded:
        raise
    except Exception:  # noqa: BLE001 - a damaged info dictionary only costs the title
        return ""
    return " ".join(str(title or "").split())


def _pages_text(pages: list) -> tuple[str, list[int]]:
    """The pages' text joined, and where each page starts in it; no text at all is
    EmptyDocument, unreadable pages CorruptDocument."""
    if not pages:
        raise EmptyDocument("PDF has no pages")
    texts, failures = [], []
    for number, page in enumerate(pages, 1):
        try:
            texts.append(tidy(page.extract_text() or ""))
        except SoftTimeLimitExceeded:
            raise
        except Exception as exc:  # noqa: BLE001 - one bad page must not lose the others
            texts.append("")  # keeps the pages after it in their places
            failures.append(f"page {number}: {type(exc).__name__}: {exc}")
    if failures:
        log.warning(
            "text of %d of %d PDF pages unreadable: %s", len(failures), len(pages), failures[0]
        )
    text, starts = join_tidied(texts)
    if text:
        return text, starts
    if failures:
        raise CorruptDocument(f"no page's text could be read ({failures[0]})")
    count = f"{len(pages)} page" + ("s" if len(pages) > 1 else "")
    raise EmptyDocument(f"no extractable text in {count} (scanned PDF?)")
