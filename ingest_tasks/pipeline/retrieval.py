"""Self-retrieval: does a sentence from a document find that document again?"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ingest_tasks.pipeline.parse import parse

_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+")


def middle_sentence(text: str, min_words: int = 12) -> str:
    """The middle one of a text's sentences of at least `min_words` words.

    Line breaks are joined first: in PDF and wrapped text they end lines, not sentences.
    Shorter sentences ("said Alice.") are skipped: they could come from any of several
    documents, so they test the corpus, not the index.
    """
    sentences = _SENTENCE_END.split(" ".join(text.split()))
    long_enough = [s for s in sentences if len(s.split()) >= min_words] or [text[:300]]
    return long_enough[len(long_enough) // 2][:400]


def top_documents(hits, k: int) -> list[str]:
    """The first k distinct documents among chunk hits, best first."""
    return list(dict.fromkeys(hit.doc_id for hit in hits))[:k]


# Enough chunk hits to find k distinct documents when one long document matches many times.
_CHUNKS_PER_QUERY = 50


@dataclass
class RetrievalScore:
    """How many documents were found in the top k by their own middle sentence."""

    checked: int
    misses: list[str]

    @property
    def rate(self) -> float:
        """The share of documents found, 0..1."""
        return 1 - len(self.misses) / self.checked if self.checked else 0.0


def self_retrieval(client, sources: dict[str, Path], k: int = 3, min_words: int = 12,
                   legacy_encoding: str = "") -> RetrievalScore:
    """Search each document's middle sentence; a miss is a document not among the top k found."""
    misses = []
    for doc_id, path in sources.items():
        text = parse(path.read_bytes(), path.name, legacy_encoding=legacy_encoding).text
        hits = client.search(middle_sentence(text, min_words), k=_CHUNKS_PER_QUERY)
        if doc_id not in top_documents(hits, k):
            misses.append(doc_id)
    return RetrievalScore(len(sources), misses)
