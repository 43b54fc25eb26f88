"""The shared test corpus: where it is and what its manifest says about each file."""

from __future__ import annotations

import csv
import os
from pathlib import Path

# tests/corpus.py -> parents[2] is the folder holding this project and shared/
CORPUS_DIR = Path(
    os.environ.get("INGEST_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus")
)


def manifest() -> list[dict]:
    """One dict per corpus file: file, expected_kind (valid/malformed/empty), note, ..."""
    with open(CORPUS_DIR / "MANIFEST.tsv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
