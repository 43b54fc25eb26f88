"""Excel .xlsx: each sheet's name as a heading, then its rows, one line each, cells by tabs.

openpyxl reads it in read-only mode (sheets streamed, no drawings or charts), once every
XML part it may read has passed the zip checks of zipparts; values are as stored (a
formula's last computed value), dates in ISO form.
"""

from __future__ import annotations

import io
import warnings
from datetime import date, datetime, time

import openpyxl

from ingest_tasks.core.errors import EmptyDocument
from ingest_tasks.pipeline.parse.options import Options
from ingest_tasks.pipeline.parse.outline import Outline
from ingest_tasks.pipeline.parse.parsed import Parsed
from ingest_tasks.pipeline.parse.zipparts import office_package

MAIN_PART = "xl/workbook.xml"


def parse_xlsx(data: bytes, options: Options) -> Parsed:
    """The sheets in workbook order: name (a level-1 heading), then rows of tab-separated cells."""
    parts = office_package(data, options, "an .xlsx", "legacy .xls", MAIN_PART)
    parts.check(name for name in parts.names if name.endswith((".xml", ".rels")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns of extensions and styles it skips
        outline = _sheets(openpyxl.load_workbook(io.BytesIO(data), read_only=True,
                                                 data_only=True, keep_links=False))
    if outline.empty:
        raise EmptyDocument("no values in any sheet")
    return outline.parsed()


def _sheets(workbook: openpyxl.Workbook) -> Outline:
    """Each sheet with values: its name as a heading, then its rows."""
    outline = Outline()
    try:
        for sheet in workbook.worksheets:
            sheet.reset_dimensions()  # a declared A1:XFD1048576 must not pad every row
            rows = (_row(values) for values in sheet.iter_rows(values_only=True))
            text = "\n".join(row for row in rows if row)
            if text:
                outline.add(sheet.title, level=1)
                outline.add(text)
    finally:
        workbook.close()
    return outline


def _row(values: tuple[object, ...]) -> str:
    """A row's cells as text, by tabs; trailing empty cells dropped."""
    cells = [_cell(value) for value in values]
    while cells and not cells[-1]:
        cells.pop()
    return "\t".join(cells)


def _cell(value: object) -> str:
    """A cell's value as text: '' for none, ISO dates, numbers without a needless '.0'."""
    if value is None:
        return ""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())
