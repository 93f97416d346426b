"""MUL: int8 element-wise multiplication with numpy-style broadcasting.

MUL matches TFLite Micro's reference ``MulElementwise``: the int32 product of the two
offset inputs is requantised with one multiplier s1 * s2 / s_out (QuantizeMultiplier, in
double from the float32 scales), offset and clamped to the fused activation. It is one of
the broadcasting binary operators (:class:`~tinyengine_gen.ops.binary.BroadcastBinaryPlan`):
the planner folds broadcasting into a loop nest and ``te_mul_s8`` is a row function
driven by ``te_bcast_run``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinyengine_gen.fixedpoint import multiply_by_quantized_multiplier, requant_multiplier
from tinyengine_gen.ir import Graph, Operator
from tinyengine_gen.ops.base import OpChecker, register
from tinyengine_gen.ops.binary import BroadcastBinaryPlan, broadcast_kernel
from tinyengine_gen.ops.elementwise import broadcast_pair, check_binary, quantized_binary

__all__ = ["MulPlan", "mul_reference", "plan_mul"]


@dataclasses.dataclass(frozen=True, eq=False)
class MulPlan(BroadcastBinaryPlan):
    input1_offset: int
    input2_offset: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int

    kernel = broadcast_kernel("te_mul_s8", "te_mul")

    def combine(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        product = (a + self.input1_offset) * (b + self.input2_offset)
        raw = multiply_by_quantized_multiplier(product, self.output_multiplier, self.output_shift)
        return np.clip(raw + self.output_offset, self.act_min, self.act_max)


@register("MUL", inputs=2)
def plan_mul(graph: Graph, op: Operator) -> MulPlan:
    check = OpChecker(graph, op)
    x1, x2, y = check_binary(check)
    quant = quantized_binary(check, x1, x2, y)
    s1, s2, so = quant.scales
    multiplier, shift = requant_multiplier(s1 * s2 / so)
    act_min, act_max = check.activation_bounds(y)
    return MulPlan(
        **quant.plan_fields("input1_offset", "input2_offset"),
        output_multiplier=multiplier,
        output_shift=shift,
        act_min=act_min,
        act_max=act_max,
    )


def mul_reference(x1: np.ndarray, x2: np.ndarray, plan: MulPlan) -> np.ndarray:
    """Pure-numpy twin of te_mul_s8 (and of TFLite Micro's reference MulElementwise)."""
    a, b = broadcast_pair(x1, x2, plan.output_shape)
    return plan.combine(a, b).astype(np.int8).reshape(plan.output_shape)
