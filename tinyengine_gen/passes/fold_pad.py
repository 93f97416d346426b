"""Fold an explicit PAD into the convolution that consumes it (exact).

An explicit PAD (or PADV2 with the zero point as pad value) feeding a convolution or
depthwise convolution becomes that layer's own padding. The padded tensor then never
exists. Exact because a tap on a pad value contributes (zero_point + input_offset) * w = 0,
which is what skipping the tap contributes.
"""

from __future__ import annotations

import numpy as np

from tinyengine_gen.frontend.schema import schema
from tinyengine_gen.ir import DType, Graph, Operator
from tinyengine_gen.passes.graph_edit import replace_operator, with_operators_replaced
from tinyengine_gen.options import CompileOptions
from tinyengine_gen.passes.base import graph_pass

__all__ = ["FOLD_PAD", "fold_pad", "PAD_CONSUMERS"]

#: Operators whose planners accept ``options["explicitPadding"] = (top, bottom, left, right)``.
PAD_CONSUMERS = ("CONV_2D", "DEPTHWISE_CONV_2D")


def _foldable_pad(graph: Graph, pad: Operator) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) if ``pad`` pads only H and W of a 4-D tensor with its zero point."""
    if pad.opcode not in ("PAD", "PADV2") or len(pad.inputs) < 2:
        return None
    source, paddings_tensor, result = graph.tensor(pad.inputs[0]), graph.tensor(pad.inputs[1]), graph.tensor(pad.outputs[0])
    if paddings_tensor.data is None or len(source.shape) != 4 or source.dtype != DType.INT8:
        return None
    if source.quant is None or result.quant is None or source.quant != result.quant:
        return None
    paddings = np.asarray(paddings_tensor.data).reshape(-1, 2)
    if paddings.shape != (4, 2) or paddings[0].any() or paddings[3].any() or (paddings < 0).any():
        return None
    if pad.opcode == "PADV2" and len(pad.inputs) > 2 and pad.inputs[2] >= 0:
        value = graph.tensor(pad.inputs[2]).data
        if value is None or int(np.asarray(value).reshape(-1)[0]) != result.quant.zero_point:
            return None
    return int(paddings[1, 0]), int(paddings[1, 1]), int(paddings[2, 0]), int(paddings[2, 1])


def fold_pad(graph: Graph) -> Graph:
    if not any(op.opcode in ("PAD", "PADV2") for op in graph.operators):
        return graph  # nothing to fold; the NAS cost model compiles thousands of PAD-free graphs
    consumers = graph.consumers()
    producers = {out: op for op in graph.operators for out in op.outputs}
    removed: set[int] = set()
    replaced: dict[int, Operator] = {}
    for op in graph.operators:
        if op.opcode not in PAD_CONSUMERS or "explicitPadding" in op.options:
            continue
        if int(op.options.get("padding", -1)) != schema.Padding.VALID:
            continue  # the layer pads by itself too; keep the PAD rather than combine the two
        pad = producers.get(op.inputs[0])
        if pad is None or consumers.get(pad.outputs[0]) != [op.index] or pad.outputs[0] in graph.outputs:
            continue
        amounts = _foldable_pad(graph, pad)
        if amounts is None:
            continue
        options = dict(op.options)
        options["explicitPadding"] = amounts
        replaced[op.index] = replace_operator(op, inputs=(pad.inputs[0],) + op.inputs[1:], options=options)
        removed.add(pad.index)
    return with_operators_replaced(graph, replaced, removed)


def _asked(options: CompileOptions) -> bool:
    return options.fold_pad


FOLD_PAD = graph_pass("fold_pad", _asked, fold_pad)
