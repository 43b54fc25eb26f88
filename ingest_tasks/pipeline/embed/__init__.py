"""Embedding models by registry name, loaded lazily and once per process."""

from __future__ import annotations

import importlib
import threading

from ingest_tasks.core.models import API_PREFIX, BACKENDS, available_models, check_model
from ingest_tasks.core.settings import Settings
from ingest_tasks.pipeline.embed.base import Embedder
from ingest_tasks.pipeline.embed.http import HttpEmbedder, api_class

__all__ = ["API_PREFIX", "Embedder", "api_embedder", "available_models", "embedder_class",
           "get_embedder"]

_instances: dict[tuple[str, int, int | None, Settings | None], Embedder] = {}
_lock = threading.RLock()  # an api: model gets its local model's tokenizer while being made


def embedder_class(name: str) -> type[Embedder]:
    """The class of a model, for its name and dimension without loading its weights."""
    local = check_model(name)
    module, attr = BACKENDS[local]
    cls = getattr(importlib.import_module(f".{module}", __name__), attr)
    return cls if local == name else api_class(cls)


def get_embedder(name: str, *, threads: int = 1, batch: int | None = None,
                 settings: Settings | None = None) -> Embedder:
    """The process-wide embedder for (name, threads, batch); batch None: the model's default.

    An api: model needs the settings of its embedding service, and one is kept per settings.
    """
    api = name.startswith(API_PREFIX)
    key = (name, threads, batch, settings if api else None)
    with _lock:
        if key not in _instances:
            _instances[key] = (api_embedder(name, settings, threads=threads, batch=batch) if api
                               else embedder_class(name)(**_sizes(threads, batch)))
        return _instances[key]


def api_embedder(name: str, settings: Settings | None, *, threads: int = 1,
                 batch: int | None = None) -> HttpEmbedder:
    """A new embedder of the api: model `name`, on the service `settings` name."""
    if settings is None:
        raise ValueError(f"{name}: an api: model needs the settings of its embedding service")
    local = get_embedder(check_model(name), threads=threads, batch=batch)
    return api_class(type(local))(local, settings)


def _sizes(threads: int, batch: int | None) -> dict[str, int]:
    """The keyword arguments of a local model's threads and batch (None: its default)."""
    return {"threads": threads} if batch is None else {"threads": threads, "batch": batch}
