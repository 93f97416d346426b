"""FULLY_CONNECTED: int8 matrix-vector product with per-tensor or per-channel weights.

Matches TFLite Micro's reference ``FullyConnected`` (per-tensor weights) and
``FullyConnectedPerChannel`` (per-channel weights, chosen when the filter has more than one
scale). The input of any rank is read as [batches, depth] with depth the filter's last
dimension and batches = elements / depth; ``keep_num_dims`` only changes the output shape.

Two TFLite Micro details matter for bit-exactness:

* The multiplier is input_scale * filter_scale / output_scale evaluated in double from the
  float32 scales, per tensor as well as per channel. (The per-tensor helper in TFLite's
  kernel_util.cc reads as if the product were rounded to float32 first; the TFLM package we
  compare against agrees with the double product instead, which a test pins down.)
* The per-tensor kernel applies the filter zero point (weights_offset) while the
  per-channel kernel ignores it; per-channel filters must therefore be symmetric here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from tinyengine_gen.fixedpoint import multiply_by_quantized_multiplier, shift_table
from tinyengine_gen.ir import DType, Graph, Operator, Tensor
from tinyengine_gen.ops.base import (
    EmitContext,
    OpChecker,
    bias_vector,
    filter_scale_list,
    per_channel_requant,
    register,
)
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel

__all__ = [
    "FULLY_CONNECTED_KERNEL",
    "BIAS_SCALE_TOLERANCE",
    "FullyConnectedPlan",
    "fold_bias",
    "fully_connected_reference",
    "plan_fully_connected",
]

#: TFLite rejects a per-tensor layer whose bias scale differs from input * filter scale by
#: more than this fraction of the output scale.
BIAS_SCALE_TOLERANCE = 0.02


#: the kernel the emitted call runs
FULLY_CONNECTED_KERNEL = Kernel(
    "te_fully_connected_s8",
    ("te_fully_connected.c", "te_fully_connected.h", "arm/te_fully_connected_dsp.h", "te_fixedpoint.h"),
)


@dataclasses.dataclass(frozen=True, eq=False)
class FullyConnectedPlan(DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    batches: int
    output_shape: tuple[int, ...]
    filter: np.ndarray  # [out_c, depth] int8
    bias: np.ndarray  # [out_c] int32 (zeros when the model has none)
    folded_bias: np.ndarray  # [out_c] int32: bias + input_offset * sum(filter + weights_offset), mod 2^32
    per_channel: bool
    input_offset: int
    weights_offset: int
    output_offset: int
    multipliers: np.ndarray  # [out_c] when per channel, else [1]
    shifts: np.ndarray
    act_min: int
    act_max: int
    kernels = (FULLY_CONNECTED_KERNEL,)
    aliases: tuple[tuple[int, int], ...] = ()

    @property
    def macs(self) -> int:
        return self.batches * self.filter.shape[0] * self.filter.shape[1]

    @property
    def scratch_bytes(self) -> int:
        """None: the kernel widens the int8 input in registers (its peak is input + output)."""
        return 0

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        return {self.outputs[0]: fully_connected_reference(values[self.inputs[0]], self)}

    def emit(self, ctx: EmitContext) -> list[str]:
        out_c, depth = self.filter.shape
        filter_symbol = ctx.const(f"op{self.op_index}_filter", self.filter)
        bias_symbol = ctx.const(f"op{self.op_index}_folded_bias", self.folded_bias)
        mult_symbol = ctx.const(f"op{self.op_index}_multiplier", self.multipliers)
        shift_symbol = ctx.const(f"op{self.op_index}_shift", shift_table(self.shifts))
        params = (
            f".batches = {self.batches}, .depth = {depth}, .out_c = {out_c}, .per_channel = {int(self.per_channel)}, "
            f".weights_offset = {self.weights_offset}, .output_offset = {self.output_offset}, "
            f".act_min = {self.act_min}, .act_max = {self.act_max}"
        )
        return [
            "{",
            f"  static const te_fully_connected_params params = {{{params}}};",
            (
                f"  {FULLY_CONNECTED_KERNEL.name}(&params, {ctx.tensor(self.inputs[0])}, {filter_symbol}, {bias_symbol}, "
                f"{mult_symbol}, {shift_symbol}, {ctx.tensor(self.outputs[0])});"
            ),
            "}",
        ]


@register("FULLY_CONNECTED", inputs=2)
def plan_fully_connected(graph: Graph, op: Operator) -> FullyConnectedPlan:
    check = OpChecker(graph, op)
    x = check.required_input(0)
    w = check.required_input(1)
    b = check.input(2, optional=True)
    y = check.output()
    for tensor in (x, w, y):
        check.dtype(tensor, DType.INT8)
    check.rank(w, 2)
    weights_format = int(op.options.get("weightsFormat", 0) or 0)
    if weights_format != 0:
        raise check.unsupported(f"weights format {weights_format} is not supported (only DEFAULT).")
    weights = check.constant(w, "filter")
    in_scale, in_zp = check.per_tensor_quant(x)
    out_scale, out_zp = check.per_tensor_quant(y)
    out_c, depth = w.shape
    batches = _batches(check, x, y, depth, out_c)
    bias = bias_vector(check, b, out_c)
    per_channel = w.quant is not None and w.quant.per_channel
    if per_channel:
        filter_scales = filter_scale_list(check, w, out_c, channel_axis=0)
        multipliers, shifts = per_channel_requant(in_scale, filter_scales, out_scale, out_c)
        weights_zp = 0
    else:
        filter_scale, weights_zp = _per_tensor_filter_quant(check, w)
        _check_bias_scale(check, b, in_scale, filter_scale, out_scale)
        multipliers, shifts = per_channel_requant(in_scale, (filter_scale,), out_scale, 1)
    act_min, act_max = check.activation_bounds(y)
    filter_array = np.ascontiguousarray(weights, dtype=np.int8)
    return FullyConnectedPlan(
        op_index=op.index,
        inputs=(x.index,),
        outputs=(y.index,),
        batches=batches,
        output_shape=tuple(y.shape),
        filter=filter_array,
        bias=bias,
        folded_bias=fold_bias(bias, filter_array, -in_zp, -weights_zp),
        per_channel=per_channel,
        input_offset=-in_zp,
        weights_offset=-weights_zp,
        output_offset=out_zp,
        multipliers=multipliers,
        shifts=shifts,
        act_min=act_min,
        act_max=act_max,
    )


def _batches(check: OpChecker, x: Tensor, y: Tensor, depth: int, out_c: int) -> int:
    """Rows of the flattened input, as TFLite Micro derives them (elements / filter depth)."""
    if depth < 1 or x.num_elements % depth != 0:
        raise check.unsupported(
            f"{x.describe()} has {x.num_elements} elements, not a multiple of the filter depth {depth}."
        )
    batches = x.num_elements // depth
    if not y.shape or y.shape[-1] != out_c or y.num_elements != batches * out_c:
        raise check.unsupported(
            f"{y.describe()} should hold {batches} rows of {out_c} outputs (input flattened to [{batches}, {depth}])."
        )
    return batches


def _per_tensor_filter_quant(check: OpChecker, w: Tensor) -> tuple[float, int]:
    """(scale, zero point) of per-tensor weights; TFLite's per-tensor kernel honours the zero point."""
    q = w.quant
    if q is None:
        raise check.quant_error(f"{w.describe()} (filter) has no quantisation parameters.")
    scale, zero_point = q.scale, q.zero_point
    if not (scale > 0 and np.isfinite(scale)):
        raise check.quant_error(f"{w.describe()} has scale {scale}; scales must be positive and finite.")
    if not -128 <= zero_point <= 127:
        raise check.quant_error(f"{w.describe()} has zero point {zero_point} outside int8.")
    return scale, zero_point


def _check_bias_scale(
    check: OpChecker, b: Tensor | None, in_scale: float, filter_scale: float, out_scale: float
) -> None:
    """TFLite refuses a per-tensor layer whose bias scale is not input scale * filter scale."""
    if b is None or b.quant is None:
        return
    product = float(np.float32(in_scale)) * float(np.float32(filter_scale))
    if abs(product - float(np.float32(b.quant.scale))) / float(np.float32(out_scale)) > BIAS_SCALE_TOLERANCE:
        raise check.quant_error(
            f"{b.describe()} (bias) has scale {b.quant.scale}, but input scale * filter scale is {product}; "
            "re-quantise the model so that the bias scale matches."
        )


def fold_bias(bias: np.ndarray, weights: np.ndarray, input_offset: int, weights_offset: int) -> np.ndarray:
    """bias + input_offset * sum_d (w + weights_offset), wrapped to int32 like the C accumulator."""
    row_sums = weights.astype(np.int64).sum(axis=1) + weights_offset * weights.shape[1]
    folded = bias.astype(np.int64) + input_offset * row_sums
    return (((folded + 2**31) % 2**32) - 2**31).astype(np.int32)


def fully_connected_reference(x: np.ndarray, plan: FullyConnectedPlan) -> np.ndarray:
    """Pure-numpy twin of TFLite Micro's FullyConnected / FullyConnectedPerChannel (unfolded form)."""
    depth = plan.filter.shape[1]
    rows = x.reshape(plan.batches, depth).astype(np.int64) + plan.input_offset
    weights = plan.filter.astype(np.int64) + plan.weights_offset
    acc = rows @ weights.T + plan.bias.astype(np.int64)
    acc = ((acc + 2**31) % 2**32) - 2**31  # int32 accumulator wrap-around, as in C
    out = multiply_by_quantized_multiplier(acc, plan.multipliers, plan.shifts) + plan.output_offset
    return np.clip(out, plan.act_min, plan.act_max).astype(np.int8).reshape(plan.output_shape)
