"""WordprocessingML text in reading order: paragraphs, tables, text boxes; either namespace."""

from __future__ import annotations

from lxml import etree

TRANSITIONAL = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
STRICT = "http://purl.oclc.org/ooxml/wordprocessingml/main"
MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_NO_TEXT = "pPr rPr del moveFrom sectPr tblPr trPr tcPr tblGrid instrText"


def namespace_of(element: etree._Element) -> str:
    """The namespace URI of an element's tag."""
    return etree.QName(element).namespace or ""


class WordText:
    """Reads text from WordprocessingML elements of one namespace (transitional or strict)."""

    def __init__(self, namespace: str):
        """Tag names and queries in the given WordprocessingML namespace."""
        w = f"{{{namespace}}}"
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
        return ["".join(parts), *boxes]

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
