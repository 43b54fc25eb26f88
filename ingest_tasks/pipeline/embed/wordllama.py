"""WordLlama l2_supercat, 256 dims: mean of static token vectors, weights from the wheel."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ingest_tasks.pipeline.embed.base import TokenizerEmbedder, mean_pool, root_logger_kept

if TYPE_CHECKING:
    from tokenizers import Tokenizer

TOKENIZER_FILE = "l2_supercat_tokenizer_config.json"  # under tokenizers/ in the wheel


def _wheel() -> Path:
    """The folder of the installed wordllama package, found without importing it."""
    spec = importlib.util.find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("wordllama is not installed")
    return Path(spec.submodule_search_locations[0])


def _load_model():
    """The WordLlamaInference of l2_supercat_256 from the installed wheel; never downloads."""
    folder = _wheel()
    # wordllama calls logging.basicConfig(level=INFO) on import: keep the root logger as it was
    with root_logger_kept():
        from wordllama import WordLlama
    # the wheel keeps the tokenizer under tokenizers/, where load() looks only in cache_dir
    return WordLlama.load("l2_supercat", dim=256, cache_dir=folder, disable_download=True)


class WordLlamaEmbedder(TokenizerEmbedder):
    """WordLlama l2_supercat_256, texts cut at ``max_tokens`` Llama-2 tokens."""

    name = "wordllama"
    dim = 256
    # no context limit of its own, but padding a batch to one huge text takes gigabytes
    max_tokens = 512
    add_special_tokens = False  # WordLlama embeds without <s>
    static = True

    def __init__(self, threads: int = 1, batch: int = 64) -> None:
        model = _load_model()
        super().__init__(model.tokenizer, threads=threads, batch=batch)
        self._table = model.embedding

    @staticmethod
    def load_tokenizer() -> Tokenizer:
        """The Llama-2 tokenizer l2_supercat ships in the wheel, read without the weights."""
        from tokenizers import Tokenizer

        return Tokenizer.from_file(str(_wheel() / "tokenizers" / TOKENIZER_FILE))

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Mean of the token vectors of one padded batch."""
        np.clip(ids, 0, len(self._table) - 1, out=ids)
        return mean_pool(self._table[ids], mask)
