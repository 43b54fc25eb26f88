"""Heavy resources of one process (model, Chroma client, Redis), made lazily after the fork."""

from __future__ import annotations

from functools import cached_property

from ingest_tasks.core.settings import Settings


class Resources:
    """What a worker process needs, created on first use and kept for its lifetime."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def embedder(self, model: str | None = None):
        """The embedder named `model` (default: the configured one), loaded once."""
        from ingest_tasks.pipeline.embed import get_embedder

        name = model or self.settings.embedding_model
        return get_embedder(name, threads=self.settings.embed_threads,
                            batch=self.settings.embed_batch, settings=self.settings)

    def target(self, model: str | None = None):
        """Where `model`'s writes and searches go: the live collection (resolved now through
        the alias) unless `model` is another than the live one's; see alias.resolve."""
        from ingest_tasks.state.alias import resolve

        return resolve(self.redis, self.settings, model)

    def collection(self, target=None):
        """The Chroma collection of a target (default: the live one), the model not loaded."""
        from ingest_tasks.pipeline.embed import embedder_class

        target = target or self.target()
        return self.store.collection(target.collection, target.model, embedder_class(target.model).dim)

    @cached_property
    def store(self):
        """The Chroma store client."""
        from ingest_tasks.store.chroma import ChromaStore

        s = self.settings
        return ChromaStore(s.chroma_host, s.chroma_port, s.store_batch)

    @cached_property
    def redis(self):
        """A Redis client for job state."""
        import redis

        return redis.Redis.from_url(self.settings.redis_url, decode_responses=True)
