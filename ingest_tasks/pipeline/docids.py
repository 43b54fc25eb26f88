"""Document ids: which names a document may have in the index.

An id is a document's path relative to the folder it was found in, or a name its source
gives; it keys the registry in Redis and the chunks in Chroma, and it is printed in job
summaries. Ids are never opened as paths here, but whatever reads the index may treat
them as such, so an id that climbs out of its folder is refused with the rest.
"""

from __future__ import annotations

import re
import unicodedata

from ingest_tasks.core.errors import InvalidDocId

# Unicode categories no id may hold: controls (C0, C1, DEL) break logs and terminals, a
# lone surrogate has no UTF-8 (Redis could not store the id), separators break lines
_REFUSED = {"Cc": "a control character", "Cs": "a lone surrogate",
            "Zl": "a line separator", "Zp": "a paragraph separator"}
_SEGMENTS = re.compile(r"[/\\]")


def check_doc_id(doc_id: object, max_bytes: int) -> str:
    """The id, if a document may be known by it; InvalidDocId saying why not."""
    if not isinstance(doc_id, str):
        raise InvalidDocId(f"document id {doc_id!r} is not a string")
    if not doc_id.strip():
        raise InvalidDocId(f"empty document id {doc_id!r}")
    size = len(doc_id.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise InvalidDocId(f"document id of {size:,} bytes ({doc_id[:40]!r}...) is over the "
                           f"limit of {max_bytes:,} (INGEST_MAX_DOC_ID_BYTES)")
    for at, char in enumerate(doc_id):
        what = _REFUSED.get(unicodedata.category(char))
        if what:
            raise InvalidDocId(f"document id {doc_id!r} holds {what} (U+{ord(char):04X}) at {at}")
    if doc_id.startswith(("/", "\\")) or re.match(r"[A-Za-z]:[/\\]", doc_id):
        raise InvalidDocId(f"document id {doc_id!r} is an absolute path: ids are relative")
    if ".." in _SEGMENTS.split(doc_id):
        raise InvalidDocId(f"document id {doc_id!r} has a '..' segment: ids stay in their folder")
    return doc_id
