"""RELU and RELU6 as standalone int8 operators (when the converter could not fuse them).

TFLite Micro's two kernels differ. RELU (CalculateReluOpData, ReluQuantized) requantises:
``zp_out + MultiplyByQuantizedMultiplier(x - zp_in)`` with the multiplier of the float32
ratio input scale / output scale, clamped below at the output zero point. RELU6
(Relu6Prepare, Relu6Quantized) does not: it clamps the input bytes to [zero point,
quantised 6.0] of the *input* quantisation, whatever the output's says. Both are tables
(see :mod:`tinyengine_gen.ops.lookup_table`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinyengine_gen.fixedpoint import multiply_by_quantized_multiplier, requant_multiplier, round_half_away
from tinyengine_gen.ir import Graph, Operator
from tinyengine_gen.ops.base import OpChecker, register
from tinyengine_gen.ops.lookup_table import LookupTablePlan, plan_lookup_table, unary_tensors

__all__ = ["ReluParams", "Relu6Params", "plan_relu", "plan_relu6", "relu6_transform", "relu_transform"]


@dataclasses.dataclass(frozen=True)
class ReluParams:
    input_zero_point: int
    output_zero_point: int
    multiplier: int
    shift: int
    act_min: int


@dataclasses.dataclass(frozen=True)
class Relu6Params:
    zero: int
    six: int


def relu_transform(x: np.ndarray, p: ReluParams) -> np.ndarray:
    """Numpy twin of TFLM's ReluQuantized for int8."""
    out = p.output_zero_point + multiply_by_quantized_multiplier(x - p.input_zero_point, p.multiplier, p.shift)
    return np.clip(out, p.act_min, 127)


def relu6_transform(x: np.ndarray, p: Relu6Params) -> np.ndarray:
    """Numpy twin of TFLM's Relu6Quantized: a clamp of the raw bytes."""
    return np.clip(x, p.zero, p.six)


@register("RELU")
def plan_relu(graph: Graph, op: Operator) -> LookupTablePlan:
    check = OpChecker(graph, op)
    x, y = unary_tensors(check)
    in_scale, in_zp = check.per_tensor_quant(x)
    out_scale, out_zp = check.per_tensor_quant(y)
    multiplier, shift = requant_multiplier(float(np.float32(in_scale) / np.float32(out_scale)))
    params = ReluParams(in_zp, out_zp, multiplier, shift, act_min=max(-128, out_zp))
    return plan_lookup_table(graph, op, "relu", relu_transform, params)


@register("RELU6")
def plan_relu6(graph: Graph, op: Operator) -> LookupTablePlan:
    check = OpChecker(graph, op)
    x, _ = unary_tensors(check)
    in_scale, in_zp = check.per_tensor_quant(x)
    six = round_half_away(float(np.float32(6.0) / np.float32(in_scale))) + in_zp
    params = Relu6Params(zero=in_zp, six=min(127, max(-128, six)))
    return plan_lookup_table(graph, op, "relu6", relu6_transform, params)
