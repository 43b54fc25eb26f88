"""Resources on a MemoryStore and the test Redis, for fast tests of commit, copy, checks and swap.

Each set of resources has a collection prefix of its own, so its alias, registry and
change log are its own; the keys are deleted afterwards. The model is WordLlama: fast.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from ingest_tasks.core.results import ProcessingResult
from ingest_tasks.core.settings import get_settings
from ingest_tasks.pipeline.documents import ingest_documents
from ingest_tasks.pipeline.resources import Resources
from ingest_tasks.pipeline.sources import DocRef
from ingest_tasks.store.memory import MemoryStore

MODEL = "wordllama"

# One topic per document: self-retrieval tells them apart.
TOPICS = {
    "cranes": "Harbour cranes lift steel containers from the decks of cargo ships at dawn",
    "ocelots": "Spotted ocelots prowl the forest floor hunting rodents and birds at dusk",
    "kelp": "Giant kelp forests sway in cold coastal water and shelter sea otters and urchins",
    "violins": "Luthiers carve spruce tops and maple backs before varnishing a new violin by hand",
    "glaciers": "Alpine glaciers grind bedrock into silt that turns meltwater lakes milky blue",
    "bread": "Bakers fold sourdough at night so the wild yeast can rise before the morning oven",
}


@contextmanager
def memory_resources(**settings: object) -> Iterator[Resources]:
    """Resources on a new MemoryStore, the test Redis and a collection prefix of their own."""
    prefix = f"mem-{uuid.uuid4().hex[:8]}"
    config = get_settings().model_copy(
        update={"collection_prefix": prefix, "embedding_model": MODEL, **settings})
    resources = Resources(config, store=MemoryStore())
    try:
        yield resources
    finally:
        keys = list(resources.redis.scan_iter(match=f"*{prefix}*", count=1000))
        if keys:
            resources.redis.delete(*keys)


def text(topic: str, sentences: int = 3) -> str:
    """A Markdown document about one topic: a title and numbered sentences of it."""
    lines = [f"{TOPICS[topic]}, observation {n} of {sentences}." for n in range(1, sentences + 1)]
    return f"# {topic.title()}\n\n" + " ".join(lines)


def submit(resources: Resources, doc_id: str, body: str, version: int) -> ProcessingResult:
    """Ingest one inline document into the live collection, as a stream task does."""
    ref = DocRef.inline(doc_id, body.encode(), f"{doc_id}.md", version)
    (result,) = ingest_documents([ref], resources)
    return result
