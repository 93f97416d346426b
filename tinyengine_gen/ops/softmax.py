"""SOFTMAX: int8 -> int8 softmax over the last dimension, as TFLite Micro's reference kernel.

TFLite Micro (softmax_common.cc, reference_ops::Softmax) never uses floats at run time. At
prepare time it folds beta and the input scale into one multiplier for Q5.26 ("5 integer
bits": differences down to -32 after scaling) and a ``diff_min`` below which exp() is taken
as zero. Per row it then subtracts the row maximum, evaluates gemmlowp's
exp_on_negative_values, sums the exps in Q12.19, takes the reciprocal of the sum with
GetReciprocal, and scales each exp by it into the int8 output, whose quantisation TFLite
fixes at scale 1/256, zero point -128.

The exp depends only on the byte difference x - max (-255..0), so the planner evaluates it
once per difference with the numpy twin (:meth:`SoftmaxPlan.exp_table`, 256 int32 = 1 KB of
Flash) and the C kernel reads it; the sum, reciprocal and output scaling stay as TFLM does
them. :func:`softmax_reference` keeps the arithmetic unfolded.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np

from tinyengine_gen.fixedpoint import quantize_multiplier, rounding_divide_by_pot
from tinyengine_gen.ir import DType, Graph, Operator
from tinyengine_gen.ops.base import DataMovementPlan, EmitContext, OpChecker, register
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel
from tinyengine_gen.ops.gemmlowp import exp_on_negative_values, fixed_mul, get_reciprocal, wrap32

__all__ = ["SOFTMAX_KERNEL", "SoftmaxPlan", "plan_softmax", "softmax_input_scaling", "softmax_reference"]

#: Integer bits of the scaled input differences (FixedPoint<int32_t, 5>).
SCALED_DIFF_INTEGER_BITS = 5
#: Integer bits of the sum of exps (FixedPoint<int32_t, 12>).
ACCUMULATION_INTEGER_BITS = 12
_OUTPUT_SCALE = 1.0 / 256.0
_OUTPUT_ZERO_POINT = -128


#: the kernel the emitted call runs
SOFTMAX_KERNEL = Kernel("te_softmax_s8", ("te_softmax.c", "te_softmax.h", "te_gemmlowp.h", "te_fixedpoint.h"))


@dataclasses.dataclass(frozen=True, eq=False)
class SoftmaxPlan(DataMovementPlan, DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    outer_size: int  # rows: product of all dimensions but the last
    depth: int  # the last dimension, over which each softmax runs
    input_multiplier: int
    input_left_shift: int
    diff_min: int
    kernels = (SOFTMAX_KERNEL,)
    aliases: tuple[tuple[int, int], ...] = ()

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        return {self.outputs[0]: softmax_reference(values[self.inputs[0]], self)}

    def exp_table(self) -> np.ndarray:
        """exp of every difference -d (d = 0..255) as the kernel's int32 Q0.31 table; 0 below diff_min."""
        diff = -np.arange(256, dtype=np.int64)
        inside = diff >= self.diff_min
        rescaled = fixed_mul(wrap32(np.where(inside, diff, 0) << self.input_left_shift), self.input_multiplier)
        exps = exp_on_negative_values(rescaled, SCALED_DIFF_INTEGER_BITS)
        return np.where(inside, exps, 0).astype(np.int32)

    def emit(self, ctx: EmitContext) -> list[str]:
        table = ctx.const(f"op{self.op_index}_exp_table", self.exp_table())
        params = f".outer_size = {self.outer_size}, .depth = {self.depth}"
        return [
            "{",
            f"  static const te_softmax_params params = {{{params}}};",
            f"  {SOFTMAX_KERNEL.name}(&params, {table}, {ctx.tensor(self.inputs[0])}, {ctx.tensor(self.outputs[0])});",
            "}",
        ]


def softmax_input_scaling(beta: float, input_scale: float) -> tuple[int, int, int]:
    """(multiplier, left shift, diff_min) as PreprocessSoftmaxScaling and CalculateInputRadius give them.

    All in double precision from the float32 beta and scale, as TFLite does; the real
    multiplier is capped at 2^31 - 1 (a larger one only matters where the output is 0).
    """
    real_multiplier = min(beta * input_scale * float(1 << (31 - SCALED_DIFF_INTEGER_BITS)), float((1 << 31) - 1))
    multiplier, left_shift = quantize_multiplier(real_multiplier)
    # CalculateInputRadius: the most negative difference whose rescaled value still fits Q5.26.
    max_input_rescaled = 1.0 * ((1 << SCALED_DIFF_INTEGER_BITS) - 1) * float(1 << (31 - SCALED_DIFF_INTEGER_BITS))
    return multiplier, left_shift, -math.floor(max_input_rescaled / float(1 << left_shift))


@register("SOFTMAX")
def plan_softmax(graph: Graph, op: Operator) -> SoftmaxPlan:
    check = OpChecker(graph, op)
    x = check.required_input(0)
    y = check.output()
    check.dtype(x, DType.INT8)
    check.dtype(y, DType.INT8)
    if len(x.shape) < 1 or tuple(y.shape) != tuple(x.shape):
        raise check.unsupported(f"{y.describe()} must have the shape of {x.describe()} (rank 1 or more).")
    in_scale, _ = check.per_tensor_quant(x)
    out_scale, out_zp = check.per_tensor_quant(y)
    if np.float32(out_scale) != np.float32(_OUTPUT_SCALE) or out_zp != _OUTPUT_ZERO_POINT:
        raise check.quant_error(
            f"{y.describe()} has scale {out_scale} and zero point {out_zp}; int8 softmax needs scale 1/256 and "
            "zero point -128 (re-convert the model with the TFLite converter)."
        )
    beta = float(check.required_options("beta 0").get("beta", 0.0))
    if not (beta > 0 and math.isfinite(beta)):
        raise check.unsupported(f"beta {beta} is not supported; beta must be positive and finite.")
    if beta * in_scale * float(1 << (31 - SCALED_DIFF_INTEGER_BITS)) <= 1.0:
        raise check.quant_error(
            f"beta {beta} times the input scale {in_scale} is below 2^-26, so the logits span a degenerate range: "
            "most likely the layer before the softmax is untrained (near-zero weights) or the representative "
            "dataset makes every logit the same; TFLite Micro rejects such a softmax (train the model, or "
            "calibrate it with real inputs, then convert again)."
        )
    multiplier, left_shift, diff_min = softmax_input_scaling(beta, in_scale)
    depth = int(x.shape[-1])
    return SoftmaxPlan(
        op_index=op.index,
        inputs=(x.index,),
        outputs=(y.index,),
        outer_size=x.num_elements // depth if depth else 0,
        depth=depth,
        input_multiplier=multiplier,
        input_left_shift=left_shift,
        diff_min=diff_min,
    )


def softmax_reference(x: np.ndarray, plan: SoftmaxPlan) -> np.ndarray:
    """Pure-numpy twin of te_softmax_s8 (and of TFLite Micro's quantised reference Softmax)."""
    rows = np.asarray(x, dtype=np.int64).reshape(plan.outer_size, plan.depth)
    diff = rows - rows.max(axis=1, keepdims=True)
    inside = diff >= plan.diff_min
    # MultiplyByQuantizedMultiplierGreaterThanOne; diff * 2^shift fits int32 wherever it is used.
    rescaled = fixed_mul(wrap32(np.where(inside, diff, 0) << plan.input_left_shift), plan.input_multiplier)
    exps = exp_on_negative_values(rescaled, SCALED_DIFF_INTEGER_BITS)
    terms = rounding_divide_by_pot(exps, ACCUMULATION_INTEGER_BITS)  # Rescale<12> of a Q0.31 value
    sum_of_exps = wrap32(np.where(inside, terms, 0).sum(axis=1, keepdims=True))
    shifted_scale, num_bits_over_unit = get_reciprocal(sum_of_exps, ACCUMULATION_INTEGER_BITS)
    # TFLM aborts if this exceeds 31 (more than 2^28 / 2^19 = 512 exps near 1); the C kernel caps it.
    exponent = np.minimum(num_bits_over_unit + 31 - 8, 31)
    out = rounding_divide_by_pot(fixed_mul(shifted_scale, exps), exponent) + _OUTPUT_ZERO_POINT
    out = np.where(inside, np.clip(out, -128, 127), -128)
    return out.astype(np.int8).reshape(np.shape(x))
