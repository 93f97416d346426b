"""RESIZE_NEAREST_NEIGHBOR: int8 (also int16 and float32) nearest-neighbour resize of NHWC images.

TFLite Micro's reference ``GetNearestNeighbor`` maps an output coordinate to its source
in float32: ``scale = in / out`` (or ``(in - 1) / (out - 1)`` with align_corners and
``out > 1``), ``v = (o + offset) * scale`` with ``offset = 0.5`` for half_pixel_centers,
then ``floor(v)`` (``round(v)``, halves away from zero, with align_corners), clamped to
``in - 1`` and, with half_pixel_centers only, to ``>= 0``. Those index tables are
computed here once with numpy float32 arithmetic (the same IEEE single operations) and
emitted as const arrays, so the C kernel does no float math and only moves pixels; the
values are copied unchanged (TFLM ignores quantisation parameters here).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np

from tinyengine_gen.fixedpoint import round_half_away
from tinyengine_gen.ir import DType, Graph, Operator
from tinyengine_gen.ops.base import DataMovementPlan, EmitContext, OpChecker, register
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel

__all__ = ["RESIZE_NEAREST_KERNEL", "ResizeNearestPlan", "nearest_source_indices", "plan_resize_nearest"]

_SUPPORTED = (DType.INT8, DType.INT16, DType.FLOAT32)


#: the kernel the emitted call runs
RESIZE_NEAREST_KERNEL = Kernel("te_resize_nearest_bytes", ("te_resize_nearest.c", "te_resize_nearest.h"))


@dataclasses.dataclass(frozen=True, eq=False)
class ResizeNearestPlan(DataMovementPlan, DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    input_shape: tuple[int, int, int, int]
    output_shape: tuple[int, int, int, int]
    itemsize: int
    source_rows: np.ndarray  # [out_h] int32 source row of each output row
    source_cols: np.ndarray  # [out_w] int32 source column of each output column
    kernels = (RESIZE_NEAREST_KERNEL,)
    aliases: tuple[tuple[int, int], ...] = ()

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        x = values[self.inputs[0]]
        return {self.outputs[0]: np.ascontiguousarray(x[:, self.source_rows][:, :, self.source_cols])}

    def emit(self, ctx: EmitContext) -> list[str]:
        n, ih, iw, c = self.input_shape
        _, oh, ow, _ = self.output_shape
        pixel = c * self.itemsize
        row_bytes = (self.source_rows.astype(np.int64) * iw * pixel).astype(np.int32)
        col_bytes = (self.source_cols.astype(np.int64) * pixel).astype(np.int32)
        rows = ctx.const(f"op{self.op_index}_row_offset", row_bytes)
        cols = ctx.const(f"op{self.op_index}_col_offset", col_bytes)
        params = f".batches = {n}, .out_h = {oh}, .out_w = {ow}, .pixel_bytes = {pixel}L, .in_batch_bytes = {ih * iw * pixel}L"
        call = f"{RESIZE_NEAREST_KERNEL.name}(&params, {rows}, {cols}, {ctx.tensor(self.inputs[0])}, {ctx.tensor(self.outputs[0])});"
        return ["{", f"  static const te_resize_nearest_params params = {{{params}}};", f"  {call}", "}"]


def nearest_source_indices(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool) -> np.ndarray:
    """Source index of every output index, as TFLM's GetNearestNeighbor computes it in float32."""
    if align_corners and out_size > 1:
        scale = np.float32(in_size - 1) / np.float32(out_size - 1)
    else:
        scale = np.float32(in_size) / np.float32(out_size)
    offset = np.float32(0.5 if half_pixel_centers else 0.0)
    result = np.zeros(out_size, dtype=np.int32)
    for o in range(out_size):
        value = float((np.float32(o) + offset) * scale)
        index = round_half_away(value) if align_corners else math.floor(value)
        index = min(index, in_size - 1)
        if half_pixel_centers:
            index = max(0, index)
        result[o] = index
    return result


@register("RESIZE_NEAREST_NEIGHBOR", inputs=2)
def plan_resize_nearest(graph: Graph, op: Operator) -> ResizeNearestPlan:
    check = OpChecker(graph, op)
    x = check.required_input(0)
    size_tensor = check.required_input(1)
    y = check.output()
    check.dtype(x, *_SUPPORTED)
    if y.dtype != x.dtype:
        raise check.unsupported(f"{y.describe()} must have the dtype of {x.describe()}.")
    check.rank(x, 4)
    check.dtype(size_tensor, DType.INT32)
    size = np.asarray(check.constant(size_tensor, "size")).reshape(-1)
    if size.size != 2 or min(size) < 1:
        raise check.unsupported(f"the size {size_tensor.describe()} must hold two positive values (height, width).")
    n, ih, iw, c = x.shape
    oh, ow = int(size[0]), int(size[1])
    check.output_shape_matches(y, (n, oh, ow, c))
    if ih * iw * c * x.dtype.itemsize >= 2**31:
        raise check.unsupported(f"{x.describe()} is too large for 32-bit offsets.")
    align_corners = bool(op.options.get("alignCorners", False))
    half_pixel_centers = bool(op.options.get("halfPixelCenters", False))
    return ResizeNearestPlan(
        op_index=op.index,
        inputs=(x.index,),
        outputs=(y.index,),
        input_shape=(n, ih, iw, c),
        output_shape=(n, oh, ow, c),
        itemsize=x.dtype.itemsize,
        source_rows=nearest_source_indices(ih, oh, align_corners, half_pixel_centers),
        source_cols=nearest_source_indices(iw, ow, align_corners, half_pixel_centers),
    )
