"""Zip parts checked before they are inflated: a zip bomb is refused.

Only the parts a parser reads are checked, and only they are ever inflated: a picture,
font or embedded object that expands 130:1 costs nothing when no one unzips it.
For the parts read, first the sizes the central directory declares (their sum, with the
parts read before, and each large part's ratio to its compressed size); then, since
declared sizes can lie, every deflated part is inflated in pieces and counted, and refused
the moment it passes what it declared. Only then is it read (zipfile, which stops at the
declared size, so a part is never inflated whole before its count).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterable

from ingest_tasks.core.errors import CorruptDocument, EncryptedDocument, ZipBomb
from ingest_tasks.pipeline.parse.options import Options

RATIO_FLOOR = 1 << 20  # parts declaring less say little by their ratio, and cost little
_FEED = 1 << 16  # compressed bytes fed at a time
_PIECE = 1 << 20  # inflated bytes per step of the count, at most
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # as zipfile reads it: name and extra lengths last
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}


class ZipParts:
    """A zip read part by part, each part checked before it is inflated; the others never are.
    `what` names the container in messages ("the .pptx")."""

    def __init__(self, data: bytes, options: Options, what: str = "the zip"):
        """Read the zip's central directory; a truncated or damaged one is CorruptDocument."""
        try:
            self._archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as exc:
            if "not a zip file" in str(exc):
                raise CorruptDocument("truncated zip: central directory missing") from None
            raise CorruptDocument(f"damaged zip: {exc}") from None
        self._data, self._options, self._read, self.what = data, options, 0, what
        self.infos = {info.filename: info for info in self._archive.infolist()}

    def __contains__(self, name: object) -> bool:
        return name in self.infos

    @property
    def names(self) -> list[str]:
        """The names of all parts, in the archive's order."""
        return list(self.infos)

    def check(self, names: Iterable[str]) -> list[zipfile.ZipInfo]:
        """Check parts about to be read (here, or by another reader such as openpyxl),
        together and with every part checked before; their entries."""
        infos = [self._info(name) for name in names]
        for info in infos:
            if info.flag_bits & 0x1:
                raise EncryptedDocument(f"zip part {info.filename} is password-protected")
        check_archive(self._data, infos, self._options, read_before=self._read)
        self._read += sum(info.file_size for info in infos)
        return infos

    def read(self, names: list[str]) -> list[bytes]:
        """The parts named, once checked."""
        return [self._archive.read(info) for info in self.check(names)]

    def part(self, name: str) -> bytes:
        """One part, once checked."""
        return self.read([name])[0]

    def _info(self, name: str) -> zipfile.ZipInfo:
        """The entry of a part; CorruptDocument naming the container if it has none."""
        try:
            return self.infos[name]
        except KeyError:
            raise CorruptDocument(f"{self.what} has no part {name}") from None


def check_archive(data: bytes, infos: list[zipfile.ZipInfo], options: Options,
                  read_before: int = 0) -> None:
    """Refuse parts that declare, or hold, more than the options allow.

    `infos` are the parts about to be inflated, `read_before` the bytes its parts read
    before declared: together they may declare no more than max_unzipped_bytes.
    """
    limit = options.max_unzipped_bytes
    declared = read_before + sum(info.file_size for info in infos)
    if declared > limit:
        raise ZipBomb(f"parts read declare {declared:,} bytes unzipped, over the limit of "
                      f"{limit:,} (INGEST_MAX_UNZIPPED_BYTES)")
    for info in infos:
        _check_ratio(info, options.max_zip_ratio)
    for info in infos:
        _check_inflated(data, info)


def _check_ratio(info: zipfile.ZipInfo, max_ratio: int) -> None:
    """Refuse a large part that declares more than `max_ratio` times its compressed size."""
    if info.file_size <= RATIO_FLOOR:
        return
    ratio = info.file_size / max(info.compress_size, 1)
    if ratio > max_ratio:
        raise ZipBomb(f"{info.filename} expands {ratio:,.0f}:1 ({info.compress_size:,} to "
                      f"{info.file_size:,} bytes), past {max_ratio}:1 (INGEST_MAX_ZIP_RATIO)")


def _check_inflated(data: bytes, info: zipfile.ZipInfo) -> None:
    """Inflate a part in pieces, refusing it once it passes its declared size."""
    if info.compress_type not in _METHODS:
        raise CorruptDocument(f"{info.filename} is compressed by method {info.compress_type}; "
                              "Word documents use deflate")
    if info.compress_type == zipfile.ZIP_STORED:
        return  # its bytes are in the file: no more than the file holds
    inflated = _inflated_size(_raw(data, info), stop=info.file_size)
    if inflated > info.file_size:
        raise ZipBomb(f"{info.filename} inflates past the {info.file_size:,} bytes it declares")


def _raw(data: bytes, info: zipfile.ZipInfo) -> memoryview:
    """The compressed bytes of a part, found through its local header."""
    start = info.header_offset
    header = data[start : start + _LOCAL_HEADER.size]
    if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise CorruptDocument(f"damaged zip: no local header for {info.filename}")
    fields = _LOCAL_HEADER.unpack(header)
    start += _LOCAL_HEADER.size + fields[-2] + fields[-1]
    return memoryview(data)[start : start + info.compress_size]


def _inflated_size(raw: memoryview, stop: int) -> int:
    """How many bytes a raw deflate stream inflates to; counting ends once past `stop`."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    total = 0
    for at in range(0, len(raw), _FEED):
        pending: bytes | memoryview = raw[at : at + _FEED]
        while pending:
            total += len(inflater.decompress(pending, _PIECE))
            if total > stop:
                return total
            pending = inflater.unconsumed_tail
        if inflater.eof:
            break
    return total + len(inflater.flush())  # what the last input still held: one match at most
