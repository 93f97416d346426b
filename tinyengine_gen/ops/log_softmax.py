"""LOG_SOFTMAX: int8 log-softmax over the last axis, as TFLite Micro computes it.

TFLM (log_softmax.cc, reference_ops::LogSoftmaxQuantized) ignores beta (uses 1) and fixes
the output at scale 16/256, zero point 127. Per row: the largest byte; each difference
d = x - max (in [-255, 0]) at or above ``diff_min`` is rescaled to Q5.26 and its
exp_on_negative_values accumulated in Q12.19; the sum's log (gemmlowp rational
approximation, Q5.26) gives an adjusted threshold, and each output is
(d_q5 - log_sum) rounded to Q4 steps plus 127, or -128 below the threshold.

The exp of a difference is a function of the difference alone, so the planner tabulates
it (256 int32, Q12.19, 0 below ``diff_min``) with the numpy twin; the kernel sums table
entries, takes the log (te_gl_log_x_ge_1) and writes the row.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np

from tinyengine_gen.fixedpoint import multiply_by_quantized_multiplier, quantize_multiplier, rounding_divide_by_pot
from tinyengine_gen.ir import DType, Graph, Operator
from tinyengine_gen.ops.base import DataMovementPlan, EmitContext, OpChecker, plan_property, register
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel
from tinyengine_gen.ops.gemmlowp import exp_on_negative_values, log_x_for_x_greater_than_or_equal_to_1, wrap32

__all__ = ["LOG_SOFTMAX_KERNEL", "LogSoftmaxPlan", "log_softmax_reference", "plan_log_softmax"]

_INPUT_BITS = 5  # Q5.26 scaled differences
_ACCUM_BITS = 12  # Q12.19 sum of exps
_OUTPUT_BITS = 4
_OUTPUT_SCALE = np.float32(16.0 / 256)
_OUTPUT_ZERO_POINT = 127
_INT32_MIN = -(1 << 31)


#: the kernel the emitted call runs
LOG_SOFTMAX_KERNEL = Kernel("te_log_softmax_s8", ("te_log_softmax.c", "te_log_softmax.h", "te_gemmlowp.h", "te_fixedpoint.h"))


@dataclasses.dataclass(frozen=True, eq=False)
class LogSoftmaxPlan(DataMovementPlan, DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    shape: tuple[int, ...]
    outer: int
    depth: int
    input_multiplier: int
    input_left_shift: int
    reverse_scaling_divisor: int
    reverse_scaling_shift: int  # <= 0: the shift MultiplyByQuantizedMultiplier is given
    diff_min: int
    kernels = (LOG_SOFTMAX_KERNEL,)
    aliases: tuple[tuple[int, int], ...] = ()

    @plan_property
    def exp_table(self) -> np.ndarray:
        """exp of each difference -k (index k in 0..255) in Q12.19, 0 below diff_min: TFLM's per-element term."""
        diff = -np.arange(256, dtype=np.int64)
        q5 = multiply_by_quantized_multiplier(diff, self.input_multiplier, self.input_left_shift)
        term = rounding_divide_by_pot(exp_on_negative_values(q5, _INPUT_BITS), _ACCUM_BITS)
        return np.where(diff >= self.diff_min, term, 0).astype(np.int32)

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        return {self.outputs[0]: log_softmax_reference(values[self.inputs[0]], self)}

    def emit(self, ctx: EmitContext) -> list[str]:
        table = ctx.const(f"op{self.op_index}_log_softmax_exp_table", self.exp_table)
        params = (
            f".outer = {self.outer}, .depth = {self.depth}, .input_multiplier = {self.input_multiplier}, "
            f".input_left_shift = {self.input_left_shift}, .reverse_scaling_divisor = {self.reverse_scaling_divisor}, "
            f".reverse_scaling_shift = {self.reverse_scaling_shift}, .diff_min = {self.diff_min}"
        )
        x, y = ctx.tensor(self.inputs[0]), ctx.tensor(self.outputs[0])
        return [
            "{",
            f"  static const te_log_softmax_params params = {{{params}}};",
            f"  {LOG_SOFTMAX_KERNEL.name}(&params, {table}, {x}, {y});",
            "}",
        ]


def log_softmax_scaling(input_scale: float) -> tuple[int, int, int, int, int]:
    """PreprocessLogSoftmaxScalingExp with beta 1 and CalculateInputRadius, as TFLM's prepare calls them."""
    real = min(float(np.float32(input_scale)) * float(1 << (31 - _INPUT_BITS)), float((1 << 31) - 1))
    multiplier, left_shift = quantize_multiplier(real)
    reverse, reverse_shift = quantize_multiplier((1 << (31 - left_shift)) / float(multiplier))
    radius = math.floor(1.0 * ((1 << _INPUT_BITS) - 1) * float(1 << (31 - _INPUT_BITS)) / float(1 << left_shift))
    return multiplier, left_shift, reverse, reverse_shift, -radius


@register("LOG_SOFTMAX")
def plan_log_softmax(graph: Graph, op: Operator) -> LogSoftmaxPlan:
    check = OpChecker(graph, op)
    x, y = check.required_input(0), check.output()
    check.dtype(x, DType.INT8)
    check.dtype(y, DType.INT8)
    check.output_shape_matches(y, x.shape)
    if not x.shape or x.num_elements == 0:
        raise check.unsupported(f"{x.describe()} must have at least one dimension and one element.")
    in_scale, _ = check.per_tensor_quant(x)
    out_scale, out_zp = check.per_tensor_quant(y)
    if np.float32(out_scale) != _OUTPUT_SCALE or out_zp != _OUTPUT_ZERO_POINT:
        raise check.quant_error(
            f"{y.describe()} has scale {out_scale} and zero point {out_zp}; int8 LOG_SOFTMAX needs 16/256 and 127."
        )
    multiplier, left_shift, reverse, reverse_shift, diff_min = log_softmax_scaling(in_scale)
    if not (left_shift >= 1 and reverse_shift <= 0 and 0 < reverse):
        raise check.quant_error(
            f"{x.describe()} has scale {in_scale}; TFLite Micro's int8 LOG_SOFTMAX cannot scale it."
        )
    depth = int(x.shape[-1])
    return LogSoftmaxPlan(
        op_index=op.index,
        inputs=(x.index,),
        outputs=(y.index,),
        shape=tuple(x.shape),
        outer=x.num_elements // depth,
        depth=depth,
        input_multiplier=multiplier,
        input_left_shift=left_shift,
        reverse_scaling_divisor=reverse,
        reverse_scaling_shift=reverse_shift,
        diff_min=diff_min,
    )


def log_softmax_reference(x: np.ndarray, plan: LogSoftmaxPlan) -> np.ndarray:
    """Pure-numpy twin of te_log_softmax_s8 (and of TFLM's reference LogSoftmaxQuantized for int8)."""
    rows = np.asarray(x, dtype=np.int64).reshape(plan.outer, plan.depth)
    diff = rows - rows.max(axis=1, keepdims=True)
    sums = wrap32(plan.exp_table[-diff].astype(np.int64).sum(axis=1))
    log_sum = log_x_for_x_greater_than_or_equal_to_1(sums, _ACCUM_BITS, _INPUT_BITS)
    threshold = multiply_by_quantized_multiplier(
        wrap32(log_sum + _INT32_MIN), plan.reverse_scaling_divisor, plan.reverse_scaling_shift
    )
    adjusted = np.maximum(plan.diff_min - 1, threshold)[:, None]
    q5 = multiply_by_quantized_multiplier(diff, plan.input_multiplier, plan.input_left_shift)
    value = rounding_divide_by_pot(wrap32(q5 - log_sum[:, None]), 31 - _INPUT_BITS - _OUTPUT_BITS) + _OUTPUT_ZERO_POINT
    out = np.where(diff > adjusted, np.clip(value, -128, 127), -128)
    return out.astype(np.int8).reshape(plan.shape)
