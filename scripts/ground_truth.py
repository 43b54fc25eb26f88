"""What a run accepted, against what the registry and the Chroma server hold at the end.

The fault suite and the load benchmark count documents the same way:
- committed: the registry entry and the chunks in Chroma (counted there by doc_id) hold
  exactly the latest accepted version, with as many chunks as the pipeline cuts from it;
- duplicated: more chunks in Chroma than that, chunks of two versions, or a document
  counted twice in a job summary;
- lost: accepted (the producer call returned without error) and not committed.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

from ingest_tasks.pipeline import documents
from ingest_tasks.pipeline.embed import API_PREFIX, get_embedder
from ingest_tasks.pipeline.sources import DocRef
from ingest_tasks.state import registry
from ingest_tasks.state.registry import COMMITTED


@dataclass(frozen=True)
class Expected:
    """A document's latest accepted version and the chunks the pipeline cuts from it."""

    version: int
    chunks: int


class Ledger:
    """The submissions of a run: how many were tried, and the latest accepted per document."""

    def __init__(self, settings, model: str):
        self.settings, self.model = settings, model
        self.embedder = get_embedder(model.removeprefix(API_PREFIX))  # its tokenizer cuts
        self.submitted = 0
        self.accepted: dict[str, Expected] = {}
        self.summaries: list[dict] = []
        self._lock = threading.Lock()

    def tried(self, count: int = 1) -> None:
        """Count submissions a producer is about to make."""
        with self._lock:
            self.submitted += count

    def accept(self, ref: DocRef) -> None:
        """Record a submission whose producer call returned: its version is now expected."""
        chunks = len(documents.prepare(ref, self.embedder, self.settings).chunks)
        with self._lock:
            held = self.accepted.get(ref.doc_id)
            if held is None or held.version < ref.version:
                self.accepted[ref.doc_id] = Expected(ref.version, chunks)

    def stored(self, resources) -> dict[str, Counter]:
        """Chunks per version of every document in the model's collection, counted there."""
        name = resources.collection(resources.target(self.model))
        found: dict[str, Counter] = {}
        for meta in resources.store.metadatas(name):
            found.setdefault(meta["doc_id"], Counter())[meta["version"]] += 1
        return found

    def audit(self, resources) -> dict:
        """submitted, committed, duplicated and lost, read from the registry and Chroma now."""
        name = resources.collection(resources.target(self.model))
        found = self.stored(resources)
        with self._lock:
            accepted = dict(self.accepted)
        entries = registry.get_many(resources.redis, name, list(accepted)) if accepted else {}
        twice = {doc_id for summary in self.summaries for doc_id, n in
                 Counter(d["doc_id"] for d in summary["documents"]).items() if n > 1}
        lost, duplicated = [], []
        for doc_id, want in accepted.items():
            versions, entry = found.get(doc_id, Counter()), entries[doc_id]
            if not (entry is not None and entry.state == COMMITTED
                    and entry.version == want.version and entry.chunks == want.chunks
                    and versions == Counter({want.version: want.chunks})):
                lost.append(doc_id)
            if sum(versions.values()) > want.chunks or len(versions) > 1 or doc_id in twice:
                duplicated.append(doc_id)
        return {"submitted": self.submitted, "accepted": len(accepted),
                "committed": len(accepted) - len(lost), "duplicated": len(duplicated),
                "lost": len(lost), "examples": sorted(lost + duplicated)[:5]}
