"""PRELU: int8 x >= 0 ? x : alpha * x with a broadcast alpha, as TFLite Micro computes it.

TFLM (prelu_common.cc, reference_ops::BroadcastPrelu4DSlow) requantises the two branches
with their own multipliers (QuantizeMultiplier, in double): input scale / output scale
where the input is at or above its zero point, input scale * alpha scale / output scale
for the product (x - zp) * (alpha - alpha zp) below it. Alpha is usually a constant of
shape [C] or [1, 1, C] broadcast over the input; TFLM reads its scale per tensor.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinyengine_gen.fixedpoint import multiply_by_quantized_multiplier, requant_multiplier
from tinyengine_gen.ir import Graph, Operator
from tinyengine_gen.ops.base import OpChecker, register
from tinyengine_gen.ops.binary import BroadcastBinaryPlan, broadcast_kernel
from tinyengine_gen.ops.elementwise import check_binary, quantized_binary

__all__ = ["PreluPlan", "plan_prelu"]


@dataclasses.dataclass(frozen=True, eq=False)
class PreluPlan(BroadcastBinaryPlan):
    input_offset: int
    alpha_offset: int
    output_offset: int
    output_multiplier_1: int
    output_shift_1: int
    output_multiplier_2: int
    output_shift_2: int

    kernel = broadcast_kernel("te_prelu_s8", "te_prelu")

    def combine(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        x = a + self.input_offset
        identity = multiply_by_quantized_multiplier(x, self.output_multiplier_1, self.output_shift_1)
        product = x * (b + self.alpha_offset)
        scaled = multiply_by_quantized_multiplier(product, self.output_multiplier_2, self.output_shift_2)
        return np.where(x >= 0, identity, scaled) + self.output_offset


@register("PRELU", inputs=2)
def plan_prelu(graph: Graph, op: Operator) -> PreluPlan:
    check = OpChecker(graph, op)
    x, alpha, y = check_binary(check)
    if tuple(y.shape) != tuple(x.shape):
        raise check.unsupported(
            f"{y.describe()} must have the shape of the input {x.describe()} (alpha broadcasts to it)."
        )
    quant = quantized_binary(check, x, alpha, y)
    f_in, f_alpha, f_out = quant.scales
    m1, sh1 = requant_multiplier(f_in / f_out)
    m2, sh2 = requant_multiplier(f_in * f_alpha / f_out)
    return PreluPlan(
        **quant.plan_fields("input_offset", "alpha_offset"),
        output_multiplier_1=m1,
        output_shift_1=sh1,
        output_multiplier_2=m2,
        output_shift_2=sh2,
    )
