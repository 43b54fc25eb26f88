"""What the bytes really are, from magic numbers and a look at the first few KB."""

from __future__ import annotations

import codecs
from dataclasses import dataclass

SAMPLE = 8192
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32LE"),  # before UTF-16LE: same first two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32BE"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16LE"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16BE"),
)

# (prefix, kind, description); checked in order, all at offset 0
_MAGIC = (
    (b"%PDF-", "pdf", "a PDF document"),
    (b"PK\x03\x04", "zip", "a ZIP archive"),
    (b"PK\x05\x06", "zip", "an empty ZIP archive"),
    (OLE_MAGIC, "ole", "an OLE compound file (legacy Office or encrypted OOXML)"),
    (b"\x89PNG\r\n\x1a\n", "image", "a PNG image"),
    (b"\xff\xd8\xff", "image", "a JPEG image"),
    (b"GIF87a", "image", "a GIF image"),
    (b"GIF89a", "image", "a GIF image"),
    (b"II*\x00", "image", "a TIFF image"),
    (b"MM\x00*", "image", "a TIFF image"),
    (b"\x1f\x8b", "archive", "gzip-compressed data"),
    (b"7z\xbc\xaf\x27\x1c", "archive", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "archive", "a RAR archive"),
    (b"\xfd7zXZ\x00", "archive", "xz-compressed data"),
    (b"\x28\xb5\x2f\xfd", "archive", "zstd-compressed data"),
    (b"\x7fELF", "executable", "an ELF executable"),
    (b"SQLite format 3\x00", "database", "an SQLite database"),
)
WIDE_LABELS = {"utf-16-le": "UTF-16LE", "utf-16-be": "UTF-16BE", "utf-32-le": "UTF-32LE",
               "utf-32-be": "UTF-32BE"}
_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\v\f\r\x1b") + b"\x7f"


@dataclass(frozen=True)
class Kind:
    """The real kind of some bytes: a short name and a phrase for messages."""

    name: str  # pdf, zip, ole, image, archive, executable, database, binary, text
    what: str  # e.g. "a JPEG image"


def sniff(data: bytes) -> Kind:
    """Tell what the bytes are from their signature, else whether they look like text."""
    for prefix, name, what in _MAGIC:
        if data.startswith(prefix):
            return Kind(name, what)
    if data[4:8] == b"ftyp":
        return Kind("image", "an ISO media file (MP4/HEIC/AVIF)")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return Kind("image", "a WebP image")
    if b"%PDF-" in data[:1024] and b"%%EOF" in data[-2048:]:  # junk may precede the header
        return Kind("pdf", "a PDF document")
    if bom_encoding(data) or not _looks_binary(data[:SAMPLE]):
        return Kind("text", "text")
    return Kind("binary", "binary data of no known format")


def bom_encoding(data: bytes) -> tuple[bytes, str, str] | None:
    """The (BOM, codec, label) of the byte order mark the bytes start with, if any."""
    for bom, codec, label in BOMS:
        if data.startswith(bom):
            return bom, codec, label
    return None


def wide_unicode(data: bytes) -> str:
    """The UTF-16/32 codec BOM-less bytes decode in as mostly ASCII text, or ''."""
    sample = data[:SAMPLE]
    best, best_share = "", 0.5
    for codec in WIDE_LABELS:
        unit = 4 if "32" in codec else 2
        try:
            text = sample[: len(sample) - len(sample) % unit].decode(codec)
        except UnicodeDecodeError:
            continue
        share = _ascii_share(text)
        if share > best_share:
            best, best_share = codec, share
    return best


def _ascii_share(text: str) -> float:
    """The share of printable ASCII and ASCII whitespace among the characters; 0 if NULs."""
    if not text or "\x00" in text:
        return 0.0
    if text.isascii():  # bytes.translate deletes in C, without a lookup per character
        others = len(text.encode("ascii").translate(None, _ASCII_TEXT))
    else:
        others = len(text.translate(dict.fromkeys(_ASCII_TEXT)))
    return 1 - others / len(text)


_ASCII_TEXT = bytes([*range(ord(" "), ord("~") + 1), *b"\t\n\r"])  # printable, and whitespace


def _looks_binary(sample: bytes) -> bool:
    """Control bytes or NULs in bytes that are neither UTF-8 nor BOM-less UTF-16/32."""
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    if controls <= len(sample) // 100:
        return False
    # UTF-8 or BOM-less wide text, however odd, is text: encoding.py judges it
    return not (_utf8_prefix(sample) or wide_unicode(sample))


def _utf8_prefix(sample: bytes) -> bool:
    """The sample is valid UTF-8, allowing a character cut at its end."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return True
