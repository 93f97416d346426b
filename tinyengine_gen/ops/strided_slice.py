"""STRIDED_SLICE: a strided window of a tensor of rank 1 to 4, as TFLite Micro computes it.

TFLite Micro copies the values (int8, int16, int32 or float32; no requantisation) and
requires constant begin, end and strides. Per axis the window starts and stops where its
reference ``StridedSliceStartForAxis`` / ``StridedSliceEndForAxis`` say (negative
indices count from the end and are clamped; ``begin_mask``/``end_mask`` take the whole
axis; ``offset`` makes end relative to begin; ``shrink_axis_mask`` keeps one element and
drops the axis). TFLite Micro ignores the ellipsis and new-axis masks (the converter
resolves them), and so do we.

The window is a strided gather: the plan moves the input pointer to the first element
and hands per-axis strides (possibly negative) to the ``te_transpose`` kernels, which
walk any output shape through any input strides.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from tinyengine_gen.ir import DType, Graph, Operator
from tinyengine_gen.ops.base import DataMovementPlan, EmitContext, OpChecker, register
from tinyengine_gen.ops.features import KernelVariant
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel
from tinyengine_gen.ops.transpose import TRANSPOSE_KERNELS

__all__ = ["StridedSlicePlan", "plan_strided_slice", "slice_window"]

#: TFLite Micro's kMaxDim: it refuses higher ranks.
MAX_RANK = 4
_KERNEL_RANK = 5  # te_transpose_params


@dataclasses.dataclass(frozen=True, eq=False)
class StridedSlicePlan(DataMovementPlan, KernelVariant, DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]  # (input,)
    outputs: tuple[int, ...]
    starts: tuple[int, ...]
    counts: tuple[int, ...]
    strides: tuple[int, ...]
    output_shape: tuple[int, ...]
    offset: int  # elements from the input's start to the window's first element
    out_shape: tuple[int, ...]  # the window's extents, padded to the kernel's rank
    in_stride: tuple[int, ...]  # input elements per step along each window axis, padded
    kernel: Kernel = TRANSPOSE_KERNELS[DType.INT8]
    aliases: tuple[tuple[int, int], ...] = ()

    @property
    def kernels(self) -> tuple[Kernel, ...]:
        return (self.kernel,)

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        x = np.asarray(values[self.inputs[0]])
        index = np.ix_(*[np.arange(c) * s + b for b, c, s in zip(self.starts, self.counts, self.strides)])
        return {self.outputs[0]: x[index].reshape(self.output_shape)}

    def emit(self, ctx: EmitContext) -> list[str]:
        if 0 in self.counts:
            return ["/* empty strided slice */"]
        shape = ", ".join(str(d) for d in self.out_shape)
        strides = ", ".join(f"{s}L" for s in self.in_stride)
        return [
            "{",
            f"  static const te_transpose_params params = {{.out_shape = {{{shape}}}, .in_stride = {{{strides}}}}};",
            f"  {self.kernel.name}(&params, {ctx.tensor(self.inputs[0])} + {self.offset}, {ctx.tensor(self.outputs[0])});",
            "}",
        ]


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def slice_window(
    shape: tuple[int, ...], begin: list[int], end: list[int], strides: list[int], options: Mapping[str, Any]
) -> tuple[list[int], list[int]]:
    """(start, element count) per axis, as TFLite Micro's StridedSliceStart/EndForAxis give them."""
    begin_mask = int(options.get("beginMask", 0) or 0)
    end_mask = int(options.get("endMask", 0) or 0)
    shrink_mask = int(options.get("shrinkAxisMask", 0) or 0)
    offset = bool(options.get("offset", False))
    starts, counts = [], []
    for axis, size in enumerate(shape):
        stride = strides[axis]
        start = begin[axis] + size if begin[axis] < 0 else begin[axis]
        start = _clamp(start, 0, size) if stride > 0 else _clamp(start, -1, size - 1)
        if begin_mask & (1 << axis):
            start = 0 if stride > 0 else size - 1
        if shrink_mask & (1 << axis):
            stop = start if start >= size else start + 1
        else:
            stop = end[axis] + (start if offset else 0)
            stop = stop + size if stop < 0 else stop
            stop = _clamp(stop, 0, size) if stride > 0 else _clamp(stop, -1, size - 1)
            if end_mask & (1 << axis):
                stop = size if stride > 0 else -1
        starts.append(start)
        counts.append(len(range(start, stop, stride)))
    return starts, counts


@register("STRIDED_SLICE", inputs=4)
def plan_strided_slice(graph: Graph, op: Operator) -> StridedSlicePlan:
    check = OpChecker(graph, op)
    x = check.required_input(0)
    y = check.output()
    check.dtype(x, *TRANSPOSE_KERNELS)
    check.dtype(y, x.dtype)
    check.rank(x, *range(1, MAX_RANK + 1))
    vectors = []
    for position, what in ((1, "begin"), (2, "end"), (3, "strides")):
        tensor = check.required_input(position)
        check.dtype(tensor, DType.INT32)
        values = [int(v) for v in np.asarray(check.constant(tensor, what)).reshape(-1)]
        if len(values) != len(x.shape):
            raise check.unsupported(f"{what} has {len(values)} values for the {len(x.shape)} axes of {x.describe()}.")
        vectors.append(values)
    begin, end, strides = vectors
    if 0 in strides:
        raise check.unsupported("a stride is 0; strides must be non-zero.")
    starts, counts = slice_window(x.shape, begin, end, strides, op.options)
    shrink = int(op.options.get("shrinkAxisMask", 0) or 0)
    check.output_shape_matches(y, [c for axis, c in enumerate(counts) if not shrink & (1 << axis)])
    element_strides = [math.prod(x.shape[axis + 1 :]) for axis in range(len(x.shape))]
    offset = sum(s * e for s, e in zip(starts, element_strides)) if 0 not in counts else 0
    pad = _KERNEL_RANK - len(x.shape)
    return StridedSlicePlan(
        op_index=op.index,
        inputs=(x.index,),
        outputs=(y.index,),
        starts=tuple(starts),
        counts=tuple(counts),
        strides=tuple(strides),
        output_shape=tuple(y.shape),
        offset=offset,
        out_shape=(1,) * pad + tuple(counts),
        in_stride=(0,) * pad + tuple(s * e for s, e in zip(strides, element_strides)),
        kernel=TRANSPOSE_KERNELS[x.dtype],
    )
