"""all-MiniLM-L6-v2-int8: its graph, made from the shipped weights and cached, and its vectors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from ingest_tasks.core.errors import ModelMismatch
from ingest_tasks.core.models import check_model
from ingest_tasks.core.settings import get_settings
from ingest_tasks.pipeline.embed import embedder_class, get_embedder, quantize
from ingest_tasks.pipeline.embed.minilm import MiniLMInt8, MiniLMOnnx, shipped_model
from ingest_tasks.state.alias import collection_name
from ingest_tasks.store.memory import MemoryStore

INT8, FP32 = "all-MiniLM-L6-v2-int8", "all-MiniLM-L6-v2"
TEXTS = [
    "Ingest pipelines split documents into windows, then embed them.",
    "A man is playing a guitar on the steps of the old library.",
    "The stock market fell sharply today after the central bank raised rates.",
    "Chroma stores the vectors; Redis keeps the registry of which document is at which version. "
    * 6,
    "北京欢迎你 and 上海 too.",
]


@pytest.fixture(scope="module")
def made() -> Path:
    """The suite's model cache folder (conftest), holding the int8 graph made once."""
    get_embedder(INT8)
    return get_settings().model_cache_dir


@pytest.fixture
def cache(made, tmp_path) -> Path:
    """A cache folder of this test's own with a copy of the made graph."""
    for path in made.iterdir():
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def _graph(cache: Path) -> Path:
    return quantize.quantized_path(shipped_model(), cache)


def _refuse(*args, **kwargs):
    raise AssertionError("the int8 graph was made again")


def test_a_model_of_its_own_name_with_the_same_shape():
    fp32, int8 = embedder_class(FP32), embedder_class(INT8)
    assert int8 is not fp32 and int8.name == INT8 != fp32.name
    assert (int8.dim, int8.max_tokens) == (fp32.dim, fp32.max_tokens)
    assert check_model(INT8) == INT8


def test_vectors_near_the_float32_ones(cache):
    int8 = MiniLMInt8(cache_dir=cache).embed(TEXTS)
    fp32 = get_embedder(FP32).embed(TEXTS)
    cosines = (int8 * fp32).sum(axis=1)
    assert cosines.mean() >= 0.98, cosines
    assert cosines.min() >= 0.95, cosines
    assert not np.allclose(int8, fp32, atol=1e-4)  # int8 compute, not the float32 graph again


def test_only_the_weight_matmuls_are_int8_with_the_shipped_weights(cache):
    graph = onnx.load(str(_graph(cache))).graph
    ops = [node.op_type for node in graph.node]
    assert ops.count("MatMulInteger") == 36  # Q, K, V, output, 2 feed-forward x 6 layers
    assert ops.count("MatMul") == 12  # attention scores and context stay float32
    shipped = {init.name: numpy_helper.to_array(init)
               for init in onnx.load(str(shipped_model())).graph.initializer}
    made = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    requantized = [name for name in made if name.endswith("_folded_quantized")]
    assert len(requantized) == 36
    for name in requantized:  # per channel, symmetric: the shipped int8 values come back
        np.testing.assert_array_equal(made[name], shipped[name.removesuffix("_folded_quantized")])


def test_made_once_then_reused(cache, monkeypatch):
    path = _graph(cache)
    stamp = path.stat().st_mtime_ns
    monkeypatch.setattr(quantize, "make_quantized", _refuse)
    MiniLMInt8(cache_dir=cache).embed(TEXTS[:1])
    assert path.stat().st_mtime_ns == stamp
    assert [p.name for p in cache.iterdir()] == [path.name]  # no temporary file left


@pytest.mark.parametrize("damage", ["truncated", "empty"])
def test_a_damaged_file_is_made_again(cache, damage):
    path = _graph(cache)
    expected = MiniLMInt8(cache_dir=cache).embed(TEXTS[:2])
    data = path.read_bytes()
    path.write_bytes({"truncated": data[: len(data) // 2], "empty": b""}[damage])
    again = MiniLMInt8(cache_dir=cache)
    assert path.stat().st_size == len(data)
    np.testing.assert_allclose(again.embed(TEXTS[:2]), expected, atol=1e-6)


def test_a_new_runtime_or_recipe_names_a_new_file(cache, monkeypatch):
    import onnxruntime

    path = _graph(cache)
    monkeypatch.setattr(onnxruntime, "__version__", "0.0.1")
    assert _graph(cache) != path
    monkeypatch.undo()
    monkeypatch.setattr(quantize, "RECIPE", "other")
    assert _graph(cache) != path


def test_a_failed_make_leaves_no_file(tmp_path, monkeypatch):
    import onnxruntime.quantization

    def broken(model, output, **kwargs):
        Path(output).write_bytes(b"half a graph")
        raise RuntimeError("quantizer failed")

    monkeypatch.setattr(onnxruntime.quantization, "quantize_dynamic", broken)
    with pytest.raises(RuntimeError, match="quantizer failed"):
        MiniLMInt8(cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_float32_model_is_unchanged():
    """all-MiniLM-L6-v2 names float32 vectors that collections already hold."""
    assert type(get_embedder(FP32)) is MiniLMOnnx


def test_the_variants_never_share_a_collection():
    assert collection_name("ingest", INT8) != collection_name("ingest", FP32)
    store = MemoryStore()
    store.ensure(collection_name("ingest", FP32), FP32, 384)
    with pytest.raises(ModelMismatch, match=INT8):
        store.ensure(collection_name("ingest", FP32), INT8, 384)
