"""TANH: int8, as TFLite Micro's reference_integer_ops::Tanh computes it.

Like LOGISTIC (:mod:`tinyengine_gen.ops.logistic`, whose input scaling it shares): inputs
at or beyond ``input_range_radius`` saturate to -128 / 127, the others are rescaled to
Q4.27 (multiplier from frexp of input_scale * 2^27), run through gemmlowp's fixed-point
tanh and rounded from Q0.31 to Q0.7. The output zero point is not added: TFLM writes
tanh * 128 whatever the output quantisation says, so the planner requires zero point 0
(the converter's scale is 1/128). A table (see :mod:`tinyengine_gen.ops.lookup_table`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinyengine_gen.fixedpoint import multiply_by_quantized_multiplier, rounding_divide_by_pot
from tinyengine_gen.ir import Graph, Operator
from tinyengine_gen.ops.base import OpChecker, register
from tinyengine_gen.ops.gemmlowp import tanh
from tinyengine_gen.ops.logistic import INPUT_INTEGER_BITS, logistic_input_scaling
from tinyengine_gen.ops.lookup_table import LookupTablePlan, plan_lookup_table, unary_tensors

__all__ = ["TanhParams", "plan_tanh", "tanh_transform"]

_OUTPUT_FRACTIONAL_BITS = 7


@dataclasses.dataclass(frozen=True)
class TanhParams:
    input_zero_point: int
    input_range_radius: int
    input_multiplier: int
    input_left_shift: int


def tanh_transform(x: np.ndarray, p: TanhParams) -> np.ndarray:
    """Numpy twin of TFLM's reference_integer_ops::Tanh (int8)."""
    centred = x - p.input_zero_point
    inside = np.abs(centred) < p.input_range_radius
    input_in_q4 = multiply_by_quantized_multiplier(np.where(inside, centred, 0), p.input_multiplier, p.input_left_shift)
    output_in_q0 = tanh(input_in_q4, INPUT_INTEGER_BITS)
    out = np.clip(rounding_divide_by_pot(output_in_q0, 31 - _OUTPUT_FRACTIONAL_BITS), -128, 127)
    return np.where(centred <= -p.input_range_radius, -128, np.where(centred >= p.input_range_radius, 127, out))


@register("TANH")
def plan_tanh(graph: Graph, op: Operator) -> LookupTablePlan:
    check = OpChecker(graph, op)
    x, y = unary_tensors(check)
    in_scale, in_zp = check.per_tensor_quant(x)
    _, out_zp = check.per_tensor_quant(y)
    if out_zp != 0:
        raise check.quant_error(
            f"{y.describe()} has zero point {out_zp}; int8 tanh needs zero point 0 (and scale 1/128)."
        )
    multiplier, left_shift, radius = logistic_input_scaling(in_scale)
    if left_shift < 0 or multiplier >= 1 << 31:
        raise check.quant_error(
            f"{x.describe()} has scale {in_scale}; int8 tanh supports input scales from 2^-28 upwards."
        )
    params = TanhParams(in_zp, radius, multiplier, left_shift)
    return plan_lookup_table(graph, op, "tanh", tanh_transform, params)
