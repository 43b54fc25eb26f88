"""Zip containers (pptx, xlsx, odt, epub) read part by part, each part checked before it is
read (unzip.ZipParts: its declared size, its ratio past 1 MiB, its deflate stream counted
while inflating; the parts read together within INGEST_MAX_UNZIPPED_BYTES), and their XML
parts parsed without entities, DTDs or network access. Parts never read (images, fonts)
cost nothing.
"""

from __future__ import annotations

import posixpath
from urllib.parse import unquote

from lxml import etree

from ingest_tasks.core.errors import CorruptDocument
from ingest_tasks.pipeline.parse.options import Options
from ingest_tasks.pipeline.parse.sniff import OLE_MAGIC
from ingest_tasks.pipeline.parse.unzip import ZipParts


class Package(ZipParts):
    """A zip container whose parts are read through the checks, XML ones parsed safely."""

    def xml(self, name: str) -> etree._Element:
        """A part parsed as XML (no entities, no DTD, no network)."""
        parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True)
        return etree.fromstring(self.part(name), parser)


def office_package(data: bytes, options: Options, kind: str, legacy: str, main: str) -> Package:
    """An Office Open XML file's package (`kind`: "a .pptx"); CorruptDocument if it is an OLE
    file (`legacy`, or encrypted OOXML) or a zip without its main part `main`."""
    if data.startswith(OLE_MAGIC):
        raise CorruptDocument(f"OLE compound file ({legacy} or encrypted OOXML), not {kind}")
    parts = Package(data, options, "the " + kind.split(" ", 1)[1])
    if main not in parts:
        raise CorruptDocument(f"zip archive is not {kind} (no {main})")
    return parts


def resolve(base: str, target: str) -> str:
    """A reference from part `base` to `target` (relative or from the root, %-escaped), as a
    part name."""
    target = unquote(target.split("#", 1)[0])
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))
