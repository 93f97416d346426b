"""TRANSPOSE: permute the dimensions of an int8, int16 or float32 tensor of rank 1 to 5.

TFLite Micro's reference ``Transpose`` only moves values (quantisation parameters are
not looked at), with a constant int32 permutation. The plan simplifies the permutation
once: size-1 dimensions are dropped and runs of dimensions that stay adjacent and in
order are merged, so NCHW -> NHWC of [1, 3, 224, 224] becomes a 2-D [3, 50176]
transpose, and an identity permutation becomes one contiguous copy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from tinyengine_gen.ir import DType, Graph, Operator
from tinyengine_gen.ops.base import DataMovementPlan, EmitContext, OpChecker, register
from tinyengine_gen.ops.features import KernelVariant
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel

__all__ = ["TRANSPOSE_KERNELS", "TransposePlan", "plan_transpose", "simplify_permutation"]

MAX_RANK = 5
_SOURCES = ("te_transpose.c", "te_transpose.h")
#: te_transpose.c's kernels, by element type (STRIDED_SLICE's window copy runs them too)
TRANSPOSE_KERNELS = {
    dtype: Kernel(f"te_transpose_{suffix}", _SOURCES)
    for dtype, suffix in ((DType.INT8, "s8"), (DType.INT16, "s16"), (DType.INT32, "s32"), (DType.FLOAT32, "f32"))
}
#: the element types TRANSPOSE moves (TFLite Micro's: no int32)
_DTYPES = (DType.INT8, DType.INT16, DType.FLOAT32)


@dataclasses.dataclass(frozen=True, eq=False)
class TransposePlan(DataMovementPlan, KernelVariant, DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    perm: tuple[int, ...]  # as in the file, for the numpy reference
    out_shape: tuple[int, ...]  # simplified, padded to MAX_RANK
    in_stride: tuple[int, ...]  # input stride (elements) of each simplified output dimension
    kernel: Kernel = TRANSPOSE_KERNELS[DType.INT8]
    aliases: tuple[tuple[int, int], ...] = ()

    @property
    def kernels(self) -> tuple[Kernel, ...]:
        return (self.kernel,)

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        return {self.outputs[0]: np.ascontiguousarray(np.transpose(values[self.inputs[0]], self.perm))}

    def emit(self, ctx: EmitContext) -> list[str]:
        shape = ", ".join(str(d) for d in self.out_shape)
        strides = ", ".join(f"{s}L" for s in self.in_stride)
        return [
            "{",
            f"  static const te_transpose_params params = {{.out_shape = {{{shape}}}, .in_stride = {{{strides}}}}};",
            f"  {self.kernel.name}(&params, {ctx.tensor(self.inputs[0])}, {ctx.tensor(self.outputs[0])});",
            "}",
        ]


def simplify_permutation(shape: Sequence[int], perm: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(input shape, permutation) with size-1 dimensions dropped and in-order adjacent runs merged.

    The result moves the same elements to the same places; it only has fewer loops.
    """
    kept = [d for d in range(len(shape)) if shape[d] != 1]
    renumber = {d: i for i, d in enumerate(kept)}
    shape1 = [shape[d] for d in kept]
    perm1 = [renumber[p] for p in perm if p in renumber]
    groups: list[list[int]] = []  # runs of input dims, in output order
    for p in perm1:
        if groups and groups[-1][-1] + 1 == p:
            groups[-1].append(p)
        else:
            groups.append([p])
    by_input_order = sorted(range(len(groups)), key=lambda g: groups[g][0])
    new_shape = tuple(int(np.prod([shape1[d] for d in groups[g]])) for g in by_input_order)
    position = {g: i for i, g in enumerate(by_input_order)}
    new_perm = tuple(position[g] for g in range(len(groups)))
    return new_shape, new_perm


def _kernel_geometry(shape: Sequence[int], perm: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Padded output shape and per-output-dimension input strides for te_transpose_*."""
    in_shape, new_perm = simplify_permutation(shape, perm)
    strides = [1] * len(in_shape)
    for d in range(len(in_shape) - 2, -1, -1):
        strides[d] = strides[d + 1] * in_shape[d + 1]
    pad = MAX_RANK - len(in_shape)
    out_shape = (1,) * pad + tuple(in_shape[p] for p in new_perm)
    in_stride = (0,) * pad + tuple(strides[p] for p in new_perm)
    if not new_perm:  # a single element
        out_shape, in_stride = (1,) * (MAX_RANK - 1) + (1,), (0,) * (MAX_RANK - 1) + (1,)
    return out_shape, in_stride


@register("TRANSPOSE", inputs=2)
def plan_transpose(graph: Graph, op: Operator) -> TransposePlan:
    check = OpChecker(graph, op)
    x = check.required_input(0)
    perm_tensor = check.required_input(1)
    y = check.output()
    check.dtype(x, *_DTYPES)
    if y.dtype != x.dtype:
        raise check.unsupported(f"{y.describe()} must have the dtype of {x.describe()}.")
    check.rank(x, *range(1, MAX_RANK + 1))
    check.dtype(perm_tensor, DType.INT32)
    perm = tuple(int(v) for v in np.asarray(check.constant(perm_tensor, "permutation")).reshape(-1))
    if sorted(perm) != list(range(len(x.shape))):
        raise check.unsupported(
            f"permutation {list(perm)} is not a permutation of the {len(x.shape)} dimensions of {x.describe()}."
        )
    check.output_shape_matches(y, tuple(x.shape[p] for p in perm))
    out_shape, in_stride = _kernel_geometry(x.shape, perm)
    return TransposePlan(
        op_index=op.index,
        inputs=(x.index,),
        outputs=(y.index,),
        perm=perm,
        out_shape=out_shape,
        in_stride=in_stride,
        kernel=TRANSPOSE_KERNELS[x.dtype],
    )
