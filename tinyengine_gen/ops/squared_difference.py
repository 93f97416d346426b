"""SQUARED_DIFFERENCE: int8 (x1 - x2)^2 with broadcasting, as TFLite Micro computes it.

TFLM (squared_difference.cc) rescales both inputs like ADD but with a left shift of 7 (two
multipliers below one, from input scale / twice the larger input scale, in double),
subtracts, squares in int32 and requantises with QuantizeMultiplier of
(2 * max scale)^2 / (2^14 * output scale); no fused activation.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinyengine_gen.fixedpoint import multiply_by_quantized_multiplier, requant_multiplier
from tinyengine_gen.ir import Graph, Operator
from tinyengine_gen.ops.base import OpChecker, register
from tinyengine_gen.ops.binary import BroadcastBinaryPlan, broadcast_kernel
from tinyengine_gen.ops.elementwise import CommonScaleFields, common_scale

__all__ = ["SquaredDifferencePlan", "plan_squared_difference"]

#: int8 inputs are shifted left by this many bits before rescaling (TFLM: 7 for int8).
LEFT_SHIFT = 7


@dataclasses.dataclass(frozen=True, eq=False)
class SquaredDifferencePlan(BroadcastBinaryPlan, CommonScaleFields):
    """The fields of :class:`CommonScaleFields`, in its order; the left shift is a constant."""

    kernel = broadcast_kernel("te_squared_difference_s8", "te_squared_difference")

    def combine(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        shifted1, shifted2 = (a + self.input1_offset) << LEFT_SHIFT, (b + self.input2_offset) << LEFT_SHIFT
        scaled1 = multiply_by_quantized_multiplier(shifted1, self.input1_multiplier, self.input1_shift)
        scaled2 = multiply_by_quantized_multiplier(shifted2, self.input2_multiplier, self.input2_shift)
        difference = scaled1 - scaled2
        square = difference * difference
        return multiply_by_quantized_multiplier(square, self.output_multiplier, self.output_shift) + self.output_offset

    def c_fields(self) -> dict[str, int]:
        return super().c_fields() | {"left_shift": LEFT_SHIFT}


@register("SQUARED_DIFFERENCE", inputs=2)
def plan_squared_difference(graph: Graph, op: Operator) -> SquaredDifferencePlan:
    check = OpChecker(graph, op)
    common = common_scale(check)
    shifted_output_scale = float(np.float32(1 << (2 * LEFT_SHIFT)) * np.float32(common.output_scale))
    mo, sho = requant_multiplier(common.twice_max_input_scale**2 / shifted_output_scale)
    return SquaredDifferencePlan(op_index=op.index, **common.plan_fields(), output_multiplier=mo, output_shift=sho)
