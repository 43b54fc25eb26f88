"""A mail's attachments as documents of their own, beside the mail.

An attachment of a kind the parsers take becomes a document with the id
`<mail id>/attachments/<n>-<its file name>`, the mail's version and metadata, and its
mail as parent (its chunks carry `ingest_parent_id`); it is parsed from the bytes the
mail held, in a time limit of its own. Attachments of other kinds (pictures, archives)
are not documents. Only a mail's own attachments are: those of a forwarded message
inside it are not looked into.
"""

from __future__ import annotations

import re
from pathlib import PurePath

from ingest_tasks.pipeline.parse.mail import Attachment
from ingest_tasks.pipeline.sources import DocRef, supported

_UNSAFE = re.compile(r"[^\w.+-]+")


def attachment_refs(mail: DocRef, attachments: tuple[Attachment, ...], limit: int) -> list[DocRef]:
    """The documents of a mail's attachments of supported kinds, the first `limit` of them."""
    refs: list[DocRef] = []
    for number, attachment in enumerate(attachments, 1):
        name = file_name(attachment.name)
        if supported(name) and len(refs) < limit:
            ref = DocRef.inline(f"{mail.doc_id}/attachments/{number}-{name}", attachment.data,
                                name, mail.version, mail.metadata)
            refs.append(DocRef(**{**ref.to_dict(), "parent": mail.doc_id}))
    return refs


def file_name(name: str) -> str:
    """An attachment's name as one safe path segment: its last part, odd characters as _."""
    base = PurePath(name.replace("\\", "/")).name
    return _UNSAFE.sub("_", base).strip("._") or "attachment"
