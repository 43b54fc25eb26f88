"""EPUB books: the chapters in spine order, each read as (X)HTML, its title a level-1 heading.

Read from the zip (see zipparts): the container, the package document and the spine's
documents are the only parts read; images, styles and fonts are not. The navigation
document (the table of contents) is left out, as is a chapter without text.
"""

from __future__ import annotations

from lxml import etree

from ingest_tasks.core.errors import CorruptDocument, EmptyDocument, EncryptedDocument
from ingest_tasks.pipeline.parse.html import parse_html
from ingest_tasks.pipeline.parse.options import Options
from ingest_tasks.pipeline.parse.outline import Outline
from ingest_tasks.pipeline.parse.parsed import Parsed
from ingest_tasks.pipeline.parse.zipparts import Package, resolve

CONTAINER = "META-INF/container.xml"
ENCRYPTION = "META-INF/encryption.xml"
_CONTAINER_NS = "{urn:oasis:names:tc:opendocument:xmlns:container}"
_OPF = "{http://www.idpf.org/2007/opf}"
_DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
_CIPHER_REFERENCE = "{http://www.w3.org/2001/04/xmlenc#}CipherReference"
_HTML_TYPES = ("application/xhtml+xml", "text/html")
MAX_TITLE = 200  # characters: a longer first block is a paragraph, not a title


def parse_epub(data: bytes, options: Options) -> Parsed:
    """The spine's chapters in order, each headed by its title (its first heading, its
    <title>, else its file name)."""
    parts = Package(data, options, "the EPUB")
    if CONTAINER not in parts:
        raise CorruptDocument(f"zip archive is not an EPUB (no {CONTAINER})")
    package = _package_path(parts)
    root = parts.xml(package)
    chapters = _spine(root, package)
    _check_encryption(parts, chapters)
    outline = Outline()
    for chapter in chapters:
        if chapter not in parts:
            raise CorruptDocument(f"the EPUB's spine lists {chapter}, which it lacks")
        try:
            parsed = parse_html(parts.part(chapter), options)
        except EmptyDocument:
            continue  # a cover picture, a blank page
        title, body = _titled(parsed)
        outline.add(title or chapter.rsplit("/", 1)[-1], level=1)
        outline.add(body)
    if outline.empty:
        raise EmptyDocument(f"no text in the {len(chapters)} chapters of the spine")
    found = root.find(f"{_OPF}metadata/{_DC_TITLE}")
    return outline.parsed(title=" ".join("".join(found.itertext()).split()) if found is not None
                          else "")


def _titled(parsed: Parsed) -> tuple[str, str]:
    """A chapter's title (its <title> or first heading, which HTML's text starts with) and
    the rest of its text; no title if the text starts with a long paragraph."""
    first, _, rest = parsed.text.partition("\n\n")
    if first == parsed.title or (len(first) <= MAX_TITLE and "\n" not in first):
        return first, rest
    return "", parsed.text


def _check_encryption(parts: Package, chapters: list[str]) -> None:
    """Refuse a book whose chapters are encrypted (DRM); obfuscated fonts are no matter."""
    if ENCRYPTION not in parts:
        return
    encrypted = {resolve("", ref.get("URI", ""))
                 for ref in parts.xml(ENCRYPTION).iter(_CIPHER_REFERENCE)}
    locked = [chapter for chapter in chapters if chapter in encrypted]
    if locked:
        raise EncryptedDocument(f"{len(locked)} of the EPUB's {len(chapters)} chapters are "
                                f"encrypted (DRM), {locked[0]} first")


def _package_path(parts: Package) -> str:
    """The package document's part name, from the container's first rootfile."""
    rootfile = parts.xml(CONTAINER).find(f".//{_CONTAINER_NS}rootfile")
    path = "" if rootfile is None else rootfile.get("full-path", "")
    if not path or path not in parts:
        raise CorruptDocument(f"the EPUB's {CONTAINER} names no package document it holds "
                              f"({path!r:.80})")
    return path


def _spine(root: etree._Element, package: str) -> list[str]:
    """The spine's (X)HTML documents in reading order, the navigation document left out."""
    items = {item.get("id"): item for item in root.iterfind(f"{_OPF}manifest/{_OPF}item")}
    spine = []
    for ref in root.iterfind(f"{_OPF}spine/{_OPF}itemref"):
        item = items.get(ref.get("idref"))
        if item is None or item.get("media-type") not in _HTML_TYPES:
            continue
        if "nav" in item.get("properties", "").split():
            continue
        spine.append(resolve(package, item.get("href", "")))
    return spine
