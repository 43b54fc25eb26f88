"""The scaled day of `ingest cost`: which corpus documents arrive, how, when, on which pools.

A day is 10,000 documents, 90% of them in bulk uploads of tens to hundreds, 10% as
single updates. The scaled day has `docs` of them drawn from the corpus's valid files
(a shuffled cycle, so the mix is the corpus's; repeats get ids of their own), with the
uploads and the singles each spread evenly over `spread` seconds, so they interleave.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

from ingest_tasks.core.keys import BULK_QUEUE, STREAM_QUEUE

DAY_DOCS = 10_000
BULK_SHARE = 0.9
UPLOAD_MIN, UPLOAD_MAX = 10, 200
STREAMING, HYBRID = "streaming", "hybrid"
MODES = (STREAMING, HYBRID)
LANES = (STREAM_QUEUE, BULK_QUEUE)
BULK_EMBEDDINGS = ("batch", "online")  # how hybrid's bulk lane embeds (INGEST_BULK_EMBEDDING)


@dataclass(frozen=True)
class Doc:
    """One document of the day: its id and the corpus file it is."""

    doc_id: str
    path: Path


@dataclass(frozen=True)
class Arrival:
    """An upload of several documents, or a single update, `at` seconds into the run."""

    kind: str  # "upload" or "single"
    at: float
    docs: tuple[Doc, ...]


def valid_files(corpus: Path) -> list[Path]:
    """The corpus files that its MANIFEST.tsv calls valid, in its order."""
    with open(corpus / "MANIFEST.tsv", newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [corpus / row["file"] for row in rows if row["expected_kind"] == "valid"]


def scale_factor(docs: int) -> float:
    """How many real days' documents one document of the scaled day stands for."""
    return DAY_DOCS / docs


def upload_sizes(bulk: int, rng: random.Random) -> list[int]:
    """Sizes of the uploads that carry `bulk` documents: several, of tens to hundreds each."""
    high = min(UPLOAD_MAX, max(UPLOAD_MIN, bulk // 3))
    sizes: list[int] = []
    while bulk > 0:
        size = min(bulk, rng.randint(UPLOAD_MIN, high))
        if bulk - size < UPLOAD_MIN:
            size = bulk  # no upload smaller than the minimum at the end
        sizes.append(size)
        bulk -= size
    return sizes


def plan_day(files: list[Path], docs: int, spread: float, seed: int = 7) -> list[Arrival]:
    """The arrivals of a scaled day of `docs` documents over `spread` seconds, in time order."""
    if docs < 2 or not files:
        raise ValueError("need at least 2 documents and one corpus file")
    rng = random.Random(seed)
    drawn = iter(_draw(files, docs, rng))
    bulk = round(docs * BULK_SHARE)
    sizes = upload_sizes(bulk, rng)
    uploads = [Arrival("upload", _evenly(i, len(sizes), spread),
                       tuple(next(drawn) for _ in range(size))) for i, size in enumerate(sizes)]
    singles = [Arrival("single", _evenly(i, docs - bulk, spread), (next(drawn),))
               for i in range(docs - bulk)]
    return sorted(uploads + singles, key=lambda arrival: arrival.at)


def _draw(files: list[Path], docs: int, rng: random.Random) -> list[Doc]:
    """`docs` documents: the files in a new shuffled order each round, each with its own id."""
    drawn: list[Doc] = []
    while len(drawn) < docs:
        order = list(files)
        rng.shuffle(order)
        drawn += [Doc(f"{len(drawn) + i:05d}-{path.name}", path) for i, path in enumerate(order)]
    return drawn[:docs]


def _evenly(index: int, count: int, spread: float) -> float:
    """The time of the index-th of `count` events spread evenly over `spread` seconds."""
    return round((index + 0.5) * spread / count, 3)


def pool_sizes(mode: str, stream: int, bulk: int) -> dict[str, int]:
    """Worker processes per lane: as many in both modes; pure streaming has only its one lane."""
    if mode == STREAMING:
        return {STREAM_QUEUE: stream + bulk}
    return {STREAM_QUEUE: stream, BULK_QUEUE: bulk}
