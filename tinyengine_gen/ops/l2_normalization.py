"""L2_NORMALIZATION: int8 x / ||x|| over the last axis, as TFLite Micro computes it.

TFLM (l2norm.cc, reference_integer_ops::L2Normalization): per row, the int32 sum of
squares of (x - input zero point), its inverse square root as a multiplier and shift
(GetInvSqrtQuantizedMultiplierExp), and each output MultiplyByQuantizedMultiplier(x - zp,
multiplier, shift + 7) clamped to int8: the result is in steps of 1/128 with zero point 0,
whatever the output tensor says (the converter gives it exactly that quantisation).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from tinyengine_gen.fixedpoint import multiply_by_quantized_multiplier
from tinyengine_gen.ir import DType, Graph, Operator
from tinyengine_gen.ops.base import EmitContext, OpChecker, register
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel
from tinyengine_gen.ops.gemmlowp import inv_sqrt_multiplier_exp

__all__ = ["L2_NORMALIZATION_KERNEL", "L2NormalizationPlan", "l2_normalization_reference", "plan_l2_normalization"]

_OUTPUT_FRACTIONAL_BITS = 7
#: Rows longer than this could overflow the int32 sum of squares (255^2 per element).
MAX_DEPTH = (2**31 - 1) // (255 * 255)


#: the kernel the emitted call runs
L2_NORMALIZATION_KERNEL = Kernel(
    "te_l2_normalization_s8", ("te_l2_normalization.c", "te_l2_normalization.h", "te_gemmlowp.h", "te_fixedpoint.h")
)


@dataclasses.dataclass(frozen=True, eq=False)
class L2NormalizationPlan(DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    shape: tuple[int, ...]
    outer: int
    depth: int
    input_zero_point: int
    kernels = (L2_NORMALIZATION_KERNEL,)
    aliases: tuple[tuple[int, int], ...] = ()

    @property
    def macs(self) -> int:
        """One multiply-accumulate per element for the sum of squares."""
        return self.outer * self.depth

    @property
    def scratch_bytes(self) -> int:
        return 0

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        return {self.outputs[0]: l2_normalization_reference(values[self.inputs[0]], self)}

    def emit(self, ctx: EmitContext) -> list[str]:
        x, y = ctx.tensor(self.inputs[0]), ctx.tensor(self.outputs[0])
        return [f"{L2_NORMALIZATION_KERNEL.name}({self.outer}, {self.depth}, {self.input_zero_point}, {x}, {y});"]


@register("L2_NORMALIZATION")
def plan_l2_normalization(graph: Graph, op: Operator) -> L2NormalizationPlan:
    check = OpChecker(graph, op)
    x, y = check.required_input(0), check.output()
    check.dtype(x, DType.INT8)
    check.dtype(y, DType.INT8)
    check.rank(x, 1, 2, 3, 4)
    check.output_shape_matches(y, x.shape)
    if check.activation() != "NONE":
        raise check.unsupported("a fused activation is not supported (TFLite Micro refuses it).")
    _, zero_point = check.per_tensor_quant(x)
    depth = int(x.shape[-1])
    if not 0 < depth <= MAX_DEPTH:
        raise check.unsupported(f"rows of {depth} values are not supported (1 to {MAX_DEPTH}).")
    return L2NormalizationPlan(
        op_index=op.index,
        inputs=(x.index,),
        outputs=(y.index,),
        shape=tuple(x.shape),
        outer=x.num_elements // depth,
        depth=depth,
        input_zero_point=zero_point,
    )


def l2_normalization_reference(x: np.ndarray, plan: L2NormalizationPlan) -> np.ndarray:
    """Pure-numpy twin of te_l2_normalization_s8 (and of TFLM's reference_integer_ops::L2Normalization)."""
    rows = np.asarray(x, dtype=np.int64).reshape(plan.outer, plan.depth) - plan.input_zero_point
    out = np.empty_like(rows)
    for index, row in enumerate(rows):
        multiplier, shift = inv_sqrt_multiplier_exp(int((row * row).sum()))
        out[index] = multiply_by_quantized_multiplier(row, multiplier, shift + _OUTPUT_FRACTIONAL_BITS)
    return np.clip(out, -128, 127).astype(np.int8).reshape(plan.shape)
