"""Embedding models by registry name, loaded lazily and once per process."""

from __future__ import annotations

import importlib
import threading

from ingest_tasks.pipeline.embed.base import Embedder

__all__ = ["API_PREFIX", "Embedder", "available_models", "embedder_class", "get_embedder"]

# One line per backend (module relative to this package, class); the name is what
# collections record as their model. Modules are imported only when a model is asked for.
_BACKENDS: dict[str, tuple[str, str]] = {
    "all-MiniLM-L6-v2": (".minilm", "MiniLMOnnx"),
    "wordllama": (".wordllama", "WordLlamaEmbedder"),
}
# api:<name> is <name>'s vectors computed by an embedding service (embed/http.py)
API_PREFIX = "api:"

_instances: dict[tuple[str, int, int | None], Embedder] = {}
_lock = threading.RLock()  # an api: model gets its local model's tokenizer while being made


def available_models() -> list[str]:
    """Names of the local models get_embedder accepts (each also as api:<name>)."""
    return sorted(_BACKENDS)


def embedder_class(name: str) -> type[Embedder]:
    """The class of a model, for its name and dimension without loading its weights."""
    local = name.removeprefix(API_PREFIX)
    if local not in _BACKENDS:
        known = ", ".join(available_models())
        raise ValueError(f"unknown embedding model {name!r}; known: {known}, each also as api:<name>")
    module, attr = _BACKENDS[local]
    cls = getattr(importlib.import_module(module, __name__), attr)
    if local == name:
        return cls
    from ingest_tasks.pipeline.embed.http import api_class

    return api_class(cls)


def get_embedder(name: str, *, threads: int = 1, batch: int | None = None) -> Embedder:
    """The process-wide embedder for (name, threads, batch); batch None: the model's default."""
    cls = embedder_class(name)
    key = (name, threads, batch)
    with _lock:
        if key not in _instances:
            kwargs = {"threads": threads} if batch is None else {"threads": threads, "batch": batch}
            _instances[key] = cls(**kwargs)
        return _instances[key]
