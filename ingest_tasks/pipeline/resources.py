"""Heavy resources of one process (model, store client, Redis), made lazily after the fork."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from ingest_tasks.core.settings import Settings
from ingest_tasks.store.base import Store

if TYPE_CHECKING:
    from redis import Redis

    from ingest_tasks.pipeline.embed import Embedder
    from ingest_tasks.pipeline.embed.batch_api import BatchClient
    from ingest_tasks.state.alias import Target


class Resources:
    """What a worker process needs, created on first use and kept for its lifetime.

    The store is the Chroma server of the settings unless one is given (a MemoryStore in
    tests); Redis is always the settings' own.
    """

    def __init__(self, settings: Settings, store: Store | None = None):
        self.settings = settings
        if store is not None:
            self.store = store  # takes the cached property's place

    def embedder(self, model: str | None = None) -> Embedder:
        """The embedder named `model` (default: the configured one), loaded once."""
        from ingest_tasks.pipeline.embed import get_embedder

        name = model or self.settings.embedding_model
        return get_embedder(name, threads=self.settings.embed_threads,
                            batch=self.settings.embed_batch, settings=self.settings)

    def target(self, model: str | None = None) -> Target:
        """Where `model`'s writes and searches go: the live collection (resolved now through
        the alias) unless `model` is another than the live one's; see alias.resolve."""
        from ingest_tasks.state.alias import resolve

        return resolve(self.redis, self.settings, model)

    def collection(self, target: Target | None = None) -> str:
        """The name of a target's collection (default: the live one's), made in the store if
        it was not, and checked to hold the target model's vectors (the model not loaded; an
        api: model's dimension asked of its service once)."""
        from ingest_tasks.pipeline.embed import model_dim

        target = target or self.target()
        self.store.ensure(target.collection, target.model, model_dim(target.model, self.settings))
        return target.collection

    @cached_property
    def store(self) -> Store:
        """The Chroma store client."""
        from ingest_tasks.store.chroma import ChromaStore

        s = self.settings
        return ChromaStore(s.chroma_host, s.chroma_port, s.store_batch)

    @cached_property
    def redis(self) -> Redis:
        """A Redis client for job state."""
        import redis

        return redis.Redis.from_url(self.settings.redis_url, decode_responses=True)

    @cached_property
    def batch_client(self) -> BatchClient:
        """The embedding service's Batch API: one HTTP client for the process, not one per
        poll and submission (each new one builds a TLS context: CPU the poll pays again)."""
        from ingest_tasks.pipeline.embed.batch_api import BatchClient

        return BatchClient(self.settings)
