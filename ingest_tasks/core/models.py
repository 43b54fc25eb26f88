"""The embedding models ingest-tasks knows, by the name collections record.

One line per local backend (module under ingest_tasks.pipeline.embed, class). Settings
check names against this table; the embed package loads a model's module only when asked.
Any other model is ``api:<name>``: <name> computed by an OpenAI-compatible service, cut
into chunks by the tokenizer its settings name (a TokenizerSpec).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

BACKENDS: dict[str, tuple[str, str]] = {
    "all-MiniLM-L6-v2": ("minilm", "MiniLMOnnx"),
    "all-MiniLM-L6-v2-int8": ("minilm", "MiniLMInt8"),  # int8 compute: other vectors
    "wordllama": ("wordllama", "WordLlamaEmbedder"),
}
# api:<name> is the model <name> of an embedding service (embed/http.py); for a local
# model's name, that model's vectors
API_PREFIX = "api:"
CHARS_PREFIX = "chars:"  # a tokenizer spec of a character budget: chars:N


def available_models() -> list[str]:
    """Names of the local models (each also as api:<name>)."""
    return sorted(BACKENDS)


def is_api(name: str) -> bool:
    """True for a model of the embedding service (api:<name>)."""
    return name.startswith(API_PREFIX)


def served_name(name: str) -> str:
    """The name the embedding service knows an api: model by (api:<name> -> <name>)."""
    return name.removeprefix(API_PREFIX)


def check_model(name: str) -> str:
    """`name` if it is a local model or api:<any name>; ValueError naming the known ones."""
    if name in BACKENDS or (is_api(name) and served_name(name).strip()):
        return name
    known = ", ".join(available_models())
    raise ValueError(f"unknown embedding model {name!r}; local ones: {known}; any model of "
                     f"the embedding service as api:<name>")


@dataclass(frozen=True)
class TokenizerSpec:
    """How an api: model's text is cut into tokens: a bundled model's tokenizer (`model`),
    a tokenizer.json file (`path`), or a character budget of `chars` characters a text."""

    model: str = ""
    path: Path | None = None
    chars: int = 0

    @classmethod
    def parse(cls, text: str) -> TokenizerSpec:
        """The spec `text` names: chars:N, a local model's name, or a tokenizer.json path;
        ValueError saying what is wrong (a file is checked to exist)."""
        text = text.strip()
        if text.startswith(CHARS_PREFIX):
            budget = text.removeprefix(CHARS_PREFIX)
            if not re.fullmatch(r"[0-9]+", budget) or int(budget) < 16:
                raise ValueError(f"tokenizer {text!r}: a character budget is chars:N, N >= 16")
            return cls(chars=int(budget))
        if text in BACKENDS:
            return cls(model=text)
        if text.endswith(".json"):
            path = Path(text).expanduser()
            if not path.is_file():
                raise ValueError(f"tokenizer {text!r}: no such file")
            return cls(path=path)
        raise ValueError(f"tokenizer {text!r} is none of chars:N, a local model "
                         f"({', '.join(available_models())}) or a path to a tokenizer.json")
