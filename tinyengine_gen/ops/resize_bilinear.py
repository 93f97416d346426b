"""RESIZE_BILINEAR: int8, with TFLite Micro's integer interpolation (ResizeBilinearInteger).

Source positions are in 1/1024 steps: the scale is a rounded integer ratio (of the sizes,
or of the sizes less one with align_corners), half_pixel_centers shifts by half a step,
and each output is the four-neighbour weighted sum in int64, rounded half away from zero
and divided by 2^20. No requantisation (TFLM writes the interpolated input bytes). The
planner computes every output row's and column's two source indices and weight once
(plan-time tables, 3 int32 per output row and column); the kernel only multiplies and adds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from tinyengine_gen.ir import DType, Graph, Operator
from tinyengine_gen.ops.base import EmitContext, OpChecker, register
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel

__all__ = ["RESIZE_BILINEAR_KERNEL", "ResizeBilinearPlan", "bilinear_source_positions", "plan_resize_bilinear", "resize_bilinear_reference"]

_ONE = 1 << 10


#: the kernel the emitted call runs
RESIZE_BILINEAR_KERNEL = Kernel("te_resize_bilinear_s8", ("te_resize_bilinear.c", "te_resize_bilinear.h"))


@dataclasses.dataclass(frozen=True, eq=False)
class ResizeBilinearPlan(DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    input_shape: tuple[int, int, int, int]
    output_shape: tuple[int, int, int, int]
    #: [out_size, 3] int32: (lower index, upper index, position in 1/1024) per output row / column
    rows: np.ndarray
    cols: np.ndarray
    kernels = (RESIZE_BILINEAR_KERNEL,)
    aliases: tuple[tuple[int, int], ...] = ()

    @property
    def macs(self) -> int:
        """Four multiply-accumulates per output element."""
        return 4 * int(np.prod(self.output_shape, dtype=np.int64))

    @property
    def scratch_bytes(self) -> int:
        return 0

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        return {self.outputs[0]: resize_bilinear_reference(values[self.inputs[0]], self)}

    def emit(self, ctx: EmitContext) -> list[str]:
        n, ih, iw, c = self.input_shape
        _, oh, ow, _ = self.output_shape
        rows = ctx.const(f"op{self.op_index}_bilinear_rows", self.rows.reshape(-1))
        cols = ctx.const(f"op{self.op_index}_bilinear_cols", self.cols.reshape(-1))
        params = f".batches = {n}, .in_h = {ih}, .in_w = {iw}, .depth = {c}, .out_h = {oh}, .out_w = {ow}"
        x, y = ctx.tensor(self.inputs[0]), ctx.tensor(self.outputs[0])
        call = f"{RESIZE_BILINEAR_KERNEL.name}(&params, {rows}, {cols}, {x}, {y});"
        return ["{", f"  static const te_resize_bilinear_params params = {{{params}}};", f"  {call}", "}"]


def _c_div(a: int, b: int) -> int:
    """C integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def bilinear_source_positions(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool) -> np.ndarray:
    """[out_size, 3]: (lower, upper, scaled position) as TFLM's ComputeInterpolationValuesInteger gives them."""
    scale = (_ONE * in_size + out_size // 2) // out_size
    if align_corners and out_size > 1:
        scale = (_ONE * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    table = np.zeros((out_size, 3), dtype=np.int32)
    for o in range(out_size):
        scaled = o * scale + (_c_div(scale, 2) - (1 << 9) if half_pixel_centers else 0)
        lower = max(_c_div(scaled, _ONE), 0)
        upper = min(_c_div(scaled + _ONE - 1, _ONE), in_size - 1)
        table[o] = (lower, upper, scaled)
    return table


@register("RESIZE_BILINEAR", inputs=2)
def plan_resize_bilinear(graph: Graph, op: Operator) -> ResizeBilinearPlan:
    check = OpChecker(graph, op)
    x, size_tensor, y = check.required_input(0), check.required_input(1), check.output()
    check.dtype(x, DType.INT8)
    check.dtype(y, DType.INT8)
    check.rank(x, 4)
    check.dtype(size_tensor, DType.INT32)
    size = np.asarray(check.constant(size_tensor, "size")).reshape(-1)
    if size.size != 2 or min(size) < 1:
        raise check.unsupported(f"the size {size_tensor.describe()} must hold two positive values (height, width).")
    n, ih, iw, c = (int(d) for d in x.shape)
    oh, ow = int(size[0]), int(size[1])
    check.output_shape_matches(y, (n, oh, ow, c))
    align_corners = bool(op.options.get("alignCorners", False))
    half_pixel_centers = bool(op.options.get("halfPixelCenters", False))
    if align_corners and half_pixel_centers:
        raise check.unsupported("align_corners and half_pixel_centers cannot both be set (TFLite Micro refuses it).")
    if max(ih, iw, oh, ow) >= 1 << 20:
        raise check.unsupported(f"{x.describe()} or its output is too large for 1/1024 fixed-point positions.")
    return ResizeBilinearPlan(
        op_index=op.index,
        inputs=(x.index,),
        outputs=(y.index,),
        input_shape=(n, ih, iw, c),
        output_shape=(n, oh, ow, c),
        rows=bilinear_source_positions(ih, oh, align_corners, half_pixel_centers),
        cols=bilinear_source_positions(iw, ow, align_corners, half_pixel_centers),
    )


def resize_bilinear_reference(x: np.ndarray, plan: ResizeBilinearPlan) -> np.ndarray:
    """Pure-numpy twin of te_resize_bilinear_s8 (and of TFLM's ResizeBilinearInteger, double rounding)."""
    data = np.asarray(x, dtype=np.int64).reshape(plan.input_shape)
    y0, y1, sy = (plan.rows[:, k].astype(np.int64) for k in range(3))
    x0, x1, sx = (plan.cols[:, k].astype(np.int64) for k in range(3))
    dy = (sy - _ONE * y0)[None, :, None, None]
    dx = (sx - _ONE * x0)[None, None, :, None]
    ll = data[:, y0][:, :, x0] * (_ONE - dy) * (_ONE - dx)
    lu = data[:, y1][:, :, x0] * dy * (_ONE - dx)
    rl = data[:, y0][:, :, x1] * (_ONE - dy) * dx
    ru = data[:, y1][:, :, x1] * dy * dx
    total = ll + lu + rl + ru
    rounded = total + np.where(total > 0, 1 << 19, -(1 << 19))
    out = np.where(rounded >= 0, rounded >> 20, -((-rounded) >> 20))
    return out.astype(np.int8).reshape(plan.output_shape)
