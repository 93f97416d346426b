"""REDUCE_MAX: int8 maximum over axes, as TFLite Micro's EvalMax computes it.

TFLM (reduce_common.cc, EvalMinMaxHelper over reference ReduceGeneric) takes the largest
raw byte, with no requantisation, and refuses an int8 model whose input and output scale
or zero point differ; so does the planner. The reduction is canonicalised like MEAN's to
``[K0, R1, K1, R2, K2]`` (:func:`tinyengine_gen.ops.mean.canonical_reduce_dims`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from tinyengine_gen.ir import DType, Graph, Operator
from tinyengine_gen.ops.base import EmitContext, OpChecker, register
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel
from tinyengine_gen.ops.mean import MAX_RANK, canonical_reduce_dims, resolve_axes

__all__ = ["REDUCE_MAX_KERNEL", "ReduceMaxPlan", "plan_reduce_max"]


#: the kernel the emitted call runs
REDUCE_MAX_KERNEL = Kernel("te_reduce_max_s8", ("te_reduce_max.c", "te_reduce_max.h"))


@dataclasses.dataclass(frozen=True, eq=False)
class ReduceMaxPlan(DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    output_shape: tuple[int, ...]
    axes: tuple[int, ...]
    dims: tuple[int, int, int, int, int]  # [K0, R1, K1, R2, K2]
    input_elements: int
    kernels = (REDUCE_MAX_KERNEL,)
    aliases: tuple[tuple[int, int], ...] = ()

    @property
    def macs(self) -> int:
        """One comparison per input element."""
        return self.input_elements

    @property
    def scratch_bytes(self) -> int:
        return 0

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        x = values[self.inputs[0]]
        out = x.max(axis=self.axes) if self.axes else x
        return {self.outputs[0]: np.asarray(out, dtype=np.int8).reshape(self.output_shape)}

    def emit(self, ctx: EmitContext) -> list[str]:
        k0, r1, k1, r2, k2 = self.dims
        params = f".k0 = {k0}, .r1 = {r1}, .k1 = {k1}, .r2 = {r2}, .k2 = {k2}"
        call = f"{REDUCE_MAX_KERNEL.name}(&params, {ctx.tensor(self.inputs[0])}, {ctx.tensor(self.outputs[0])});"
        return ["{", f"  static const te_reduce_max_params params = {{{params}}};", f"  {call}", "}"]


@register("REDUCE_MAX", inputs=2)
def plan_reduce_max(graph: Graph, op: Operator) -> ReduceMaxPlan:
    check = OpChecker(graph, op)
    x, axis_tensor, y = check.required_input(0), check.required_input(1), check.output()
    check.dtype(x, DType.INT8)
    check.dtype(y, DType.INT8)
    check.dtype(axis_tensor, DType.INT32)
    check.rank(x, *range(1, MAX_RANK + 1))
    axes = resolve_axes(check, check.constant(axis_tensor, "axis"), len(x.shape))
    if op.options.get("keepDims", False):
        expected = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
    else:
        expected = tuple(d for i, d in enumerate(x.shape) if i not in axes)
    check.output_shape_matches(y, expected)
    if x.num_elements == 0:
        raise check.unsupported(f"{x.describe()} is empty.")
    if check.per_tensor_quant(x) != check.per_tensor_quant(y):
        raise check.quant_error(
            f"{x.describe()} and {y.describe()} are quantised differently; TFLite Micro's int8 REDUCE_MAX "
            "needs the same scale and zero point."
        )
    dims = canonical_reduce_dims(x.shape, axes)
    if dims is None:
        raise check.unsupported(
            f"reducing axes {list(axes)} of shape {list(x.shape)} needs more than two reduced groups."
        )
    return ReduceMaxPlan(
        op_index=op.index,
        inputs=(x.index,),
        outputs=(y.index,),
        output_shape=tuple(y.shape),
        axes=axes,
        dims=dims,
        input_elements=x.num_elements,
    )
