"""Zip bombs and lying sizes in the zip formats (pptx, xlsx, odt, epub): a part that is
read is refused as a .docx part is; a part that is never read costs nothing."""

from __future__ import annotations

import io
import re
import time
import zipfile
from functools import lru_cache

import pytest

from ingest_tasks.core.errors import ZipBomb
from ingest_tasks.pipeline.parse import parse
from tests.hostile import files
from tests.hostile.files import MiB

_NS_P = b'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" ' \
        b'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"'
_RELS = b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'


def pptx_parts(text: bytes) -> dict[str, bytes]:
    """A one-slide .pptx whose slide holds `text`."""
    return {
        "ppt/presentation.xml": b'<p:presentation ' + _NS_P + b' xmlns:r="http://schemas.'
        b'openxmlformats.org/officeDocument/2006/relationships"><p:sldIdLst><p:sldId id="256" '
        b'r:id="rId1"/></p:sldIdLst></p:presentation>',
        "ppt/_rels/presentation.xml.rels": _RELS + b'<Relationship Id="rId1" Type="s" '
        b'Target="slides/slide1.xml"/></Relationships>',
        "ppt/slides/slide1.xml": b"<p:sld " + _NS_P + b"><p:cSld><p:spTree><p:sp><p:txBody>"
        b"<a:p><a:r><a:t>" + text + b"</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld>"
        b"</p:sld>",
    }


def odt_parts(text: bytes) -> dict[str, bytes]:
    """An .odt whose one paragraph is `text`."""
    return {"mimetype": b"application/vnd.oasis.opendocument.text",
            "content.xml": b'<office:document-content xmlns:office="urn:oasis:names:tc:'
            b'opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:'
            b'text:1.0"><office:body><office:text><text:p>' + text + b"</text:p></office:text>"
            b"</office:body></office:document-content>"}


def epub_parts(text: bytes) -> dict[str, bytes]:
    """An EPUB of one chapter whose paragraph is `text`."""
    return {"mimetype": b"application/epub+zip",
            "META-INF/container.xml": b'<container xmlns="urn:oasis:names:tc:opendocument:xmlns:'
            b'container"><rootfiles><rootfile full-path="book.opf"/></rootfiles></container>',
            "book.opf": b'<package xmlns="http://www.idpf.org/2007/opf"><manifest><item id="c1" '
            b'href="c1.xhtml" media-type="application/xhtml+xml"/></manifest><spine>'
            b'<itemref idref="c1"/></spine></package>',
            "c1.xhtml": b"<html><body><h1>One</h1><p>" + text + b"</p></body></html>"}


def xlsx_parts(text: bytes) -> dict[str, bytes]:
    """An .xlsx (saved by openpyxl) whose cell A1 holds `text`."""
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "@"
    buffer = io.BytesIO()
    workbook.save(buffer)
    with zipfile.ZipFile(buffer) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(b"@", text)
    return parts


MAKERS = {"a.pptx": (pptx_parts, "ppt/slides/slide1.xml"), "a.odt": (odt_parts, "content.xml"),
          "a.epub": (epub_parts, "c1.xhtml"), "a.xlsx": (xlsx_parts, "xl/worksheets/sheet1.xml")}


@lru_cache(maxsize=8)
def bomb(name: str, mib: int) -> bytes:
    """The format's file whose text part holds `mib` MiB of one letter (about 1000:1)."""
    make, part = MAKERS[name]
    head, tail = make(b"@")[part].split(b"@")
    return files.zipped({**make(b"@"), part: iter([head, *(b"a" * MiB for _ in range(mib)),
                                                    tail])})


def timed(data: bytes, name: str, **options) -> str:
    started = time.perf_counter()
    try:
        return parse(data, name, **options).text
    finally:
        assert time.perf_counter() - started < 1.0, f"{name} took too long"


@pytest.mark.parametrize("name", MAKERS)
def test_a_small_file_of_each_format_reads(name):
    make, _ = MAKERS[name]
    assert "kelp" in timed(files.zipped(make(b"kelp")), name)


@pytest.mark.parametrize("name", MAKERS)
def test_a_part_read_past_the_ratio_limit_is_refused(name):
    part = re.escape(MAKERS[name][1])
    with pytest.raises(ZipBomb, match=rf"^{part} expands [\d,]+:1 .* past "
                                      r"100:1 \(INGEST_MAX_ZIP_RATIO\)$"):
        timed(bomb(name, 20), name)


@pytest.mark.parametrize("name", MAKERS)
def test_a_part_read_that_lies_about_its_size_is_stopped_while_inflating(name):
    part = MAKERS[name][1]
    data = files.declaring(bomb(name, 20), part, 10_000)
    with pytest.raises(ZipBomb, match=rf"^{re.escape(part)} inflates past the 10,000 "
                                      r"bytes it declares$"):
        timed(data, name)


@pytest.mark.parametrize("name", MAKERS)
def test_parts_read_past_the_total_limit_are_refused(name):
    with pytest.raises(ZipBomb, match=r"^parts read declare [\d,]+ bytes unzipped, over the "
                                      r"limit of 1,048,576 \(INGEST_MAX_UNZIPPED_BYTES\)$"):
        timed(bomb(name, 2), name, max_unzipped_bytes=MiB, max_zip_ratio=2000)


@pytest.mark.parametrize("name", ["a.pptx", "a.odt", "a.epub"])
def test_a_bomb_in_a_part_never_read_costs_nothing(name):
    make, _ = MAKERS[name]
    data = files.zipped({**make(b"kelp"), "media/huge.bin": iter([b"\0" * MiB] * 200)})
    assert "kelp" in timed(data, name)  # 200 MiB at 1000:1, declared too: never inflated
