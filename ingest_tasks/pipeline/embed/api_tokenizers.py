"""The tokenizers that cut an api: model's text into chunks, without the model itself.

An embedding service tokenizes what it is sent by itself; ingest-tasks needs a tokenizer
only to cut documents into windows of about the model's tokens, and to keep every text
it sends within the model's context. Three kinds (core.models.TokenizerSpec):

- a tokenizer.json (any Hugging Face tokenizer, e.g. e5's or bge's): its own tokens,
  at most INGEST_EMBEDDING_API_MAX_TOKENS with its special tokens;
- a local model's tokenizer, read without its weights, with that model's limit;
- a character budget chars:N, for a model whose tokenizer is not at hand (cl100k of
  text-embedding-3-small): a "token" is a word of at most 12 letters or digits, or one
  other character that is not a space (close to a BPE's count for English), and no text
  longer than N characters is sent, so at most N of these tokens.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ingest_tasks.pipeline.embed.base import SpanEncoder, special_ids

if TYPE_CHECKING:
    from tokenizers import Tokenizer


class ApiTokenizer(Protocol):
    """Cuts the text of an api: model: its tokens, and what of a text the service takes."""

    max_tokens: int  # content tokens a text sent may have

    def tokenize(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Token ids (0 when they mean nothing) and character offsets, not truncated."""
        ...

    def fit(self, text: str) -> str:
        """The longest start of `text` within the model's context: what is sent of it."""
        ...


class HfTokens:
    """The tokens of a Hugging Face tokenizer, a text cut after `max_tokens` of them."""

    def __init__(self, tokenizer: Tokenizer, max_tokens: int) -> None:
        tokenizer.no_padding()
        self._spans = SpanEncoder(tokenizer)
        self.max_tokens = max_tokens

    @classmethod
    def from_file(cls, path: Path, context: int) -> HfTokens:
        """A tokenizer.json of a model of `context` tokens, its special tokens included."""
        from tokenizers import Tokenizer

        made = cls(Tokenizer.from_file(str(path)), context)
        prefix, suffix = special_ids(made._spans.tokenizer)
        made.max_tokens -= len(prefix) + len(suffix)
        if made.max_tokens < 1:
            raise ValueError(f"{path}: a context of {context} tokens holds only its "
                             f"{len(prefix) + len(suffix)} special tokens")
        return made

    def tokenize(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Token ids and character offsets, specials excluded, not truncated."""
        return self._spans.encode(text)

    def fit(self, text: str) -> str:
        """`text` up to the end of its max_tokens-th token."""
        _, spans = self.tokenize(text)
        return text if len(spans) <= self.max_tokens else text[: spans[self.max_tokens - 1][1]]


_WORD = re.compile(r"\w{1,12}|[^\w\s]")  # unspaced scripts and long strings still split


class CharBudget:
    """Words and signs as tokens, and at most `chars` characters of a text sent."""

    def __init__(self, chars: int) -> None:
        self.max_tokens = chars  # no token is shorter than a character

    def tokenize(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Zero ids (the service has its own) and the character offsets of the words."""
        spans = [match.span() for match in _WORD.finditer(text)]
        return [0] * len(spans), spans

    def fit(self, text: str) -> str:
        """The first `chars` characters of `text`."""
        return text[: self.max_tokens]
