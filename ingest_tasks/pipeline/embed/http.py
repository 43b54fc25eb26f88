"""Vectors from an OpenAI-compatible embedding service: POST {url}/v1/embeddings.

A model named ``api:<model>`` is <model> as the service serves it: the name sent is the one
the collection records (less api:), its dimension is the length of the service's vectors
(asked once per service and model, see `dim`), and its text is cut into chunks by the
tokenizer the settings name (api_tokenizers.py); every text is cut to the model's context
before it is sent. Each request first takes a token of the fleet-wide bucket when a rate
is set. A 429, a 5xx or a connection error is retried after the server's Retry-After or
an exponential backoff; after the last try, or on any other failure, EmbeddingUnavailable
sends the task back to Celery to be retried later.
"""

from __future__ import annotations

import random
import time
from functools import cached_property
from typing import TYPE_CHECKING

import httpx
import numpy as np

from ingest_tasks.core.errors import EmbeddingUnavailable, ModelMismatch
from ingest_tasks.core.keys import EMBEDDING_DIM_KEY
from ingest_tasks.core.models import served_name
from ingest_tasks.core.settings import Settings
from ingest_tasks.pipeline.embed.base import l2_normalize
from ingest_tasks.state import ratelimit

if TYPE_CHECKING:
    import redis

    from ingest_tasks.pipeline.chunk import Chunk
    from ingest_tasks.pipeline.embed.api_tokenizers import ApiTokenizer

_MAX_RETRY_AFTER = 60.0  # a worker holds its task while it waits: longer waits are Celery's
# A service's answer about a model's dimension is kept this long in Redis: the whole fleet
# asks once, and a model the service comes to serve differently is seen again within a day
_DIM_TTL = 24 * 3600
_PROBE = "How long are this model's vectors?"
_dims: dict[tuple[str, str], int] = {}  # (service URL, model) -> dimension, in this process


class _Retryable(Exception):
    """A failure worth another try: a 429, a 5xx or a connection error."""

    def __init__(self, problem: str, retry_after: float | None = None) -> None:
        super().__init__(problem)
        self.retry_after = retry_after


class HttpEmbedder:
    """The vectors of the api: model `name`, asked of the embedding service."""

    max_tokens: int

    def __init__(self, name: str, settings: Settings, tokenizer: ApiTokenizer, *,
                 static: bool = False, dim: int | None = None) -> None:
        self.name, self.served = name, served_name(name)
        self.settings = s = settings
        self.static = static
        self._tokenizer = tokenizer
        self.max_tokens = tokenizer.max_tokens
        self._dim = dim  # None: asked of the service on first need
        key = {"Authorization": f"Bearer {s.embedding_api_key}"} if s.embedding_api_key else {}
        self._client = httpx.Client(base_url=s.embedding_api_url, headers=key,
                                    timeout=s.embedding_api_timeout)
        self.waited = 0.0  # seconds spent waiting for the fleet-wide bucket
        self.retried = 0  # requests sent again after a 429, a 5xx or a connection error

    @property
    def dim(self) -> int:
        """Length of the model's vectors: known, else remembered by this process or in Redis,
        else the length of a probe text's vector, which the service is asked for once."""
        if self._dim is None:
            where = (self.settings.embedding_api_url, self.served)
            if where not in _dims:
                key = f"{EMBEDDING_DIM_KEY}{where[0]}|{where[1]}"
                held = self._redis.get(key)
                if held is None:
                    held = self._post([_PROBE]).shape[1]
                    self._redis.set(key, held, ex=_DIM_TTL)
                _dims[where] = int(held)
            self._dim = _dims[where]
        return self._dim

    @cached_property
    def _redis(self) -> redis.Redis:
        import redis

        return redis.Redis.from_url(self.settings.redis_url)

    def tokenize(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Token ids and character offsets of ``text`` in the model's chunking tokenizer."""
        return self._tokenizer.tokenize(text)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Float32 array (len(texts), dim) of L2-normalised rows, in input order; each text
        cut to the model's context."""
        step = self.settings.embedding_api_batch
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        texts = [self._tokenizer.fit(text) for text in texts]
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
        body = {"model": self.served, "input": texts}
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
        if vectors.ndim != 2 or len(vectors) != count:
            raise EmbeddingUnavailable(
                f"answer of shape {vectors.shape} to {count} texts of model {self.served}")
        if self._dim is not None and vectors.shape[1] != self._dim:
            raise ModelMismatch(f"{self.settings.embedding_api_url} answers model {self.served} "
                                f"with vectors of {vectors.shape[1]} dimensions, not "
                                f"{self._dim}: it serves another model under that name now")
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
