"""Checks before a swap: does a collection hold what the live one holds?

Three checks, each of which refuses the swap: the registries agree (every document
at the same version and state, with the same caller's metadata, nothing extra); the
collection itself holds, for every document, the number of chunks its registry entry
says, of its text and metadata (a new version of unchanged content keeps its chunks) and
of the collection's model; and a sample of documents find themselves when searched by a
sentence of their own, embedded by that model.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from ingest_tasks.pipeline.metadata import metadata_hash
from ingest_tasks.pipeline.retrieval import middle_sentence, top_documents
from ingest_tasks.state import registry
from ingest_tasks.state.registry import COMMITTED, DELETED, Entry
from ingest_tasks.store.base import Metadata, caller_metadata

if TYPE_CHECKING:
    from ingest_tasks.pipeline.resources import Resources
    from ingest_tasks.state.alias import Target

_SHOWN = 10  # documents named per problem in a report


@dataclass
class Report:
    """What a check found; `ok` if a swap may go ahead."""

    documents: int = 0  # committed in the live collection
    deleted: int = 0  # tombstones in the live collection
    checked: int = 0  # documents whose chunks were counted
    not_current: list[str] = field(default_factory=list)  # not at the live version or state
    extra: list[str] = field(default_factory=list)  # committed here, not in the live collection
    wrong_chunks: list[str] = field(default_factory=list)  # chunk count, text or model off
    details: dict[str, str] = field(default_factory=dict)  # of the first documents not current
    retrieval_checked: int = 0
    retrieval_misses: list[str] = field(default_factory=list)
    min_retrieval: float = 0.0

    @property
    def retrieval_rate(self) -> float:
        """The share of the sample found, 1 if none was checked."""
        if not self.retrieval_checked:
            return 1.0
        return 1 - len(self.retrieval_misses) / self.retrieval_checked

    @property
    def ok(self) -> bool:
        """True if the collection may become live."""
        return (not self.not_current and not self.extra and not self.wrong_chunks
                and self.retrieval_rate >= self.min_retrieval)

    def problems(self) -> list[str]:
        """One line per failed check, naming the first documents concerned."""
        lines = []
        shown = [f"{doc_id} ({self.details[doc_id]})" if doc_id in self.details else doc_id
                 for doc_id in self.not_current]
        for name, docs in (("not at the live version", shown),
                           ("not in the live collection", self.extra),
                           ("chunks disagree with the registry", self.wrong_chunks)):
            if docs:
                lines.append(f"{len(docs)} documents {name}: {', '.join(docs[:_SHOWN])}")
        if self.retrieval_rate < self.min_retrieval:
            lines.append(f"self-retrieval {self.retrieval_rate:.2f} < {self.min_retrieval:.2f}, "
                         f"missed: {', '.join(self.retrieval_misses[:_SHOWN])}")
        return lines

    def to_dict(self) -> dict:
        """JSON-ready form, with `ok`."""
        return {**asdict(self), "ok": self.ok, "retrieval_rate": round(self.retrieval_rate, 3)}


def verify(resources: Resources, live: Target, candidate: Target,
           docs: list[str] | None = None) -> Report:
    """Check `candidate` against `live`: every document, or only `docs` (no retrieval sample)."""
    redis, settings = resources.redis, resources.settings
    held: Mapping[str, Entry | None]
    there: Mapping[str, Entry | None]
    if docs is None:
        held = dict(registry.entries(redis, live.collection))
        there = dict(registry.entries(redis, candidate.collection))
    else:
        held = registry.get_many(redis, live.collection, docs)
        there = registry.get_many(redis, candidate.collection, docs)
    report = Report(min_retrieval=settings.swap_min_retrieval if docs is None else 0.0)
    for doc_id, entry in held.items():
        if entry is None:
            continue
        report.documents += entry.state == COMMITTED
        report.deleted += entry.state == DELETED
        mine = there.get(doc_id)
        if mine is None or _state(mine) != _state(entry):
            report.not_current.append(doc_id)
            if len(report.details) < _SHOWN:
                here = _state(mine) if mine else "absent"
                report.details[doc_id] = f"live: {_state(entry)}, here: {here}"
    report.extra = sorted(d for d, e in there.items()
                          if e is not None and e.state == COMMITTED and held.get(d) is None)
    report.wrong_chunks = _wrong_chunks(resources, candidate, there, docs)
    report.checked = len(there)
    if docs is None:
        _sample_retrieval(resources, candidate, there, settings.swap_check_sample, report)
    return report


def _state(entry: Entry) -> str:
    """A document's state, version and metadata, as two registries must agree on them."""
    meta = f" with metadata {entry.meta_hash}" if entry.meta_hash else ""
    return f"{entry.state} at {entry.version}{meta}"


def _wrong_chunks(resources: Resources, candidate: Target, there: Mapping[str, Entry | None],
                  docs: list[str] | None) -> list[str]:
    """Documents whose chunks in the collection disagree with their registry entry."""
    store, name = resources.store, resources.collection(candidate)
    if docs is None:
        metas = list(store.metadatas(name))
    else:
        metas = [meta for rows in store.chunks_of(name, docs).values() for _, meta in rows]
    counts = Counter(meta["doc_id"] for meta in metas)
    wrong = {meta["doc_id"] for meta in metas if _chunk_wrong(meta, there.get(meta["doc_id"]),
                                                              candidate.model)}
    for doc_id, entry in there.items():
        expected = entry.chunks if entry is not None and entry.state == COMMITTED else 0
        if counts.get(doc_id, 0) != expected:
            wrong.add(doc_id)
    return sorted(wrong)


def _chunk_wrong(meta: Metadata, entry: Entry | None, model: str) -> bool:
    """True if a chunk is of another model, or not of its document's registered content."""
    return (meta.get("model") != model or entry is None
            or meta["content_hash"] != entry.content_hash
            or metadata_hash(caller_metadata(meta)) != entry.meta_hash)


def _sample_retrieval(resources: Resources, candidate: Target, there: Mapping[str, Entry | None],
                      size: int, report: Report, k: int = 3) -> None:
    """Search a sample of documents by a sentence of their middle chunk, with the model.

    A hit counts if it is the document or a chunk of the very same text (copies of one
    text cannot be told apart by any model).
    """
    committed = sorted(d for d, e in there.items() if e is not None and e.state == COMMITTED)
    sample = random.Random(len(committed)).sample(committed, min(size, len(committed)))
    store, name = resources.store, resources.collection(candidate)
    embedder = resources.embedder(candidate.model)
    chunks = store.chunks_of(name, sample)
    for doc_id in sample:
        rows = chunks.get(doc_id, [])
        if not rows:
            report.retrieval_misses.append(doc_id)
            continue
        text = rows[len(rows) // 2][0]
        hits = store.search(name, embedder.embed_query(middle_sentence(text, min_words=8)), 50)
        top = set(top_documents(hits, k))
        if doc_id not in top and not any(h.text == text and h.doc_id in top for h in hits):
            report.retrieval_misses.append(doc_id)
    report.retrieval_checked = len(sample)
