"""Embedding models by registry name, loaded lazily and once per process."""

from __future__ import annotations

import importlib
import threading
from functools import lru_cache

from ingest_tasks.core.models import (
    API_PREFIX,
    BACKENDS,
    TokenizerSpec,
    available_models,
    is_api,
    served_name,
)
from ingest_tasks.core.settings import Settings
from ingest_tasks.pipeline.embed.api_tokenizers import ApiTokenizer, CharBudget, HfTokens
from ingest_tasks.pipeline.embed.base import Embedder, TokenizerEmbedder
from ingest_tasks.pipeline.embed.http import HttpEmbedder

__all__ = ["API_PREFIX", "Embedder", "api_embedder", "available_models", "chunking_tokenizer",
           "embedder_class", "get_embedder", "model_dim", "model_static"]

_instances: dict[tuple, Embedder] = {}
_lock = threading.Lock()


def embedder_class(name: str) -> type[TokenizerEmbedder]:
    """The class of a local model, for its dimension and tokenizer without its weights."""
    if name not in BACKENDS:
        raise ValueError(f"{name!r} is not a local model; they are {', '.join(available_models())}")
    module, attr = BACKENDS[name]
    return getattr(importlib.import_module(f".{module}", __name__), attr)


def model_dim(name: str, settings: Settings) -> int:
    """The length of a model's vectors: a local model's own (not loaded), an api: model's as
    its service says (asked once, see HttpEmbedder.dim)."""
    if not is_api(name):
        return embedder_class(name).dim
    return get_embedder(name, settings=settings).dim


def model_static(name: str) -> bool:
    """True for a static model (vectors looked up per token), local or api: of a local one."""
    local = served_name(name)
    return local in BACKENDS and embedder_class(local).static


def get_embedder(name: str, *, threads: int = 1, batch: int | None = None,
                 settings: Settings | None = None) -> Embedder:
    """The process-wide embedder for (name, threads, batch); batch None: the model's default.

    An api: model needs the settings of its embedding service, and one is kept per
    settings (threads and batch are the service's business).
    """
    key = (name, settings) if is_api(name) else (name, threads, batch)
    with _lock:
        if key not in _instances:
            _instances[key] = (api_embedder(name, settings) if is_api(name)
                               else _local(name, threads, batch))
        return _instances[key]


def api_embedder(name: str, settings: Settings | None) -> HttpEmbedder:
    """A new embedder of the api: model `name`, on the service `settings` name, cut by the
    tokenizer they give it; an api: local model keeps that model's dimension."""
    if settings is None:
        raise ValueError(f"{name}: an api: model needs the settings of its embedding service")
    local = served_name(name)
    tokenizer = chunking_tokenizer(settings.api_tokenizer(name), settings.embedding_api_max_tokens)
    dim = embedder_class(local).dim if local in BACKENDS else None
    return HttpEmbedder(name, settings, tokenizer, static=model_static(name), dim=dim)


@lru_cache(maxsize=16)
def chunking_tokenizer(spec: TokenizerSpec, context: int) -> ApiTokenizer:
    """The tokenizer a spec names, loaded once per process; `context`: a tokenizer.json's
    model's tokens, its special tokens included."""
    if spec.chars:
        return CharBudget(spec.chars)
    if spec.model:
        local = embedder_class(spec.model)
        return HfTokens(local.load_tokenizer(), local.max_tokens)
    assert spec.path is not None  # TokenizerSpec.parse gives one of the three
    return HfTokens.from_file(spec.path, context)


def _local(name: str, threads: int, batch: int | None) -> Embedder:
    """A new instance of the local model `name` (batch None: its default)."""
    cls: type[Embedder] = embedder_class(name)
    sizes = {"threads": threads} if batch is None else {"threads": threads, "batch": batch}
    return cls(**sizes)
