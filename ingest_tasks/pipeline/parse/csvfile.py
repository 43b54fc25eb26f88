"""CSV and TSV: decoded as text files are, each record one line with its fields by tabs."""

from __future__ import annotations

import csv
import io

from ingest_tasks.core.errors import CorruptDocument, EmptyDocument
from ingest_tasks.pipeline.parse.encoding import decode_text
from ingest_tasks.pipeline.parse.normalize import tidy
from ingest_tasks.pipeline.parse.options import Options
from ingest_tasks.pipeline.parse.parsed import Parsed

SAMPLE = 16 * 1024  # characters the dialect is guessed from
_DELIMITERS = "\t,;|"  # tabs first: prose holds commas, seldom tabs
_LINES = 20  # lines the delimiter is counted on


def parse_csv(data: bytes, options: Options) -> Parsed:
    """Records one per line, fields by tabs (quoted line breaks become spaces)."""
    text, codec = decode_text(data, options)
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text[:SAMPLE]))
    lines = []
    try:
        for record in reader:
            fields = [" ".join(field.split()) for field in record]
            lines.append("\t".join(fields).rstrip("\t"))
    except csv.Error as exc:
        raise CorruptDocument(f"malformed CSV at line {reader.line_num}: {exc}") from None
    result = tidy("\n".join(line for line in lines if line))
    if not result:
        raise EmptyDocument(f"no values in {len(data)} bytes of CSV")
    return Parsed(result, codec)


def _dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    """The dialect the sample shows: a delimiter found as often on each of its first lines,
    else csv.Sniffer's guess, else Excel's comma-separated dialect."""
    lines = [line for line in sample.splitlines()[:_LINES] if line.strip()]
    for delimiter in _DELIMITERS:
        counts = {line.count(delimiter) for line in lines}
        if len(counts) == 1 and counts != {0}:
            return type("Sampled", (csv.excel,), {"delimiter": delimiter})
    try:
        return csv.Sniffer().sniff(sample, _DELIMITERS)
    except csv.Error:
        return csv.excel
