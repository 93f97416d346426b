"""LEAKY_RELU: int8, as TFLite Micro's reference QuantizeLeakyRelu computes it.

Two multipliers from QuantizeMultiplier: the identity one (input scale / output scale) for
inputs at or above the zero point, and the alpha one (input scale * alpha / output scale,
each step in float32 as CalculateOpDataLeakyRelu does) below it; a negative alpha is
applied as a positive multiplier and a negated product. A table (see
:mod:`tinyengine_gen.ops.lookup_table`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinyengine_gen.fixedpoint import multiply_by_quantized_multiplier, requant_multiplier
from tinyengine_gen.ir import Graph, Operator
from tinyengine_gen.ops.base import OpChecker, register
from tinyengine_gen.ops.lookup_table import LookupTablePlan, plan_lookup_table, unary_tensors

__all__ = ["LeakyReluParams", "leaky_relu_transform", "plan_leaky_relu"]


@dataclasses.dataclass(frozen=True)
class LeakyReluParams:
    input_zero_point: int
    output_zero_point: int
    identity_multiplier: int
    identity_shift: int
    alpha_multiplier: int
    alpha_shift: int


def leaky_relu_transform(x: np.ndarray, p: LeakyReluParams) -> np.ndarray:
    """Numpy twin of TFLM's QuantizeLeakyRelu for int8."""
    centred = x - p.input_zero_point
    identity = multiply_by_quantized_multiplier(centred, p.identity_multiplier, p.identity_shift)
    scaled = multiply_by_quantized_multiplier(centred, abs(p.alpha_multiplier), p.alpha_shift)
    alpha = -scaled if p.alpha_multiplier < 0 else scaled
    return np.clip(p.output_zero_point + np.where(centred >= 0, identity, alpha), -128, 127)


@register("LEAKY_RELU")
def plan_leaky_relu(graph: Graph, op: Operator) -> LookupTablePlan:
    check = OpChecker(graph, op)
    x, y = unary_tensors(check)
    in_scale, in_zp = check.per_tensor_quant(x)
    out_scale, out_zp = check.per_tensor_quant(y)
    alpha = np.float32(op.options.get("alpha", 0.0) or 0.0)
    s_in, s_out = np.float32(in_scale), np.float32(out_scale)
    alpha_m, alpha_s = requant_multiplier(float((s_in * alpha) / s_out))
    identity_m, identity_s = requant_multiplier(float(s_in / s_out))
    params = LeakyReluParams(in_zp, out_zp, identity_m, identity_s, alpha_m, alpha_s)
    return plan_lookup_table(graph, op, "leaky_relu", leaky_relu_transform, params)
