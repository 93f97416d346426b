"""SPLIT, SPLIT_V and UNPACK: one tensor cut into pieces along an axis.

TFLite Micro copies the values (int8, int16, int32 or float32; no requantisation) and
requires a constant axis (and, for SPLIT_V, constant sizes). UNPACK is SPLIT into pieces
of size one with the axis dropped from each output's shape. All three run as one kernel,
``te_split_bytes``: for each index of the dimensions before the axis, each output takes
its next contiguous chunk.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np

from tinyengine_gen.ir import DType, Graph, Operator, Tensor
from tinyengine_gen.ops.base import DataMovementPlan, EmitContext, OpChecker, register
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel

__all__ = ["SPLIT_KERNEL", "COPY_DTYPES", "SplitPlan", "plan_split", "plan_split_v", "plan_unpack"]

#: Element types the data-movement kernels copy (as on TFLite Micro).
COPY_DTYPES = (DType.INT8, DType.INT16, DType.INT32, DType.FLOAT32)


#: the kernel the emitted call runs
SPLIT_KERNEL = Kernel("te_split_bytes", ("te_split.c", "te_split.h"))


@dataclasses.dataclass(frozen=True, eq=False)
class SplitPlan(DataMovementPlan, DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]  # (data,)
    outputs: tuple[int, ...]
    axis: int
    sizes: tuple[int, ...]  # each output's extent along the axis
    output_shapes: tuple[tuple[int, ...], ...]
    outer: int
    chunks: tuple[int, ...]  # bytes per outer index, per output
    kernels = (SPLIT_KERNEL,)
    aliases: tuple[tuple[int, int], ...] = ()

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        x = np.asarray(values[self.inputs[0]])
        pieces = np.split(x, np.cumsum(self.sizes)[:-1], axis=self.axis)
        return {o: p.reshape(s) for o, p, s in zip(self.outputs, pieces, self.output_shapes)}

    def emit(self, ctx: EmitContext) -> list[str]:
        chunks = ", ".join(str(c) for c in self.chunks)
        outputs = ", ".join(f"(int8_t*){ctx.tensor(o)}" for o in self.outputs)
        n = len(self.outputs)
        return [
            "{",
            f"  static const int32_t chunks[{n}] = {{{chunks}}};",
            f"  int8_t* const outputs[{n}] = {{{outputs}}};",
            f"  {SPLIT_KERNEL.name}({self.outer}, {n}, chunks, (const int8_t*){ctx.tensor(self.inputs[0])}, outputs);",
            "}",
        ]


def _axis(check: OpChecker, raw: int, rank: int) -> int:
    axis = raw + rank if raw < 0 else raw
    if not 0 <= axis < rank:
        raise check.unsupported(f"axis {raw} is out of range for rank {rank}.")
    return axis


def _constant_axis(check: OpChecker, tensor: Tensor, rank: int) -> int:
    check.dtype(tensor, DType.INT32)
    return _axis(check, int(np.asarray(check.constant(tensor, "axis")).reshape(-1)[0]), rank)


def _split_plan(check: OpChecker, x: Tensor, axis: int, sizes: list[int], drop_axis: bool) -> SplitPlan:
    ys = [check.output(i) for i in range(len(check.op.outputs))]
    if len(ys) != len(sizes):
        raise check.unsupported(f"{len(ys)} outputs for {len(sizes)} pieces.")
    shapes = []
    for y, size in zip(ys, sizes):
        check.dtype(y, x.dtype)
        shape = list(x.shape)
        if drop_axis:
            del shape[axis]
        else:
            shape[axis] = size
        check.output_shape_matches(y, shape)
        shapes.append(tuple(shape))
    inner = math.prod(x.shape[axis + 1 :]) * x.dtype.itemsize
    return SplitPlan(
        op_index=check.op.index,
        inputs=(x.index,),
        outputs=tuple(y.index for y in ys),
        axis=axis,
        sizes=tuple(sizes),
        output_shapes=tuple(shapes),
        outer=math.prod(x.shape[:axis]),
        chunks=tuple(size * inner for size in sizes),
    )


@register("SPLIT", inputs=2)
def plan_split(graph: Graph, op: Operator) -> SplitPlan:
    check = OpChecker(graph, op)
    x = check.required_input(1)
    check.dtype(x, *COPY_DTYPES)
    axis = _constant_axis(check, check.required_input(0), len(x.shape))
    count = len(op.outputs)
    if count < 1 or x.shape[axis] % count:
        raise check.unsupported(f"{x.describe()} cannot be split into {count} equal pieces along axis {axis}.")
    return _split_plan(check, x, axis, [x.shape[axis] // count] * count, drop_axis=False)


@register("SPLIT_V", inputs=3)
def plan_split_v(graph: Graph, op: Operator) -> SplitPlan:
    check = OpChecker(graph, op)
    x = check.required_input(0)
    check.dtype(x, *COPY_DTYPES)
    axis = _constant_axis(check, check.required_input(2), len(x.shape))
    sizes = [int(s) for s in np.asarray(check.constant(check.required_input(1), "size_splits")).reshape(-1)]
    unknown = [i for i, s in enumerate(sizes) if s == -1]
    if len(unknown) == 1:
        sizes[unknown[0]] = x.shape[axis] - (sum(sizes) + 1)
    if any(s < 0 for s in sizes) or sum(sizes) != x.shape[axis]:
        raise check.unsupported(f"size_splits {sizes} do not add up to {x.shape[axis]} along axis {axis}.")
    return _split_plan(check, x, axis, sizes, drop_axis=False)


@register("UNPACK")
def plan_unpack(graph: Graph, op: Operator) -> SplitPlan:
    check = OpChecker(graph, op)
    x = check.required_input(0)
    check.dtype(x, *COPY_DTYPES)
    axis = _axis(check, int(op.options.get("axis", 0) or 0), len(x.shape))
    if len(op.outputs) != x.shape[axis]:
        raise check.unsupported(f"{len(op.outputs)} outputs for {x.shape[axis]} slices along axis {axis}.")
    return _split_plan(check, x, axis, [1] * x.shape[axis], drop_axis=True)
