"""A CONV_2D whose filter has all-zero output channels computes only the others (exact).

Pruned models (MLPerf Tiny's Visual Wake Words MobileNet has 971 of its 2,738 convolution
channels zeroed, most of them in its last layers) spend most of their late MACs multiplying
by zero. An output channel c whose weights are all zero has the accumulator bias[c] whatever
the input (TFLite's acc = bias + sum((x + input_offset) * w) and a padded tap adds nothing
either), so its output is one constant, y_c = clamp(requantize(bias[c]) + output_zero_point).
The rewrite:

    CONV_2D(C channels)  ->  CONV_2D(live channels + one channel per distinct y_c)
                             -> GATHER(axis 3, index of each original channel)

The narrow convolution keeps the live channels' weights, bias and scales as they are and
adds, for each distinct constant, one zero-weight channel whose scale and bias are chosen so
that its requantisation is the fast one (a right shift) and gives exactly that constant:
the original dead channels' scales are often extreme (shifts of 0 or 31, the scale of a
weight that is not there), which alone would put the whole layer on the general
requantisation path. The GATHER copies each live channel from its position and each dead one
from its constant's channel. Same bytes, proven twice: by construction, and by the pass
itself, which runs both forms' numpy references on a random input and keeps the original
wherever they differ.

Only where it pays: the MACs no longer done per pixel, (dead - constants) * k_h * k_w * C_in,
must be at least eight per output channel (the GATHER costs a few instructions per output
byte), and the convolution's output must not feed an ADD (residual fusion would be lost).
The compiler keeps the rewrite only where the arena's peak does not grow (the GATHER needs
the narrow output and the full one live at once); see :mod:`tinyengine_gen.compiler`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinyengine_gen.errors import TinyEngineError
from tinyengine_gen.fixedpoint import multiply_by_quantized_multiplier
from tinyengine_gen.ir import DType, Graph, Operator, Quantization
from tinyengine_gen.ops.base import per_channel_requant, plan_operator
from tinyengine_gen.options import CompileOptions
from tinyengine_gen.passes.base import Pass, Plans
from tinyengine_gen.passes.graph_edit import AppendedTensors

__all__ = ["DROP_DEAD_CHANNELS", "MIN_MACS_SAVED_PER_CHANNEL", "drop_dead_channels", "dead_output_channels", "skip_malformed"]

#: MACs per pixel the rewrite must save for each output channel the GATHER copies
MIN_MACS_SAVED_PER_CHANNEL = 8


def dead_output_channels(filter_data: np.ndarray) -> np.ndarray:
    """Indices of the output channels (axis 0) whose weights are all zero."""
    rows = np.asarray(filter_data).reshape(filter_data.shape[0], -1)
    return np.flatnonzero(~rows.any(axis=1))


def _candidate(graph: Graph, op: Operator, consumers: dict[int, list[int]], opcode_of: dict[int, str]) -> bool:
    if op.opcode != "CONV_2D" or len(op.inputs) < 2 or op.options.get("inputLayout") not in (None, "NHWC"):
        return False
    x, w, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    bias = op.inputs[2] if len(op.inputs) > 2 else -1
    if w.data is None or w.stored_bits != 8 or w.dtype != DType.INT8 or x.dtype != DType.INT8 or w.quant is None:
        return False
    if bias >= 0 and (graph.tensor(bias).data is None or graph.tensor(bias).dtype != DType.INT32):
        return False
    if len(w.shape) != 4 or len(y.shape) != 4 or x.shape[3] != w.shape[3]:  # grouped: split_grouped_conv's
        return False
    if any(opcode_of[i] == "ADD" for i in consumers.get(y.index, [])):
        return False
    return dead_output_channels(w.data).size > 0


def _dense_outputs(graph: Graph, op: Operator) -> np.ndarray | None:
    """The operator's own numpy reference on a random input (seeded by its index): where the
    dead channels' constants are read (any input gives them) and what the rewrite must match."""
    try:
        plan = plan_operator(graph, op)
    except TinyEngineError:
        return None  # the planner will say why, on the graph as given
    return np.asarray(plan.reference({op.inputs[0]: _sample(graph, op)})[op.outputs[0]])


def _sample(graph: Graph, op: Operator) -> np.ndarray:
    shape = graph.tensor(op.inputs[0]).shape
    return np.random.default_rng(op.index).integers(-128, 128, size=shape, dtype=np.int8)


def _stand_in(input_scale: float, output_scale: float, target: int) -> tuple[float, int] | None:
    """A filter scale (an effective scale near 1/4: multiplier 2^30, a right shift of 1 or 2)
    and a bias whose requantisation is ``target`` (the output minus its zero point)."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # a malformed scale: refused below
        scale = float(np.float32(0.25 * output_scale / input_scale))
    if not (np.isfinite(scale) and scale > 0):
        return None
    multiplier, shift = per_channel_requant(input_scale, [scale], output_scale, 1)
    for bias in (4 * target, *(4 * target + d for d in (-2, -1, 1, 2, -4, 4))):
        if int(multiply_by_quantized_multiplier(bias, int(multiplier[0]), int(shift[0]))) == target:
            return scale, bias
    return None


def _rewrite(graph: Graph, op: Operator, tensors: AppendedTensors, next_op: int) -> list[Operator] | None:
    x, w, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    channels = w.shape[0]
    dead = dead_output_channels(np.asarray(w.data))
    expected = _dense_outputs(graph, op)
    if expected is None or x.quant is None or y.quant is None or w.quant is None:
        return None
    constants = expected[0, 0, 0, dead].astype(np.int64)
    distinct = sorted(set(constants.tolist()))
    input_scale, output_scale, zero_point = x.quant.scales[0], y.quant.scales[0], y.quant.zero_points[0]
    stand_ins = {value: _stand_in(input_scale, output_scale, value - zero_point) for value in distinct}
    if any(s is None for s in stand_ins.values()):
        return None
    scales = np.asarray(w.quant.scales if w.quant.per_channel else w.quant.scales * channels, np.float32)
    bias_values = (
        np.asarray(graph.tensor(op.inputs[2]).data, np.int64).reshape(-1)
        if len(op.inputs) > 2 and op.inputs[2] >= 0
        else np.zeros(channels, np.int64)
    )
    depth = int(np.prod(w.shape[1:]))
    if (dead.size - len(distinct)) * depth >= MIN_MACS_SAVED_PER_CHANNEL * channels:
        kept = np.setdiff1d(np.arange(channels), dead)  # the live channels, then one per constant
        extra = [stand_ins[value] for value in distinct]
    else:  # every channel stays; the dead ones only take their stand-in's scale and bias
        kept, extra = np.arange(channels), []
    narrow_scales = scales[kept].astype(np.float64)
    narrow_bias = bias_values[kept].copy()
    if not extra:
        for channel, value in zip(dead, constants):
            narrow_scales[channel], narrow_bias[channel] = stand_ins[int(value)]  # type: ignore[misc]
    narrow_scales = np.concatenate([narrow_scales, [s[0] for s in extra if s is not None]])
    narrow_bias = np.concatenate([narrow_bias, [s[1] for s in extra if s is not None]]).astype(np.int32)
    narrow = narrow_scales.size
    filter_data = np.zeros((narrow, *w.shape[1:]), np.int8)
    filter_data[: kept.size] = np.asarray(w.data)[kept]
    per_channel = Quantization(tuple(float(np.float32(s)) for s in narrow_scales), (0,) * narrow, 0)
    bias_quant = Quantization(tuple(float(np.float32(input_scale) * np.float32(s)) for s in narrow_scales), (0,) * narrow, 0)
    w_index = tensors.add(f"{w.name}/live", filter_data.shape, DType.INT8, per_channel, filter_data)
    b_index = tensors.add(f"{y.name}/live_bias", (narrow,), DType.INT32, bias_quant, narrow_bias)
    if not extra:
        conv = Operator(op.index, "CONV_2D", (x.index, w_index, b_index), op.outputs, dict(op.options))
        return [conv] if _same_outputs(graph, op, expected, tensors, conv, None) else None
    t_index = tensors.add(f"{y.name}/live", (*y.shape[:3], narrow), y.dtype, y.quant)
    source = np.empty(channels, np.int32)
    source[kept] = np.arange(kept.size)
    for channel, value in zip(dead, constants):
        source[channel] = kept.size + distinct.index(int(value))
    i_index = tensors.add(f"{y.name}/channel_source", (channels,), DType.INT32, None, source)
    conv = Operator(op.index, "CONV_2D", (x.index, w_index, b_index), (t_index,), dict(op.options))
    gather = Operator(next_op, "GATHER", (t_index, i_index), op.outputs, {"axis": 3, "batchDims": 0})
    return [conv, gather] if _same_outputs(graph, op, expected, tensors, conv, gather) else None


def _same_outputs(
    graph: Graph, op: Operator, expected: np.ndarray, tensors: AppendedTensors, conv: Operator, gather: Operator | None
) -> bool:
    """The rewritten form's numpy references give ``expected`` (the dense operator's, on the
    same random input): the proof by construction, checked."""
    trial = graph.replace(tensors=tuple(tensors.tensors))
    try:
        got = plan_operator(trial, conv).reference({op.inputs[0]: _sample(graph, op)})[conv.outputs[0]]
        if gather is not None:
            indices = np.asarray(trial.tensor(gather.inputs[1]).data)
            got = plan_operator(trial, gather).reference({conv.outputs[0]: got, gather.inputs[1]: indices})[op.outputs[0]]
    except TinyEngineError:
        return False
    return bool(np.array_equal(expected, np.asarray(got)))


def skip_malformed(step, *args):
    """``step(*args)``, or None where the operator is malformed (shapes that do not match its
    opcode): the rewrite leaves it alone and its planner names the problem in one line."""
    try:
        return step(*args)
    except (IndexError, ValueError, TypeError, KeyError):
        return None


def drop_dead_channels(graph: Graph, options: CompileOptions | None = None) -> Graph:
    """``graph`` with every CONV_2D the options allow rewritten where it has dead channels."""
    options = options or CompileOptions()
    consumers = graph.consumers()
    opcode_of = {op.index: op.opcode for op in graph.operators}
    candidates = [
        op for op in graph.operators if options.allows_dead_channels(op.index) and skip_malformed(_candidate, graph, op, consumers, opcode_of)
    ]
    if not candidates:
        return graph
    tensors = AppendedTensors(graph)
    next_op = max(op.index for op in graph.operators) + 1
    rewritten: dict[int, list[Operator]] = {}
    for op in candidates:
        ops = skip_malformed(_rewrite, graph, op, tensors, next_op)
        if ops:
            rewritten[op.index] = ops
            next_op += len(ops) - 1
    if not rewritten:
        return graph
    operators = [new for op in graph.operators for new in rewritten.get(op.index, [op])]
    return dataclasses.replace(graph, tensors=tuple(tensors.tensors), operators=tuple(operators))


def _transform(graph: Graph, plans: Plans, options: CompileOptions) -> tuple[Graph, Plans]:
    return drop_dead_channels(graph, options), plans


#: Runs unless the options turn it off (the compiler keeps a layer's rewrite only where the
#: arena holds).
DROP_DEAD_CHANNELS = Pass("drop_dead_channels", lambda options: options.drop_dead_channels, _transform, "graph")
