"""The embedding models ingest-tasks knows, by the name collections record.

One line per backend (module under ingest_tasks.pipeline.embed, class). Settings check
names against this table; the embed package loads a model's module only when asked.
"""

from __future__ import annotations

BACKENDS: dict[str, tuple[str, str]] = {
    "all-MiniLM-L6-v2": ("minilm", "MiniLMOnnx"),
    "all-MiniLM-L6-v2-int8": ("minilm", "MiniLMInt8"),  # int8 compute: other vectors
    "wordllama": ("wordllama", "WordLlamaEmbedder"),
}
# api:<name> is <name>'s vectors computed by an embedding service (embed/http.py)
API_PREFIX = "api:"


def available_models() -> list[str]:
    """Names of the local models (each also as api:<name>)."""
    return sorted(BACKENDS)


def check_model(name: str) -> str:
    """The local model behind `name`; ValueError naming the known models if there is none."""
    local = name.removeprefix(API_PREFIX)
    if local not in BACKENDS:
        known = ", ".join(available_models())
        raise ValueError(f"unknown embedding model {name!r}; known: {known}, each also as api:<name>")
    return local
