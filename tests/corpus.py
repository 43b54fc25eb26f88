"""The test corpus: where it is and what its manifest says about each file.

Two folders, one manifest format (file, source_repository, path_in_repository,
commit_sha, licence, size_bytes, expected_kind, note):
- tests/data/corpus: 57 files copied from the shared corpus, with their source and
  licence in its MANIFEST.tsv; always there, so the suite passes from a clone alone.
- the whole shared corpus (120 files): INGEST_CORPUS, or shared/corpus beside the
  project. Tests marked `whole_corpus` need it and skip, saying why, when it is absent.

CORPUS_DIR is the whole corpus when it is present, else the bundled subset: the names
the tests pick out are in both. `paragraphs` draws distinct paragraphs from it, as the
documents of the re-embedding tests.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from ingest_tasks.pipeline.parse import parse

BUNDLED_DIR = Path(__file__).resolve().parent / "data" / "corpus"
# tests/corpus.py -> parents[2] is the folder holding this project and shared/
SHARED_DIR = Path(
    os.environ.get("INGEST_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus")
)
WHOLE = (SHARED_DIR / "MANIFEST.tsv").is_file()
CORPUS_DIR = SHARED_DIR if WHOLE else BUNDLED_DIR

whole_corpus = pytest.mark.skipif(
    not WHOLE,
    reason=f"the whole shared corpus is not at {SHARED_DIR} (set INGEST_CORPUS): "
    "the bundled subset in tests/data/corpus ran instead",
)


def manifest(folder: Path = CORPUS_DIR) -> list[dict]:
    """One dict per corpus file: file, expected_kind (valid/recoverable/malformed/empty), ..."""
    with open(folder / "MANIFEST.tsv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def paragraphs(count: int) -> list[str]:
    """Distinct paragraphs of 40 to 120 words from the corpus's valid text documents."""
    found: list[str] = []
    for row in manifest():
        if row["expected_kind"] != "valid" or not row["file"].endswith((".md", ".txt", ".html")):
            continue
        path = CORPUS_DIR / row["file"]
        for block in parse(path.read_bytes(), path.name).text.split("\n\n"):
            words = block.split()
            if 40 <= len(words) and " ".join(words[:120]) not in found:
                found.append(" ".join(words[:120]))
            if len(found) == count:
                return found
    return found
