"""TANH: int8, as TFLite Micro's reference_integer_ops::Tanh computes it.

Like LOGISTIC (:mod:`tinyengine_gen.ops.logistic`, whose input scaling it shares): inputs
at or beyond ``input_range_radius`` saturate to -128 / 127, the others are rescaled to
Q4.27 (multiplier from frexp of input_scale * 2^27), run through gemmlowp's fixed-point
tanh and rounded from Q0.31 to Q0.7. The output zero point is not added: TFLM writes
tanh * 128 whatever the output quantisation says, so the planner requires zero point 0
(the converter's scale is 1/128). A table (see :mod:`tinyengine_gen.ops.lookup_table`).
"""

from __future__ import annotations

import numpy as np

from tinyengine_gen.fixedpoint import rounding_divide_by_pot
from tinyengine_gen.ir import Graph, Operator
from tinyengine_gen.ops.base import OpChecker, register
from tinyengine_gen.ops.gemmlowp import tanh
from tinyengine_gen.ops.logistic import INPUT_INTEGER_BITS, Q4InputScaling, q4_input_scaling
from tinyengine_gen.ops.lookup_table import LookupTablePlan, plan_lookup_table, unary_tensors

__all__ = ["TanhParams", "plan_tanh", "tanh_transform"]

_OUTPUT_FRACTIONAL_BITS = 7

#: TANH's parameters are LOGISTIC's Q4.27 input scaling
TanhParams = Q4InputScaling


def tanh_transform(x: np.ndarray, p: Q4InputScaling) -> np.ndarray:
    """Numpy twin of TFLM's reference_integer_ops::Tanh (int8)."""
    centred, input_in_q4 = p.rescaled(x)
    output_in_q0 = tanh(input_in_q4, INPUT_INTEGER_BITS)
    out = np.clip(rounding_divide_by_pot(output_in_q0, 31 - _OUTPUT_FRACTIONAL_BITS), -128, 127)
    return p.saturate(centred, out)


@register("TANH")
def plan_tanh(graph: Graph, op: Operator) -> LookupTablePlan:
    check = OpChecker(graph, op)
    x, y = unary_tensors(check)
    _, out_zp = check.per_tensor_quant(y)
    if out_zp != 0:
        raise check.quant_error(
            f"{y.describe()} has zero point {out_zp}; int8 tanh needs zero point 0 (and scale 1/128)."
        )
    return plan_lookup_table(graph, op, "tanh", tanh_transform, q4_input_scaling(check, x, "tanh"))
