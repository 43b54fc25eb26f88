"""Vectors from an OpenAI-compatible embedding service: POST {url}/v1/embeddings.

A model named ``api:<model>`` has the vectors of the local <model>, computed by the
service: its dimension, token limit and tokenizer (the chunks are cut in its tokens) are
the local model's. Each request first takes a token of the fleet-wide bucket when a rate
is set. A 429, a 5xx or a connection error is retried after the server's Retry-After or
an exponential backoff; after the last try, or on any other failure, EmbeddingUnavailable
sends the task back to Celery to be retried later.
"""

from __future__ import annotations

import random
import time
from functools import cache, cached_property
from typing import TYPE_CHECKING

import httpx
import numpy as np

from ingest_tasks.core.errors import EmbeddingUnavailable
from ingest_tasks.core.models import API_PREFIX
from ingest_tasks.core.settings import Settings
from ingest_tasks.pipeline.embed.base import Embedder, l2_normalize
from ingest_tasks.state import ratelimit

if TYPE_CHECKING:
    import redis

    from ingest_tasks.pipeline.chunk import Chunk

_MAX_RETRY_AFTER = 60.0  # a worker holds its task while it waits: longer waits are Celery's


@cache
def api_class(local: type[Embedder]) -> type[HttpEmbedder]:
    """The HttpEmbedder of `local`'s vectors, named api:<its name>; no weights, no network."""
    attrs = {"name": API_PREFIX + local.name, "local_name": local.name, "dim": local.dim,
             "max_tokens": local.max_tokens, "static": local.static}
    return type(f"Api{local.__name__}", (HttpEmbedder,), attrs)


class _Retryable(Exception):
    """A failure worth another try: a 429, a 5xx or a connection error."""

    def __init__(self, problem: str, retry_after: float | None = None) -> None:
        super().__init__(problem)
        self.retry_after = retry_after


class HttpEmbedder:
    """The vectors of the local model ``local_name``, asked of the embedding service."""

    name: str
    local_name: str
    dim: int
    max_tokens: int
    static: bool

    def __init__(self, local: Embedder, settings: Settings) -> None:
        self.settings = s = settings
        self._local = local  # the local model of the same vectors: only its tokenizer is used
        key = {"Authorization": f"Bearer {s.embedding_api_key}"} if s.embedding_api_key else {}
        self._client = httpx.Client(base_url=s.embedding_api_url, headers=key,
                                    timeout=s.embedding_api_timeout)
        self.waited = 0.0  # seconds spent waiting for the fleet-wide bucket
        self.retried = 0  # requests sent again after a 429, a 5xx or a connection error

    @cached_property
    def _redis(self) -> redis.Redis:
        import redis

        return redis.Redis.from_url(self.settings.redis_url)

    def tokenize(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """The local model's token ids and character offsets of ``text``."""
        return self._local.tokenize(text)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Float32 array (len(texts), dim) of L2-normalised rows, in input order."""
        step = self.settings.embedding_api_batch
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), step):
            out[start : start + step] = self._post(texts[start : start + step])
        return l2_normalize(out)

    def embed_chunks(self, chunks: list[Chunk]) -> np.ndarray:
        """Vectors of chunks from their text, which the service tokenizes again."""
        return self.embed([chunk.text for chunk in chunks])

    def embed_query(self, text: str) -> np.ndarray:
        """One L2-normalised vector of shape (dim,); queries are embedded as passages."""
        return self.embed([text])[0]

    def _post(self, texts: list[str]) -> np.ndarray:
        """The vectors of one request, sent again after a 429, a 5xx or a connection error."""
        retries = self.settings.embedding_api_retries
        for attempt in range(retries + 1):
            self._throttle()
            try:
                return self._vectors(self._send(texts), len(texts))
            except _Retryable as exc:
                last = exc
                if attempt < retries:
                    self.retried += 1
                    time.sleep(exc.retry_after if exc.retry_after is not None
                               else self._backoff(attempt))
        url = self.settings.embedding_api_url
        raise EmbeddingUnavailable(f"{url}: {last} after {retries + 1} tries") from last

    def _throttle(self) -> None:
        """Take a token of the fleet-wide bucket of this service (rate 0: at once)."""
        s = self.settings
        self.waited += ratelimit.acquire(self._redis, f"embedding-api:{s.embedding_api_url}",
                                         s.embedding_api_rate, s.embedding_api_burst)

    def _send(self, texts: list[str]) -> httpx.Response:
        """One POST and its successful answer; _Retryable or EmbeddingUnavailable if it failed."""
        body = {"model": self.local_name, "input": texts}
        try:
            response = self._client.post("/v1/embeddings", json=body)
        except httpx.TransportError as exc:
            raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 429 or response.is_server_error:
            raise _Retryable(f"HTTP {response.status_code}", _retry_after(response))
        if response.is_error:
            raise EmbeddingUnavailable(f"{self.settings.embedding_api_url}: HTTP "
                                       f"{response.status_code}: {response.text[:200]}")
        return response

    def _vectors(self, response: httpx.Response, count: int) -> np.ndarray:
        """The rows of an answer in input order, checked for their number and dimension."""
        try:
            data = sorted(response.json()["data"], key=lambda item: item["index"])
            vectors = np.array([item["embedding"] for item in data], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbeddingUnavailable(f"answer not understood: {exc!r}") from exc
        if vectors.shape != (count, self.dim):
            raise EmbeddingUnavailable(
                f"answer of shape {vectors.shape} to {count} texts of model {self.local_name}")
        return vectors

    def _backoff(self, attempt: int) -> float:
        """Seconds before try `attempt` + 2: doubled each time, jittered so workers spread out."""
        return self.settings.embedding_api_backoff * 2**attempt * random.uniform(0.5, 1.0)


def _retry_after(response: httpx.Response) -> float | None:
    """The seconds a Retry-After header asks for (not an HTTP date), capped; None without one."""
    try:
        return min(max(float(response.headers["Retry-After"]), 0.0), _MAX_RETRY_AFTER)
    except (KeyError, ValueError):
        return None
