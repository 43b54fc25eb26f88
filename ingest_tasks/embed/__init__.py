"""Embedding models by registry name, loaded lazily and once per process."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable

from .base import Embedder

__all__ = ["Embedder", "available_models", "get_embedder"]

Factory = Callable[..., Embedder]


def _lazy(module: str, attr: str) -> Factory:
    """A factory that imports ``module`` (relative to this package) only when called."""

    def build(**kwargs: int) -> Embedder:
        return getattr(importlib.import_module(module, __name__), attr)(**kwargs)

    return build


# One line per backend; the name is what collections record as their model.
_FACTORIES: dict[str, Factory] = {
    "all-MiniLM-L6-v2": _lazy(".minilm", "MiniLMOnnx"),
    "wordllama": _lazy(".wordllama", "WordLlamaEmbedder"),
}

_instances: dict[tuple[str, int, int | None], Embedder] = {}
_lock = threading.Lock()


def available_models() -> list[str]:
    """Names get_embedder accepts."""
    return sorted(_FACTORIES)


def get_embedder(name: str, *, threads: int = 1, batch: int | None = None) -> Embedder:
    """The process-wide embedder for (name, threads, batch); batch None: the model's default."""
    if name not in _FACTORIES:
        known = ", ".join(available_models())
        raise ValueError(f"unknown embedding model {name!r}; known: {known}")
    key = (name, threads, batch)
    with _lock:
        if key not in _instances:
            kwargs = {"threads": threads} if batch is None else {"threads": threads, "batch": batch}
            _instances[key] = _FACTORIES[name](**kwargs)
        return _instances[key]
