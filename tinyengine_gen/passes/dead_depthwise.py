"""Channels a pruned depthwise layer zeroed leave the whole block (exact).

In an inverted-residual block, expand (CONV_2D) -> [PAD] -> DEPTHWISE_CONV_2D -> project
(1x1 CONV_2D), a depthwise channel c whose weights are all zero outputs one constant,
y_c = clamp(requantize(bias[c]) + zero point), whatever its input: so the expansion's channel
c is read by nothing that matters, and the projection adds the same (y_c - zero point) * w[o][c]
to every output pixel, which is a bias. mcunet_vww has 141 such channels in 8 blocks (4.7 % of
its MACs). The rewrite takes those channels out of all three layers:

    expand: its output channels c dropped (filter rows, bias, scales);
    depthwise: its channels c dropped;
    project: its input channels c dropped, bias[o] += sum over c of (y_c - zp) * w[o][c].

The same integer sums as before, term for term, so the same bytes (TFLite's int32
accumulator: the pass refuses a bias that would leave int32). Only for a 1x1 projection (a
KxK one would see the constant inside the image and the zero padding at its border) and only
where each tensor between the three layers is read by the next layer alone. Every tensor of
the block shrinks, so no arena grows.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinyengine_gen.errors import TinyEngineError
from tinyengine_gen.ir import DType, Graph, Operator, Quantization, Tensor
from tinyengine_gen.ops.base import plan_operator
from tinyengine_gen.options import CompileOptions
from tinyengine_gen.passes.base import Pass, Plans
from tinyengine_gen.passes.dead_channels import skip_malformed
from tinyengine_gen.passes.graph_edit import AppendedTensors

__all__ = ["DROP_DEAD_DEPTHWISE_CHANNELS", "drop_dead_depthwise_channels", "dead_depthwise_channels"]

_INT32 = (-(2**31), 2**31 - 1)


def dead_depthwise_channels(filter_data: np.ndarray) -> np.ndarray:
    """Channels (the last axis of a [1, k_h, k_w, C] filter) whose weights are all zero."""
    data = np.asarray(filter_data)
    return np.flatnonzero(~data.reshape(-1, data.shape[-1]).any(axis=0))


@dataclasses.dataclass(frozen=True)
class _Block:
    expand: Operator
    pad: Operator | None
    depthwise: Operator
    projects: tuple[Operator, ...]


def _sole_reader(graph: Graph, consumers: dict[int, list[int]], tensor: int) -> int | None:
    readers = consumers.get(tensor, [])
    return readers[0] if len(readers) == 1 and tensor not in graph.outputs else None


def _constant_int8_weights(graph: Graph, op: Operator) -> bool:
    w = graph.tensor(op.inputs[1])
    bias = op.inputs[2] if len(op.inputs) > 2 else -1
    return (
        w.data is not None
        and w.dtype == DType.INT8
        and w.stored_bits == 8
        and w.quant is not None
        and bias >= 0
        and graph.tensor(bias).data is not None
        and graph.tensor(bias).dtype == DType.INT32
        and graph.tensor(op.inputs[0]).dtype == DType.INT8
    )


def _block(graph: Graph, op: Operator, by_index: dict[int, Operator], producer: dict[int, Operator], consumers) -> _Block | None:
    if op.opcode != "DEPTHWISE_CONV_2D" or not _constant_int8_weights(graph, op):
        return None
    w = graph.tensor(op.inputs[1])
    if len(w.shape) != 4 or w.shape[3] != graph.tensor(op.inputs[0]).shape[3]:  # depth multiplier 1
        return None
    source = producer.get(op.inputs[0])
    pad = None
    if source is not None and source.opcode in ("PAD", "PADV2") and _sole_reader(graph, consumers, source.outputs[0]) == op.index:
        pad, source = source, producer.get(source.inputs[0])
        if pad.opcode == "PADV2" or not _channels_unpadded(graph, pad):
            return None
    if source is None or source.opcode != "CONV_2D" or not _constant_int8_weights(graph, source):
        return None
    if source.options.get("inputLayout") not in (None, "NHWC"):
        return None
    if _sole_reader(graph, consumers, source.outputs[0]) != (pad or op).index:
        return None
    readers = consumers.get(op.outputs[0], [])
    if not readers or op.outputs[0] in graph.outputs:
        return None
    projects = tuple(by_index[i] for i in readers)
    for project in projects:
        pw = graph.tensor(project.inputs[1]) if len(project.inputs) > 1 else None
        if (
            project.opcode != "CONV_2D"
            or project.inputs[0] != op.outputs[0]
            or pw is None
            or len(pw.shape) != 4
            or pw.shape[1:3] != (1, 1)
            or pw.shape[3] != w.shape[3]
            or project.options.get("inputLayout") not in (None, "NHWC")
            or not _constant_int8_weights(graph, project)
        ):
            return None
    return _Block(source, pad, op, projects)


def _channels_unpadded(graph: Graph, pad: Operator) -> bool:
    paddings = graph.tensor(pad.inputs[1]).data
    return paddings is not None and np.asarray(paddings).shape == (4, 2) and not np.asarray(paddings)[3].any()


def _without(quant: Quantization | None, keep: np.ndarray) -> Quantization | None:
    if quant is None or not quant.per_channel:
        return quant
    return Quantization(tuple(quant.scales[i] for i in keep), tuple(quant.zero_points[i] for i in keep), quant.axis)


class _Tensors(AppendedTensors):
    def constant(self, like: Tensor, data: np.ndarray, quant: Quantization | None) -> int:
        return self.add(f"{like.name}/live", data.shape, like.dtype, quant, data)

    def narrow(self, index: int, channels: int) -> None:
        """The activation ``index`` with ``channels`` on its last axis (same index, same quant)."""
        t = self.tensors[index]
        self.tensors[index] = dataclasses.replace(t, shape=(*t.shape[:-1], channels))


def _rewrite(graph: Graph, block: _Block, tensors: _Tensors) -> list[Operator] | None:
    dw = block.depthwise
    dead = dead_depthwise_channels(np.asarray(graph.tensor(dw.inputs[1]).data))
    channels = graph.tensor(dw.inputs[1]).shape[3]
    if not dead.size or dead.size == channels:
        return None
    try:
        plan = plan_operator(graph, dw)
    except TinyEngineError:
        return None
    x = graph.tensor(dw.inputs[0])
    y = graph.tensor(dw.outputs[0])
    constants = np.asarray(plan.reference({x.index: np.zeros(x.shape, np.int8)})[dw.outputs[0]])[0, 0, 0, dead].astype(np.int64)
    if y.quant is None:
        return None
    centred = constants - int(y.quant.zero_points[0])  # x + input_offset of the projection
    keep = np.setdiff1d(np.arange(channels), dead)
    new_ops: dict[int, Operator] = {}

    def narrowed(op: Operator, axis: int) -> Operator:
        w, b = graph.tensor(op.inputs[1]), graph.tensor(op.inputs[2])
        w_quant = _without(w.quant, keep) if axis == w.quant.axis else w.quant  # type: ignore[union-attr]
        w_index = tensors.constant(w, np.take(np.asarray(w.data), keep, axis=axis), w_quant)
        b_index = tensors.constant(b, np.asarray(b.data).reshape(-1)[keep], _without(b.quant, keep))
        return dataclasses.replace(op, inputs=(op.inputs[0], w_index, b_index, *op.inputs[3:]))

    new_ops[block.expand.index] = narrowed(block.expand, 0)
    new_ops[dw.index] = narrowed(dw, 3)
    for project in block.projects:
        w, b = graph.tensor(project.inputs[1]), graph.tensor(project.inputs[2])
        weights = np.asarray(w.data).reshape(w.shape[0], channels).astype(np.int64)
        bias = np.asarray(b.data).reshape(-1).astype(np.int64) + weights[:, dead] @ centred
        if bias.min() < _INT32[0] or bias.max() > _INT32[1]:
            return None
        w_index = tensors.constant(w, np.take(np.asarray(w.data), keep, axis=3), w.quant)
        b_index = tensors.constant(b, bias.astype(np.int32), b.quant)
        new_ops[project.index] = dataclasses.replace(project, inputs=(project.inputs[0], w_index, b_index, *project.inputs[3:]))
    for tensor in (block.expand.outputs[0], *((block.pad.outputs[0],) if block.pad else ()), dw.outputs[0]):
        tensors.narrow(tensor, keep.size)
    return [new_ops[i] for i in sorted(new_ops)]


def drop_dead_depthwise_channels(graph: Graph, options: CompileOptions | None = None) -> Graph:
    """``graph`` with the dead channels of every block the options allow (keyed by the
    depthwise layer's index) taken out."""
    options = options or CompileOptions()
    consumers = graph.consumers()
    by_index = {op.index: op for op in graph.operators}
    producer = {out: op for op in graph.operators for out in op.outputs}
    blocks = [
        b
        for op in graph.operators
        if options.allows_dead_channels(op.index) and (b := skip_malformed(_block, graph, op, by_index, producer, consumers)) is not None
    ]
    if not blocks:
        return graph
    tensors = _Tensors(graph)
    replaced: dict[int, Operator] = {}
    for block in blocks:
        touched = {block.expand.index, block.depthwise.index, *(p.index for p in block.projects)}
        if touched & replaced.keys():
            continue  # a layer in two blocks (a projection that is the next expansion): one at a time
        ops = skip_malformed(_rewrite, graph, block, tensors)
        if ops is not None:
            replaced.update({op.index: op for op in ops})
    if not replaced:
        return graph
    operators = tuple(replaced.get(op.index, op) for op in graph.operators)
    return dataclasses.replace(graph, tensors=tuple(tensors.tensors), operators=operators)


def _transform(graph: Graph, plans: Plans, options: CompileOptions) -> tuple[Graph, Plans]:
    return drop_dead_depthwise_channels(graph, options), plans


#: Runs with --drop_dead_channels (the default). Every tensor of a block shrinks, yet a
#: narrower layer may change what the in-place pass decides: the compiler keeps a block only
#: where the arena holds (compiler.py).
DROP_DEAD_DEPTHWISE_CHANNELS = Pass("drop_dead_depthwise_channels", lambda options: options.drop_dead_channels, _transform, "graph")
