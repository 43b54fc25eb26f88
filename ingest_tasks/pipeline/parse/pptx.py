"""PowerPoint .pptx: slides in presentation order, their titles as headings, then their notes.

Read with lxml from the zip (see zipparts): the presentation, its slides and their notes
are the only parts read; masters, layouts, media and charts are not.
"""

from __future__ import annotations

from lxml import etree

from ingest_tasks.core.errors import CorruptDocument, EmptyDocument
from ingest_tasks.pipeline.parse.options import Options
from ingest_tasks.pipeline.parse.outline import Outline
from ingest_tasks.pipeline.parse.parsed import Parsed
from ingest_tasks.pipeline.parse.zipparts import Package, office_package, resolve

MAIN_PART = "ppt/presentation.xml"
_P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_TITLES = {"title", "ctrTitle"}
_NOTES_SKIPPED = {"sldImg", "sldNum", "hdr", "ftr", "dt"}  # the slide's picture, numbers, dates


def parse_pptx(data: bytes, options: Options) -> Parsed:
    """Each slide's title (a level-1 heading), its shapes' and tables' text, then its notes."""
    parts = office_package(data, options, "a .pptx", "legacy .ppt", MAIN_PART)
    outline = Outline()
    for number, slide in enumerate(_slides(parts), 1):
        _add_slide(parts, slide, number, outline)
    if outline.empty:
        raise EmptyDocument("no text on any slide or in any notes")
    return outline.parsed()


def _slides(parts: Package) -> list[str]:
    """The slide parts in presentation order."""
    targets = _relationships(parts, MAIN_PART)
    ids = parts.xml(MAIN_PART).iterfind(f"{_P}sldIdLst/{_P}sldId")
    return [targets[rid] for rid in (sld.get(f"{_R}id") for sld in ids) if rid in targets]


def _relationships(parts: Package, part: str) -> dict[str, str]:
    """A part's relationships: id to target part name (none if it has no .rels part)."""
    folder, name = part.rsplit("/", 1)
    rels = f"{folder}/_rels/{name}.rels"
    if rels not in parts:
        return {}
    return {rel.get("Id", ""): resolve(part, rel.get("Target", ""))
            for rel in parts.xml(rels).iter(_REL) if rel.get("TargetMode") != "External"}


def _add_slide(parts: Package, slide: str, number: int, outline: Outline) -> None:
    """A slide's blocks: its title as a heading ('Slide N' if it has none), its other shapes,
    then its notes; nothing for a slide without text."""
    if slide not in parts:
        raise CorruptDocument(f"the .pptx lists slide {number} as {slide}, which it lacks")
    shapes = [(_placeholder(shape), _shape_text(shape)) for shape in _shapes(parts.xml(slide))]
    title = next((text for kind, text in shapes if kind in _TITLES and text.strip()), "")
    blocks = [text for kind, text in shapes if text.strip() and not (kind in _TITLES and text == title)]
    for target in _relationships(parts, slide).values():
        if "/notesSlides/" in f"/{target}" and target in parts:
            notes = [(_placeholder(shape), _shape_text(shape)) for shape in _shapes(parts.xml(target))]
            blocks += [text for kind, text in notes if kind not in _NOTES_SKIPPED]
    if title or any(block.strip() for block in blocks):
        outline.add(title or f"Slide {number}", level=1)
    for block in blocks:
        outline.add(block)


def _shapes(root: etree._Element) -> list[etree._Element]:
    """Shapes with text (text shapes and tables, those in groups too) in document order."""
    return [el for el in root.iter(f"{_P}sp", f"{_P}graphicFrame")]


def _placeholder(shape: etree._Element) -> str:
    """The placeholder type of a shape ('body' for an untyped placeholder, '' for none)."""
    found = shape.find(f"./{_P}nvSpPr/{_P}nvPr/{_P}ph")
    return "" if found is None else found.get("type", "body")


def _shape_text(shape: etree._Element) -> str:
    """A shape's paragraphs one per line; a table's rows one per line, cells by tabs."""
    rows = list(shape.iter(f"{_A}tr"))
    if rows:
        return "\n".join("\t".join(_paragraphs(cell).replace("\n", " ")
                                   for cell in row.iterfind(f"{_A}tc")) for row in rows)
    return _paragraphs(shape)


def _paragraphs(element: etree._Element) -> str:
    """The text of the DrawingML paragraphs under an element, one per line."""
    lines = []
    for paragraph in element.iter(f"{_A}p"):
        pieces = ["\n" if el.tag == f"{_A}br" else (el.text or "")
                  for el in paragraph.iter(f"{_A}t", f"{_A}br")]
        lines.append("".join(pieces))
    return "\n".join(lines)
