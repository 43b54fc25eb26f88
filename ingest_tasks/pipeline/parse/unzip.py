"""Zip archives checked before anything unzips them whole: a zip bomb is refused.

First the sizes the central directory declares (their sum, and each large part's ratio
to its compressed size); then, since declared sizes can lie, every deflated part is
inflated in pieces and counted, and refused the moment it passes what it declared.
Only then may a reader (python-docx, which inflates each part in one call) open it.
"""

from __future__ import annotations

import struct
import zipfile
import zlib

from ingest_tasks.core.errors import CorruptDocument, ZipBomb
from ingest_tasks.pipeline.parse.options import Options

RATIO_FLOOR = 1 << 20  # parts declaring less say little by their ratio, and cost little
_FEED = 1 << 16  # compressed bytes fed at a time
_PIECE = 1 << 20  # inflated bytes per step of the count, at most
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # as zipfile reads it: name and extra lengths last
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}


def check_archive(data: bytes, infos: list[zipfile.ZipInfo], options: Options) -> None:
    """Refuse a zip whose parts declare, or hold, more than the options allow."""
    limit = options.max_unzipped_bytes
    declared = sum(info.file_size for info in infos)
    if declared > limit:
        raise ZipBomb(f"parts declare {declared:,} bytes unzipped, over the limit of "
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
