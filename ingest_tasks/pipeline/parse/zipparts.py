"""Zip containers (pptx, xlsx, odt, epub) read part by part, each part checked before it is read.

A part is checked as unzip.py checks a .docx (its declared size, its ratio past 1 MiB,
its deflate stream counted while inflating), and the parts read together may not declare
more than INGEST_MAX_UNZIPPED_BYTES: parts never read (images, fonts) cost nothing.
XML parts are parsed without entities, DTDs or network access.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Iterable
from urllib.parse import unquote

from lxml import etree

from ingest_tasks.core.errors import CorruptDocument, EncryptedDocument, ZipBomb
from ingest_tasks.pipeline.parse.options import Options
from ingest_tasks.pipeline.parse.unzip import check_archive


class ZipParts:
    """The parts of a zip container, read only through checks; `what` names it in messages."""

    def __init__(self, data: bytes, options: Options, what: str):
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as exc:
            if "not a zip file" in str(exc):
                raise CorruptDocument("truncated zip: central directory missing") from None
            raise CorruptDocument(f"damaged zip: {exc}") from None
        self._data, self._options, self._what, self._archive = data, options, what, archive
        self._infos = {info.filename: info for info in archive.infolist()}
        self._declared = 0

    def __contains__(self, name: object) -> bool:
        return name in self._infos

    @property
    def names(self) -> list[str]:
        """The names of all parts, in the archive's order."""
        return list(self._infos)

    def check(self, names: Iterable[str]) -> None:
        """Check parts another reader (openpyxl) will read, as read() checks its own."""
        infos = [self._info(name) for name in names]
        for info in infos:
            if info.flag_bits & 0x1:
                raise EncryptedDocument(f"zip part {info.filename} is password-protected")
        self._declared += sum(info.file_size for info in infos)
        limit = self._options.max_unzipped_bytes
        if self._declared > limit:
            raise ZipBomb(f"parts read declare {self._declared:,} bytes unzipped, over the limit "
                          f"of {limit:,} (INGEST_MAX_UNZIPPED_BYTES)")
        check_archive(self._data, infos, self._options)

    def read(self, name: str) -> bytes:
        """A part's bytes, once checked; CorruptDocument if there is no such part."""
        self.check([name])
        return self._archive.read(name)

    def xml(self, name: str) -> etree._Element:
        """A part parsed as XML (no entities, no DTD, no network)."""
        parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True)
        return etree.fromstring(self.read(name), parser)

    def _info(self, name: str) -> zipfile.ZipInfo:
        """The entry of a part; CorruptDocument naming the container if it is missing."""
        try:
            return self._infos[name]
        except KeyError:
            raise CorruptDocument(f"{self._what} has no part {name}") from None


def resolve(base: str, target: str) -> str:
    """A reference from part `base` to `target` (relative or from the root, %-escaped), as a
    part name."""
    target = unquote(target.split("#", 1)[0])
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))
