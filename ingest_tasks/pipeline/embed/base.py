"""The Embedder interface and the batching, pooling and normalising they share."""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Encoding, Tokenizer

    from ingest_tasks.pipeline.chunk import Chunk


@runtime_checkable
class Embedder(Protocol):
    """A text embedding model as the chunker and the indexer see it."""

    name: str  # registry name, stored with the vectors
    max_tokens: int  # content tokens a text may have; special tokens excluded
    static: bool  # vectors looked up per token: the store, not the model, is the slow part

    @property
    def dim(self) -> int:
        """Length of its vectors."""
        ...

    def tokenize(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Ids of the model tokens of ``text`` and their character offsets, specials excluded."""
        ...

    def embed_chunks(self, chunks: list[Chunk]) -> np.ndarray:
        """Like ``embed``, for chunks (a backend may use the token ids they carry)."""
        ...

    def embed(self, texts: list[str]) -> np.ndarray:
        """Float32 array (len(texts), dim) of L2-normalised rows, in input order."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """One L2-normalised float32 vector of shape (dim,) for a search query."""
        ...


@contextmanager
def root_logger_kept(level: int | None = None) -> Iterator[None]:
    """Restore the root logger's handlers and level after the block; `level`: its level in it.

    Some model libraries call logging.basicConfig or log to the root logger while loading.
    """
    root = logging.getLogger()
    handlers, kept = root.handlers[:], root.level
    if level is not None:
        root.setLevel(level)
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(kept)


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length in place; all-zero rows stay zero."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors /= np.maximum(norms, 1e-12)
    return vectors


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of token vectors (batch, seq, dim) over positions where mask is 1."""
    weights = mask.astype(np.float32)
    total = np.einsum("bs,bsd->bd", weights, hidden)  # no (batch, seq, dim) temporary
    return total / np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)


def pad_ids(rows: Sequence[Sequence[int]], pad_id: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Token id rows padded to the longest: (ids, attention mask), both int64."""
    width = max((len(row) for row in rows), default=0)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return ids, mask


def length_sorted_batches(lengths: Sequence[int], batch: int) -> list[np.ndarray]:
    """Index batches of at most ``batch`` items, grouped by length.

    Padding to the longest text in a batch costs more than batching saves, so texts of
    similar length go together.
    """
    order = np.argsort(np.asarray(lengths, dtype=np.int64), kind="stable")
    return [order[start : start + batch] for start in range(0, len(order), batch)]


class TokenizerEmbedder(ABC):
    """Shared body of embedders driven by a Hugging Face ``tokenizers.Tokenizer``.

    Subclasses set ``name``, ``dim`` and ``max_tokens`` and implement ``_forward``.
    """

    name: str
    dim: int
    max_tokens: int
    static: bool = False
    add_special_tokens: bool = True

    def __init__(self, tokenizer: Tokenizer, *, threads: int, batch: int) -> None:
        if threads < 1 or batch < 1:
            raise ValueError("threads and batch must be at least 1")
        self.threads = threads
        self.batch = batch
        self._spans = SpanEncoder(_copy(tokenizer))
        self._tokenizer = _copy(tokenizer)
        self._tokenizer.enable_truncation(self.max_tokens)
        self._prefix, self._suffix = special_ids(self._spans.tokenizer, self.add_special_tokens)

    @staticmethod
    @abstractmethod
    def load_tokenizer() -> Tokenizer:
        """The model's tokenizer as it ships, without its weights."""

    @abstractmethod
    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Pooled, not yet normalised, float32 vectors (batch, dim) of a padded batch."""

    def tokenize(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Token ids and character offsets, not truncated (byte-fallback pieces of a char repeat it)."""
        return self._spans.encode(text)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Float32 array (len(texts), dim) of L2-normalised rows, in input order."""
        return self._embed_ids([encoding.ids for encoding in self._encode(texts)])

    def embed_chunks(self, chunks: list[Chunk]) -> np.ndarray:
        """Vectors of chunks from the token ids they carry: their text is not tokenized again."""
        return self._embed_ids([chunk.ids for chunk in chunks])

    def _embed_ids(self, rows: list[Sequence[int]]) -> np.ndarray:
        """Vectors of texts given as content token ids, each cut at ``max_tokens``."""
        rows = [[*self._prefix, *row[: self.max_tokens], *self._suffix] for row in rows]
        out = np.zeros((len(rows), self.dim), dtype=np.float32)
        for index in length_sorted_batches([len(row) for row in rows], self.batch):
            ids, mask = pad_ids([rows[i] for i in index])
            out[index] = self._forward(ids, mask)
        return l2_normalize(out)

    def embed_query(self, text: str) -> np.ndarray:
        """One L2-normalised vector of shape (dim,); these models embed queries as passages."""
        return self.embed([text])[0]

    def _encode(self, texts: list[str]) -> list[Encoding]:
        # encode_batch runs on a Rayon pool of every core: keep a one-thread embedder on one
        if self.threads == 1:
            return [self._tokenizer.encode(text, add_special_tokens=False) for text in texts]
        return self._tokenizer.encode_batch(texts, add_special_tokens=False)


class SpanEncoder:
    """Token ids and character offsets of a whole document: specials excluded, not truncated.

    It encodes with `encode_batch`, which lets go of the GIL, so that a bulk group's
    write-behind thread (pipeline.write_behind) runs while a long text is tokenized.

    A tokenizer without a pre-tokenizer (wordllama's) runs its BPE over the whole text as
    one word, which takes longer than linear time: 0.67 s for the 813,200 characters of the
    corpus's 872-page handbook, 0.25 s in pieces. So it encodes a long text in pieces that
    end at a line break, those after the first with a copy of the tokenizer whose normalizer
    does not prepend the start-of-text mark. On the corpus this gives the tokens of one
    encode, offsets too (tests/unit/test_embed.py). Tokenizers that split words first
    (MiniLM's) gain nothing from pieces and encode a text at once.
    """

    PIECE_CHARS = 8192  # a piece ends at the first line break past this many characters

    def __init__(self, tokenizer: Tokenizer) -> None:
        from tokenizers import Tokenizer

        tokenizer.no_truncation()
        self.tokenizer = tokenizer
        self._rest: Tokenizer | None = None  # the pieces after the first; None: no pieces
        config = json.loads(tokenizer.to_str())
        if config.get("pre_tokenizer") is None:
            config["normalizer"] = _without_prepend(config.get("normalizer"))
            self._rest = Tokenizer.from_str(json.dumps(config))

    def encode(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Token ids and character offsets of `text`."""
        if self._rest is None or len(text) <= self.PIECE_CHARS:
            encoding = self.tokenizer.encode_batch([text], add_special_tokens=False)[0]
            return encoding.ids, encoding.offsets
        starts = [0]
        while starts[-1] < len(text):
            starts.append(text.find("\n", starts[-1] + self.PIECE_CHARS) + 1 or len(text))
        first = self.tokenizer.encode_batch([text[: starts[1]]], add_special_tokens=False)
        rest = self._rest.encode_batch([text[start:end] for start, end in zip(starts[1:], starts[2:])],
                                       add_special_tokens=False)
        ids: list[int] = []
        spans: list[tuple[int, int]] = []
        for start, encoding in zip(starts, [*first, *rest]):
            ids += encoding.ids
            spans += [(begin + start, end + start) for begin, end in encoding.offsets]
        return ids, spans


def _without_prepend(normalizer: dict | None) -> dict | None:
    """A tokenizer's normalizer (its JSON) without its Prepend steps."""
    if normalizer is None or normalizer.get("type") == "Prepend":
        return None
    if normalizer.get("type") == "Sequence":
        steps = [step for step in normalizer["normalizers"] if step.get("type") != "Prepend"]
        return {**normalizer, "normalizers": steps}
    return normalizer


def special_ids(tokenizer: Tokenizer, add: bool = True) -> tuple[list[int], list[int]]:
    """The ids the model's template puts before and after a text's own ([CLS], [SEP])."""
    bare = tokenizer.encode("a", add_special_tokens=False).ids
    full = tokenizer.encode("a", add_special_tokens=True).ids if add else bare
    at = next(i for i in range(len(full)) if full[i : i + len(bare)] == bare)
    return full[:at], full[at + len(bare) :]


def _copy(tokenizer: Tokenizer) -> Tokenizer:
    """An independent tokenizer with the same vocabulary and no padding."""
    from tokenizers import Tokenizer

    clone = Tokenizer.from_str(tokenizer.to_str())
    clone.no_padding()
    return clone
