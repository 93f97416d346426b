"""A grouped CONV_2D becomes SPLIT -> one CONV_2D per group -> CONCATENATION (exact).

Keras ``Conv2D(groups=G)`` converts to one CONV_2D whose filter has ``C_in / G`` input
channels; TFLite Micro's reference kernel lets output channel ``o`` read only the input
channels of its group ``o // (C_out / G)``. Every output channel is requantised on its own
(its bias, its filter scale), so cutting the operator into G dense convolutions over the
G input slices, and joining their outputs, gives the same bytes: the split slices keep the
input's quantisation, each group's output the output's, and the concatenation copies.
The dense convolution kernels then run each group; the cost is the split copies of the
input (one extra input-sized buffer) and the joining copy.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinyengine_gen.ir import DType, Graph, Operator, Quantization
from tinyengine_gen.ops.concatenation import MAX_INPUTS
from tinyengine_gen.passes.base import graph_pass
from tinyengine_gen.passes.graph_edit import AppendedTensors

__all__ = ["SPLIT_GROUPED_CONV", "split_grouped_convolutions"]


def _groups(graph: Graph, op: Operator) -> int:
    if op.opcode != "CONV_2D" or len(op.inputs) < 2 or op.options.get("inputLayout") not in (None, "NHWC"):
        return 1
    x, w = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1])
    if len(x.shape) != 4 or len(w.shape) != 4 or w.data is None or not w.shape[3]:
        return 1
    groups, rest = divmod(x.shape[3], w.shape[3])
    if groups <= 1 or rest or w.shape[0] % groups or groups > MAX_INPUTS or x.dtype != DType.INT8:
        return 1
    return groups


def _slice_quant(quant: Quantization | None, start: int, stop: int) -> Quantization | None:
    if quant is None or not quant.per_channel:
        return quant
    return Quantization(quant.scales[start:stop], quant.zero_points[start:stop], quant.axis)


class _Builder(AppendedTensors):
    """Appends tensors and operators to a graph being rewritten."""

    def __init__(self, graph: Graph) -> None:
        super().__init__(graph)
        self.next_op = max((op.index for op in graph.operators), default=-1) + 1

    def op_index(self) -> int:
        self.next_op += 1
        return self.next_op - 1


def _split(graph: Graph, op: Operator, groups: int, build: _Builder) -> list[Operator]:
    x, w, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    bias = graph.tensor(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
    depth, per_group = w.shape[3], w.shape[0] // groups
    axis = build.add(f"{x.name}/group_axis", (), DType.INT32, data=np.array(3, np.int32))
    pieces = [build.add(f"{x.name}/group{g}", (*x.shape[:3], depth), x.dtype, x.quant) for g in range(groups)]
    results = [build.add(f"{y.name}/group{g}", (*y.shape[:3], per_group), y.dtype, y.quant) for g in range(groups)]
    ops = [Operator(build.op_index(), "SPLIT", (axis, x.index), tuple(pieces), {"numSplits": groups})]
    for g in range(groups):
        lo, hi = g * per_group, (g + 1) * per_group
        w_g = build.add(f"{w.name}/group{g}", (per_group, *w.shape[1:]), w.dtype, _slice_quant(w.quant, lo, hi), w.data[lo:hi])
        inputs = [pieces[g], w_g]
        if bias is not None:
            inputs.append(
                build.add(f"{bias.name}/group{g}", (per_group,), bias.dtype, _slice_quant(bias.quant, lo, hi), np.asarray(bias.data).reshape(-1)[lo:hi])
            )
        ops.append(Operator(build.op_index(), "CONV_2D", tuple(inputs), (results[g],), dict(op.options)))
    ops.append(Operator(build.op_index(), "CONCATENATION", tuple(results), op.outputs, {"axis": 3, "fusedActivationFunction": 0}))
    return ops


def split_grouped_convolutions(graph: Graph) -> Graph:
    grouped = {op.index: _groups(graph, op) for op in graph.operators}
    if all(g == 1 for g in grouped.values()):
        return graph
    build = _Builder(graph)
    operators: list[Operator] = []
    for op in graph.operators:
        bias = op.inputs[2] if len(op.inputs) > 2 else -1
        if grouped[op.index] > 1 and (bias < 0 or graph.tensor(bias).data is not None):
            operators.extend(_split(graph, op, grouped[op.index], build))
        else:
            operators.append(op)
    return dataclasses.replace(graph, tensors=tuple(build.tensors), operators=tuple(operators))


#: Always runs (exact); before PAD folding so each group's convolution can take the padding.
SPLIT_GROUPED_CONV = graph_pass("split_grouped_conv", lambda options: True, split_grouped_convolutions)
