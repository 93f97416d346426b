"""LOGISTIC: int8 sigmoid, as TFLite Micro's reference integer kernel computes it.

Current TFLite Micro (logistic_common.cc, reference_integer_ops::Logistic) does not use a
lookup table for int8: inputs at or beyond ``input_range_radius`` saturate to -128 / 127,
the others are rescaled to Q4.27 with a multiplier taken straight from frexp of
``input_scale * 2^27`` (TfLiteRound, no QuantizeMultiplier), run through gemmlowp's
logistic, and rounded from Q0.31 to the int8 output. TFLM only checks that the output zero
point is -128; the kernel writes 1/256 steps whatever the output scale says.

That output is a function of the input byte alone, so LOGISTIC is one more client of the
unary lookup table (:mod:`tinyengine_gen.ops.lookup_table`): the planner runs
:func:`logistic_transform` on all 256 int8 values and ``te_lut_s8`` looks each input up in
that table (256 bytes of Flash; exact by construction, and tested on every input value
against TFLM). TANH (:mod:`tinyengine_gen.ops.tanh`) shares the input scaling.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from tinyengine_gen.fixedpoint import multiply_by_quantized_multiplier, round_half_away, rounding_divide_by_pot
from tinyengine_gen.ir import Graph, Operator, Tensor
from tinyengine_gen.ops.base import OpChecker, register
from tinyengine_gen.ops.gemmlowp import logistic
from tinyengine_gen.ops.lookup_table import LookupTablePlan, plan_lookup_table, unary_tensors

__all__ = [
    "Q4InputScaling",
    "logistic_input_scaling",
    "logistic_reference",
    "logistic_transform",
    "plan_logistic",
    "q4_input_scaling",
]

#: Integer bits of the rescaled input (FixedPoint<int32_t, 4>): inputs in [-16, 16).
INPUT_INTEGER_BITS = 4
_OUTPUT_ZERO_POINT = -128


@dataclasses.dataclass(frozen=True)
class Q4InputScaling:
    """How LOGISTIC and TANH bring an int8 input to Q4.27 (TFLM's OpData for both)."""

    input_zero_point: int
    input_range_radius: int
    input_multiplier: int
    input_left_shift: int

    def rescaled(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(input minus its zero point, that value in Q4.27 where it lies inside the radius, else 0)."""
        centred = np.asarray(x, dtype=np.int64) - self.input_zero_point
        inside = np.abs(centred) < self.input_range_radius
        q4 = multiply_by_quantized_multiplier(np.where(inside, centred, 0), self.input_multiplier, self.input_left_shift)
        return centred, q4

    def saturate(self, centred: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``out``, with -128 / 127 at or beyond the radius below / above the zero point."""
        radius = self.input_range_radius
        return np.where(centred <= -radius, -128, np.where(centred >= radius, 127, out))


def logistic_input_scaling(input_scale: float) -> tuple[int, int, int]:
    """(multiplier, left shift, range radius) as CalculateArithmeticOpDataLogistic computes them for int8."""
    significand, left_shift = math.frexp(input_scale * float(1 << (31 - INPUT_INTEGER_BITS)))
    multiplier = round_half_away(significand * float(1 << 31))
    # CalculateInputRadius: the largest |input| whose rescaled value still fits Q4.27.
    radius = math.floor(
        1.0 * ((1 << INPUT_INTEGER_BITS) - 1) * float(1 << (31 - INPUT_INTEGER_BITS)) / math.ldexp(1.0, left_shift)
    )
    return multiplier, left_shift, radius


def q4_input_scaling(check: OpChecker, x: Tensor, what: str) -> Q4InputScaling:
    """The Q4.27 scaling of ``x`` for the int8 ``what`` (logistic, tanh), or a one-line error
    for an input scale below 2^-28, which TFLM's shift cannot represent."""
    in_scale, in_zp = check.per_tensor_quant(x)
    multiplier, left_shift, radius = logistic_input_scaling(in_scale)
    if left_shift < 0 or multiplier >= 1 << 31:
        raise check.quant_error(
            f"{x.describe()} has scale {in_scale}; int8 {what} supports input scales from 2^-28 upwards."
        )
    return Q4InputScaling(in_zp, radius, multiplier, left_shift)


def logistic_transform(x: np.ndarray, p: Q4InputScaling) -> np.ndarray:
    """Numpy twin of TFLite Micro's reference_integer_ops::Logistic (int8)."""
    centred, input_in_q4 = p.rescaled(x)
    output_in_q0 = logistic(input_in_q4, INPUT_INTEGER_BITS)
    out = np.clip(rounding_divide_by_pot(output_in_q0, 31 - 8) + _OUTPUT_ZERO_POINT, -128, 127)
    return p.saturate(centred, out)


def logistic_reference(x: np.ndarray, plan: LookupTablePlan) -> np.ndarray:
    """int8 logistic of ``x`` under ``plan`` (the transform itself, not the table)."""
    return plan.apply(x)


@register("LOGISTIC")
def plan_logistic(graph: Graph, op: Operator) -> LookupTablePlan:
    check = OpChecker(graph, op)
    x, y = unary_tensors(check)
    _, out_zp = check.per_tensor_quant(y)
    if out_zp != _OUTPUT_ZERO_POINT:
        raise check.quant_error(
            f"{y.describe()} has zero point {out_zp}; int8 logistic needs zero point -128 (and scale 1/256)."
        )
    return plan_lookup_table(graph, op, "logistic", logistic_transform, q4_input_scaling(check, x, "logistic"))
