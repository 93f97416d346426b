"""Fold the converter's dilated-convolution pattern into one dilated convolution (exact).

The TFLite converter lowers a Keras convolution with ``dilation_rate > 1`` to
``SPACE_TO_BATCH_ND -> CONV_2D / DEPTHWISE_CONV_2D (VALID, stride 1) -> BATCH_TO_SPACE_ND``:
the padded input is cut into ``d_h x d_w`` phase images, each convolved densely, and the
results interleaved back and cropped. That is, value for value, a convolution with
dilation ``(d_h, d_w)`` over the same padded input, cropped; and cropping ``c`` rows off
an edge is the same as padding ``c`` rows less on that edge. So the three operators
become one convolution with dilation, explicit padding ``paddings - crops``, reading the
SPACE_TO_BATCH input and writing the BATCH_TO_SPACE output. The phase images and the
interleaved copy never exist.

The padded values take part in the sums as the input zero point (the tap contributes
``(zero_point + input_offset) * w = 0``), as the convolution's own padding does.
"""

from __future__ import annotations

import numpy as np

from tinyengine_gen.frontend.schema import schema
from tinyengine_gen.ir import DType, Graph, Operator
from tinyengine_gen.passes.base import graph_pass
from tinyengine_gen.passes.graph_edit import replace_operator

__all__ = ["FOLD_DILATED", "fold_dilated_convolutions"]

_CONVOLUTIONS = ("CONV_2D", "DEPTHWISE_CONV_2D")


def _constant(graph: Graph, op: Operator, position: int) -> np.ndarray | None:
    if position >= len(op.inputs) or op.inputs[position] < 0:
        return None
    data = graph.tensor(op.inputs[position]).data
    return None if data is None else np.asarray(data).astype(np.int64)


def _folded(graph: Graph, s2b: Operator, conv: Operator, b2s: Operator) -> Operator | None:
    """The dilated convolution that replaces the three, or None if they do not match the pattern."""
    block, paddings = _constant(graph, s2b, 1), _constant(graph, s2b, 2)
    block_back, crops = _constant(graph, b2s, 1), _constant(graph, b2s, 2)
    if block is None or paddings is None or block_back is None or crops is None:
        return None
    if block.shape != (2,) or not np.array_equal(block, block_back) or (block < 1).any():
        return None
    paddings, crops = paddings.reshape(-1, 2), crops.reshape(-1, 2)
    if paddings.shape != (2, 2) or crops.shape != (2, 2) or (crops > paddings).any() or (crops < 0).any():
        return None
    source, phases = graph.tensor(s2b.inputs[0]), graph.tensor(s2b.outputs[0])
    if len(source.shape) != 4 or source.shape[0] != 1 or source.dtype != DType.INT8 or source.quant != phases.quant:
        return None
    options = conv.options
    if conv.inputs[0] != s2b.outputs[0] or int(options.get("padding", -1)) != schema.Padding.VALID:
        return None
    if "explicitPadding" in options or any(int(options.get(k, 1) or 1) != 1 for k in _UNIT_OPTIONS):
        return None
    top, bottom = (int(v) for v in paddings[0] - crops[0])
    left, right = (int(v) for v in paddings[1] - crops[1])
    new_options = dict(options, dilationHFactor=int(block[0]), dilationWFactor=int(block[1]))
    new_options["explicitPadding"] = (top, bottom, left, right)
    return replace_operator(conv, inputs=(s2b.inputs[0],) + conv.inputs[1:], outputs=b2s.outputs, options=new_options)


_UNIT_OPTIONS = ("strideH", "strideW", "dilationHFactor", "dilationWFactor")


def fold_dilated_convolutions(graph: Graph) -> Graph:
    if not any(op.opcode == "SPACE_TO_BATCH_ND" for op in graph.operators):
        return graph
    consumers = graph.consumers()
    by_index = {op.index: op for op in graph.operators}
    removed: set[int] = set()
    replaced: dict[int, Operator] = {}
    for s2b in graph.operators:
        if s2b.opcode != "SPACE_TO_BATCH_ND" or s2b.outputs[0] in graph.outputs:
            continue
        readers = consumers.get(s2b.outputs[0], [])
        if len(readers) != 1 or by_index[readers[0]].opcode not in _CONVOLUTIONS:
            continue
        conv = by_index[readers[0]]
        after = consumers.get(conv.outputs[0], [])
        if conv.outputs[0] in graph.outputs or len(after) != 1 or by_index[after[0]].opcode != "BATCH_TO_SPACE_ND":
            continue
        b2s = by_index[after[0]]
        folded = _folded(graph, s2b, conv, b2s)
        if folded is None:
            continue
        replaced[conv.index] = folded
        removed.update((s2b.index, b2s.index))
    if not removed:
        return graph
    operators = tuple(replaced.get(op.index, op) for op in graph.operators if op.index not in removed)
    return graph.replace(operators=operators)


#: Always runs (exact), after constant folding and before PAD folding.
FOLD_DILATED = graph_pass("fold_dilated", lambda options: True, fold_dilated_convolutions)
