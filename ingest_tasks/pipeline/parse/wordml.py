"""WordprocessingML text in reading order: paragraphs, tables, text boxes; either namespace."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Self

from lxml import etree

TRANSITIONAL = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
STRICT = "http://purl.oclc.org/ooxml/wordprocessingml/main"
MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_NO_TEXT = "pPr rPr del moveFrom sectPr tblPr trPr tcPr tblGrid instrText"
_HEADING_NAME = re.compile(r"heading ([1-9])")
TITLE_LEVEL = 0  # the level HeadingText gives a paragraph in the Title style


class HeadingText(str):
    """The text of a heading paragraph, and its level: 1 to 9, TITLE_LEVEL for the title."""

    level: int

    def __new__(cls, text: str, level: int) -> Self:
        """The text `text`, a heading of level `level`."""
        made = super().__new__(cls, text)
        made.level = level
        return made


def namespace_of(element: etree._Element) -> str:
    """The namespace URI of an element's tag."""
    return etree.QName(element).namespace or ""


def style_levels(styles: etree._Element, namespace: str) -> dict[str, int]:
    """The heading level of each paragraph style of a styles part that makes headings: by
    its built-in name (heading 1-9, Title), its outline level, or the style it is based on."""
    w = f"{{{namespace}}}"
    own: dict[str, int] = {}
    based: dict[str, str] = {}
    for style in styles.iter(w + "style"):
        style_id = style.get(w + "styleId")
        if style.get(w + "type", "paragraph") != "paragraph" or style_id is None:
            continue
        level = _style_level(style, w)
        if level is not None:
            own[style_id] = level
        parent = style.find(w + "basedOn")
        if parent is not None and parent.get(w + "val"):
            based[style_id] = parent.get(w + "val", "")
    return {style_id: level for style_id in {*own, *based}
            if (level := _inherited(style_id, own, based)) is not None}


def _style_level(style: etree._Element, w: str) -> int | None:
    """The heading level a style gives by its own name or outline level, if any."""
    name = style.find(w + "name")
    name_text = (name.get(w + "val", "") if name is not None else "").lower()
    heading = _HEADING_NAME.fullmatch(name_text)
    if name_text == "title":
        return TITLE_LEVEL
    if heading is not None:
        return int(heading.group(1))
    return _outline_level(style.find(f"{w}pPr/{w}outlineLvl"), w + "val")


def _outline_level(element: etree._Element | None, val: str) -> int | None:
    """The heading level of a w:outlineLvl (0-8 are levels 1-9; 9 is body text)."""
    value = element.get(val, "") if element is not None else ""
    return int(value) + 1 if value.isdigit() and int(value) < 9 else None


def _inherited(style_id: str, own: Mapping[str, int], based: Mapping[str, str]) -> int | None:
    """A style's own level, or that of the nearest style it is based on (at most 16 up)."""
    for _ in range(16):  # a loop of basedOn in a damaged file ends here
        if style_id in own:
            return own[style_id]
        if style_id not in based:
            return None
        style_id = based[style_id]
    return None


class WordText:
    """Reads text from WordprocessingML elements of one namespace (transitional or strict)."""

    def __init__(self, namespace: str, levels: Mapping[str, int] | None = None):
        """Tag names and queries in the given WordprocessingML namespace; `levels` are the
        heading levels of paragraph styles (see style_levels)."""
        w = f"{{{namespace}}}"
        self.levels = levels or {}
        self.p_pr, self.p_style, self.outline = w + "pPr", w + "pStyle", w + "outlineLvl"
        self.p, self.tbl, self.t, self.txbx = w + "p", w + "tbl", w + "t", w + "txbxContent"
        self.v_merge, self.val = f"{w}tcPr/{w}vMerge", w + "val"
        self.chars = {w + "tab": "\t", w + "br": "\n", w + "cr": "\n", w + "noBreakHyphen": "-"}
        # properties, deleted or moved-away text, and the VML copy of a text box hold no text
        self.skipped = {w + name for name in _NO_TEXT.split()} | {MC_FALLBACK}
        paths = "./w:{0} | ./w:sdt/w:sdtContent/w:{0} | ./w:customXml/w:{0}"
        self.rows = etree.XPath(paths.format("tr"), namespaces={"w": namespace})
        self.cells = etree.XPath(paths.format("tc"), namespaces={"w": namespace})

    def blocks(self, container: etree._Element) -> list[str]:
        """Texts of the paragraphs and tables inside a body, cell, note or text box, in order."""
        out: list[str] = []
        for child in container:
            tag = child.tag
            if tag == self.p:
                out.extend(self.paragraph(child))
            elif tag == self.tbl:
                out.append(self.table(child))
            elif isinstance(tag, str) and tag not in self.skipped:
                out.extend(self.blocks(child))  # sdt, customXml, ins, AlternateContent...
        return out

    def paragraph(self, p: etree._Element) -> list[str]:
        """A paragraph's text, followed by the blocks of the text boxes anchored in it."""
        parts: list[str] = []
        boxes: list[str] = []
        stack = list(reversed(p))
        while stack:
            element = stack.pop()
            tag = element.tag
            if tag == self.t:
                parts.append(element.text or "")
            elif tag in self.chars:
                parts.append(self.chars[tag])
            elif tag == self.txbx:
                boxes.extend(self.blocks(element))
            elif isinstance(tag, str) and tag not in self.skipped:
                stack.extend(reversed(element))
        return [self.styled(p, "".join(parts)), *boxes]

    def styled(self, p: etree._Element, text: str) -> str:
        """A paragraph's text, as HeadingText if its style or outline level makes it one."""
        ppr = p[0] if len(p) and p[0].tag == self.p_pr else p.find(self.p_pr)  # first, if any
        if ppr is None:
            return text
        style = outline = None
        for child in ppr:
            if child.tag == self.p_style:
                style = child
            elif child.tag == self.outline:
                outline = child
        level = self.levels.get(style.get(self.val, "")) if style is not None else None
        if outline is not None:  # the paragraph's own outline level overrides its style's
            level = _outline_level(outline, self.val)
        return text if level is None else HeadingText(text, level)

    def table(self, tbl: etree._Element) -> str:
        """One line per row, cells separated by tabs; merged and empty cells appear once."""
        rows = ("\t".join(filter(None, map(self.cell, self.cells(tr)))) for tr in self.rows(tbl))
        return "\n".join(filter(None, rows))

    def cell(self, tc: etree._Element) -> str:
        """A cell's paragraphs (and nested tables) on one line; '' if it continues a merge."""
        merge = tc.find(self.v_merge)
        if merge is not None and merge.get(self.val, "continue") == "continue":
            return ""  # Word shows the cell above across the merge, never this one's text
        return " ".join(filter(None, (" ".join(block.split()) for block in self.blocks(tc))))
