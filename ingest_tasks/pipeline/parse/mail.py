"""E-mail: a message (.eml) or a mailbox (.mbox) as headers and text, attachments aside.

A message's text is its From, To, Cc, Date and Subject headers, then its body (the plain
text part, else the HTML one), then its other inline text parts; its subject is the title.
A mailbox is one document: each message's subject a level-1 heading over its text.
Attachments with a file name (a forwarded message as <subject>.eml) are not read here:
they come back in Mail.attachments for the pipeline to ingest as their own documents.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message, MIMEPart
from email.parser import BytesParser

from ingest_tasks.core.errors import CorruptDocument, EmptyDocument
from ingest_tasks.pipeline.parse.encoding import codec_for_label, decode_text
from ingest_tasks.pipeline.parse.html import parse_html
from ingest_tasks.pipeline.parse.options import Options
from ingest_tasks.pipeline.parse.outline import Outline
from ingest_tasks.pipeline.parse.parsed import Parsed

HEADERS = ("From", "To", "Cc", "Date", "Subject")
_FROM_LINE = re.compile(rb"^From [^\n]*\n", re.MULTILINE)
_QUOTED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message: its name, and its bytes as decoded from the message."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Mail(Parsed):
    """A parsed message or mailbox, and the attachments of its messages in order."""

    attachments: tuple[Attachment, ...] = ()


def parse_eml(data: bytes, options: Options) -> Mail:
    """One message: headers, body and inline text parts; its subject the title."""
    message = _message(data)
    outline, attachments = Outline(), list[Attachment]()
    _add_message(message, options, outline, attachments)
    if outline.empty:
        raise EmptyDocument("no headers and no text in the message")
    subject = _header(message, "Subject")
    return Mail(*_fields(outline.parsed(title=subject)), attachments=tuple(attachments))


def parse_mbox(data: bytes, options: Options) -> Mail:
    """Every message of an mbox, each under its subject as a level-1 heading."""
    if not data.startswith(b"From "):
        raise CorruptDocument("not an mbox: the file does not start with a 'From ' line")
    outline, attachments = Outline(), list[Attachment]()
    for number, raw in enumerate(_FROM_LINE.split(data)[1:], 1):
        message = _message(_QUOTED_FROM.sub(rb"\1", raw))
        outline.add(_header(message, "Subject") or f"Message {number}", level=1)
        _add_message(message, options, outline, attachments)
    return Mail(*_fields(outline.parsed()), attachments=tuple(attachments))


def _fields(parsed: Parsed) -> tuple[str, str, str, tuple]:
    """The fields of a Parsed a Mail is made from: text, encoding, title, headings."""
    return parsed.text, parsed.encoding, parsed.title, parsed.headings


def _message(data: bytes) -> EmailMessage:
    """The bytes parsed as an RFC 5322 message."""
    message = BytesParser(policy=policy.default).parsebytes(data)
    if not isinstance(message, EmailMessage) or not (message.keys() or message.get_payload()):
        raise CorruptDocument("no headers and no body: not an e-mail message")
    return message


def _add_message(message: EmailMessage, options: Options, outline: Outline,
                 attachments: list[Attachment]) -> None:
    """Add a message's headers and text parts to `outline`, its attachments to the list."""
    outline.add("\n".join(f"{name}: {value}" for name in HEADERS
                          if (value := _header(message, name))))
    body = message.get_body(preferencelist=("plain", "html"))
    if body is not None:
        outline.add(_part_text(body, options))
    for part in message.iter_attachments():
        attached = _attachment(part)
        if attached is not None:
            attachments.append(attached)
        elif part.get_content_maintype() == "text":
            outline.add(_part_text(part, options))


def _attachment(part: MIMEPart) -> Attachment | None:
    """The part as an attachment if it is a file (it has a name) or a forwarded message."""
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload(0)
        if not isinstance(inner, Message):
            return None
        forwarded = part.get_filename() or f"{_header(inner, 'Subject') or 'message'}.eml"
        return Attachment(_safe_name(forwarded), inner.as_bytes())
    name = part.get_filename()
    data = part.get_payload(decode=True)
    if not name or not isinstance(data, bytes):
        return None
    return Attachment(_safe_name(name), data)


def _safe_name(name: str) -> str:
    """A file name fit for a document id: no folders, no control characters, 100 at most."""
    name = re.sub(r"[\x00-\x1f\x7f/\\]+", "_", name).strip(" .") or "attachment"
    return name[-100:]


def _part_text(part: MIMEPart, options: Options) -> str:
    """A text part's text: decoded by its declared charset, else as text files are."""
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes) or not data.strip():
        return ""
    codec = codec_for_label(part.get_content_charset() or "")
    try:
        text = data.decode(codec) if codec else decode_text(data, options)[0]
    except UnicodeDecodeError:
        text = decode_text(data, options)[0]  # a wrong declaration: detect as for text files
    if part.get_content_subtype() == "html":
        return parse_html(codecs.BOM_UTF8 + text.encode("utf-8"), options).text
    return text


def _header(message: Message, name: str) -> str:
    """A header's value, decoded and on one line ('' if absent or unreadable)."""
    value = str(message.get(name, "") or "")
    value = value.encode("utf-8", "replace").decode("utf-8")  # undecodable bytes
    return " ".join(value.split())
