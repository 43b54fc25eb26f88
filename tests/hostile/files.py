"""Hostile files, made at test time in memory or in tmp_path: nothing big is committed.

Each maker returns the bytes of one case of the hostile-input suite; big ones are
written piece by piece, never whole in memory.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
from collections.abc import Iterable
from functools import lru_cache

import docx

MiB = 1024 * 1024
WORDS = ["ocelot", "harbour", "crane", "ledger", "kelp", "river", "signal", "archive", "lantern",
         "meadow", "copper", "vessel"]
MAIN = "word/document.xml"
RELS = "word/_rels/document.xml.rels"
TYPES = "[Content_Types].xml"
PICTURE = "word/media/image1.emf"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
COMMENTS_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.comments+xml"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def docx_parts(text: str = "A valid paragraph.") -> dict[str, bytes]:
    """The parts of a small, valid .docx holding one paragraph of `text`."""
    document = docx.Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    with zipfile.ZipFile(buffer) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def zipped(parts: dict[str, bytes | Iterable[bytes]]) -> bytes:
    """A deflated zip of the parts; a part given as pieces is written piece by piece."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            if isinstance(data, bytes):
                archive.writestr(name, data)
                continue
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as part:
                for piece in data:
                    part.write(piece)
    return buffer.getvalue()


@lru_cache(maxsize=4)
def docx_bomb(unzipped_mib: int) -> bytes:
    """A .docx of about 1 KB per MiB whose main part unzips to `unzipped_mib` MiB: one
    paragraph of one letter repeated (about 1000:1, deflate's best)."""
    parts = docx_parts("@")
    head, tail = parts[MAIN].split(b"@")
    pieces = [head, *(b"a" * MiB for _ in range(unzipped_mib)), tail]
    return zipped({**parts, MAIN: iter(pieces)})


def docx_long(unzipped_mib: int, seed: int = 5) -> bytes:
    """A .docx whose main part is `unzipped_mib` MiB of ordinary paragraphs of random words
    (about 5:1 zipped, as text is)."""
    rnd = random.Random(seed)
    parts = docx_parts("@")
    head, tail = parts[MAIN].split(b"@")
    paragraph = b"</w:t></w:r></w:p><w:p><w:r><w:t>%s"

    def pieces():
        yield head
        for _ in range(unzipped_mib):
            words = rnd.choices(WORDS, k=MiB // 7)
            yield b"".join(paragraph % " ".join(words[at : at + 50]).encode()
                           for at in range(0, len(words), 50))
        yield tail

    return zipped({**parts, MAIN: pieces()})


def related(parts: dict[str, bytes], name: str, kind: str, content_type: str,
            data: bytes | Iterable[bytes]) -> dict[str, bytes | Iterable[bytes]]:
    """The parts of a .docx with part `name` added, related from the main part as `kind`
    (image, comments, header...) under its content type, as Word would add it."""
    relation = (f'<Relationship Id="rId{kind}" Type="{RELATIONSHIPS}{kind}" '
                f'Target="{name.removeprefix("word/")}"/></Relationships>')
    override = f'<Override PartName="/{name}" ContentType="{content_type}"/></Types>'
    return {
        **parts,
        RELS: parts[RELS].replace(b"</Relationships>", relation.encode()),
        TYPES: parts[TYPES].replace(b"</Types>", override.encode()),
        name: data,
    }


def emf_picture(size: int) -> bytes:
    """A vector picture of about `size` bytes: an EMF header and one small record repeated,
    as a drawing of many like strokes is; it deflates more than 100:1."""
    header = struct.pack("<2L4l4l", 1, 88, 0, 0, 100, 100, 0, 0, 2540, 2540) + b" EMF"
    header += bytes(88 - len(header))
    stroke = struct.pack("<2L2l", 0x36, 16, 50, 50)  # EMR_LINETO
    return header + stroke * ((size - len(header)) // len(stroke))


def docx_with_picture(text: str, picture: bytes | Iterable[bytes]) -> bytes:
    """A .docx of one paragraph of `text` with word/media/image1.emf, related from the main
    part as an image."""
    return zipped(related(docx_parts(text), PICTURE, "image", "image/x-emf", picture))


def declaring(data: bytes, part: str, size: int) -> bytes:
    """The zip with the uncompressed size its central directory gives `part` set to `size`:
    a declared size that lies."""
    at = data.index(b"PK\x01\x02")
    while True:
        name_length = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + name_length].decode() == part:
            return data[: at + 24] + struct.pack("<L", size) + data[at + 28 :]
        at = data.index(b"PK\x01\x02", at + 46)


def docx_with_main(xml_body: bytes) -> bytes:
    """A .docx whose body is `xml_body` (WordprocessingML inside <w:body>)."""
    parts = docx_parts("@")
    start, end = parts[MAIN].index(b"<w:body>") + 8, parts[MAIN].index(b"</w:body>")
    return zipped({**parts, MAIN: parts[MAIN][:start] + xml_body + parts[MAIN][end:]})


def docx_deep(depth: int) -> bytes:
    """A .docx whose paragraph sits `depth` content controls deep."""
    paragraph = b"<w:p><w:r><w:t>deep</w:t></w:r></w:p>"
    return docx_with_main(b"<w:sdt><w:sdtContent>" * depth + paragraph
                          + b"</w:sdtContent></w:sdt>" * depth)


def docx_laughs() -> bytes:
    """A .docx whose text is a billion laughs: entities of ten entities each, nine deep."""
    parts = docx_parts("@")
    entities = [b'<!ENTITY a "lol">'] + [
        b'<!ENTITY %c "%s">' % (98 + i, b"&%c;" % (97 + i) * 10) for i in range(9)
    ]
    declaration, rest = parts[MAIN].split(b"?>", 1)
    doctype = b"<!DOCTYPE w:document [" + b"".join(entities) + b"]>"
    main = declaration + b"?>" + doctype + rest.replace(b"@", b"&j;")
    return zipped({**parts, MAIN: main})


def html_page(size: int, seed: int = 3) -> bytes:
    """An ordinary page of about `size` bytes: sections of headings, paragraphs, links and
    tables (64 different ones, over and over)."""
    rnd = random.Random(seed)
    sections = []
    for n in range(64):
        words = " ".join(rnd.choice(WORDS) for _ in range(60))
        sections.append(f'<div class="section"><h2>Section {n}</h2><p>{words} <a href="/s/{n}">'
                        f"more</a> <b>{words[:80]}</b></p><table><tr><td>{n}</td><td>"
                        f"{words[:40]}</td></tr></table></div>\n".encode())
    body, tail = b"".join(sections), b"</body></html>"
    head = b"<!doctype html><html><head><title>A long page</title></head><body>"
    repeats = max(1, (size - len(head) - len(tail)) // len(body))
    return head + body * repeats + tail


def html_deep(depth: int) -> bytes:
    """A page whose one sentence sits `depth` elements deep."""
    return b"<div>" * depth + b"Deep inside the page." + b"</div>" * depth


def html_dense(size: int) -> bytes:
    """The costliest markup per byte for html.parser: one tiny element after another."""
    return b"<html><body>" + b"<b>x</b>" * (size // 8) + b"</body></html>"


def html_unclosed(construct: bytes, size: int) -> bytes:
    """A short page followed by `construct` repeated and never closed (`<a `, `<!--`...):
    html.parser looked for each one's end up to the end of the page, quadratic."""
    return b"<p>A short page.</p>" + construct * (size // len(construct))


def random_bytes(size: int, seed: int = 7) -> bytes:
    """Random binary data."""
    return random.Random(seed).randbytes(size)


ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(56) + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
# undeclared Latin-1; an encoded surrogate; an overlong '/'
INVALID_UTF8 = (
    b"# Notes\n\nCaf\xe9 au lait, undeclared Latin-1.\n",
    b"# Notes\n\nA lone surrogate: \xed\xa0\x80\n",
    b"# Notes\n\nAn overlong slash: \xc0\xaf\n",
)
