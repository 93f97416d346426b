"""AVERAGE_POOL_2D and MAX_POOL_2D, int8 NHWC.

Match TFLite Micro's ``reference_integer_ops::AveragePool`` / ``MaxPool``: input and output
share scale and zero point (TFLM's Prepare insists on it), so both work on the raw int8
values. Windows are clipped to the image (SAME padding adds no taps); the average divides
the int32 sum by the number of in-image taps, rounding half away from zero with C integer
division (``(acc +/- count / 2) / count``); both clamp to the fused activation's range.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from tinyengine_gen.ir import DType, Graph, Operator
from tinyengine_gen.ops.base import EmitContext, OpChecker, register, same_or_valid_padding
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel

__all__ = ["AVERAGE_POOL_KERNEL", "MAX_POOL_KERNEL", "PoolPlan", "plan_average_pool", "plan_max_pool", "pool_reference"]

#: TFLM requires |input scale - output scale| <= this (and equal zero points).
SCALE_TOLERANCE = 1.0e-6


_SOURCES = ("te_pooling.c", "te_pooling.h", "te_fixedpoint.h")
#: te_pooling.c's kernels
AVERAGE_POOL_KERNEL = Kernel("te_pooling_avg_s8", _SOURCES)
MAX_POOL_KERNEL = Kernel("te_pooling_max_s8", _SOURCES)


@dataclasses.dataclass(frozen=True, eq=False)
class PoolPlan(DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    average: bool  # True: AVERAGE_POOL_2D, False: MAX_POOL_2D
    input_shape: tuple[int, int, int, int]
    output_shape: tuple[int, int, int, int]
    filter: tuple[int, int]  # (height, width)
    stride: tuple[int, int]
    padding: tuple[int, int]  # (top, left)
    act_min: int
    act_max: int
    aliases: tuple[tuple[int, int], ...] = ()

    @property
    def kernels(self) -> tuple[Kernel, ...]:
        """The average or the max kernel."""
        return (AVERAGE_POOL_KERNEL if self.average else MAX_POOL_KERNEL,)

    @property
    def macs(self) -> int:
        """Accumulates of an average pool (full windows); a max pool only compares, so 0."""
        if not self.average:
            return 0
        n, oh, ow, c = self.output_shape
        return n * oh * ow * c * self.filter[0] * self.filter[1]

    @property
    def scratch_bytes(self) -> int:
        """None: the kernels keep a block of channels' sums or maxima in a small local array."""
        return 0

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        return {self.outputs[0]: pool_reference(values[self.inputs[0]], self)}

    def emit(self, ctx: EmitContext) -> list[str]:
        n, ih, iw, c = self.input_shape
        _, oh, ow, _ = self.output_shape
        params = (
            f".batches = {n}, .in_h = {ih}, .in_w = {iw}, .channels = {c}, .out_h = {oh}, .out_w = {ow}, "
            f".filter_h = {self.filter[0]}, .filter_w = {self.filter[1]}, .stride_h = {self.stride[0]}, "
            f".stride_w = {self.stride[1]}, .pad_top = {self.padding[0]}, .pad_left = {self.padding[1]}, "
            f".act_min = {self.act_min}, .act_max = {self.act_max}"
        )
        x, y = ctx.tensor(self.inputs[0]), ctx.tensor(self.outputs[0])
        call = f"{self.kernels[0].name}(&params, {x}, {y});"
        return ["{", f"  static const te_pooling_params params = {{{params}}};", f"  {call}", "}"]


def _plan_pool(graph: Graph, op: Operator, average: bool) -> PoolPlan:
    check = OpChecker(graph, op)
    x = check.required_input(0)
    y = check.output()
    for tensor in (x, y):
        check.dtype(tensor, DType.INT8)
        check.rank(tensor, 4)
    in_scale, in_zp = check.per_tensor_quant(x)
    out_scale, out_zp = check.per_tensor_quant(y)
    if abs(in_scale - out_scale) > SCALE_TOLERANCE or in_zp != out_zp:
        raise check.quant_error(
            f"input (scale {in_scale}, zero point {in_zp}) and output (scale {out_scale}, zero point {out_zp}) "
            "must share quantisation parameters, as TFLite Micro requires for int8 pooling."
        )
    filter_hw = (int(op.options.get("filterHeight", 0) or 0), int(op.options.get("filterWidth", 0) or 0))
    stride = (int(op.options.get("strideH", 0) or 0), int(op.options.get("strideW", 0) or 0))
    if min(filter_hw + stride) < 1:
        raise check.unsupported(f"filter {filter_hw} and strides {stride} must be positive.")
    padding_name = check.padding()
    if padding_name not in ("SAME", "VALID"):
        raise check.unsupported(f"padding {padding_name} is not supported (SAME, VALID).")
    n, ih, iw, c = x.shape
    oh, pad_top = same_or_valid_padding(padding_name, ih, filter_hw[0], stride[0], 1)
    ow, pad_left = same_or_valid_padding(padding_name, iw, filter_hw[1], stride[1], 1)
    if oh < 1 or ow < 1:
        raise check.unsupported(f"a {filter_hw} {padding_name} window does not fit the {ih}x{iw} input.")
    check.output_shape_matches(y, (n, oh, ow, c))
    act_min, act_max = check.activation_bounds(y)
    return PoolPlan(
        op_index=op.index,
        inputs=(x.index,),
        outputs=(y.index,),
        average=average,
        input_shape=(n, ih, iw, c),
        output_shape=(n, oh, ow, c),
        filter=filter_hw,
        stride=stride,
        padding=(pad_top, pad_left),
        act_min=act_min,
        act_max=act_max,
    )


@register("AVERAGE_POOL_2D")
def plan_average_pool(graph: Graph, op: Operator) -> PoolPlan:
    return _plan_pool(graph, op, average=True)


@register("MAX_POOL_2D")
def plan_max_pool(graph: Graph, op: Operator) -> PoolPlan:
    return _plan_pool(graph, op, average=False)


def pool_reference(x: np.ndarray, plan: PoolPlan) -> np.ndarray:
    """Pure-numpy twin of te_pooling_avg_s8 / te_pooling_max_s8 (and of TFLM's integer pooling)."""
    n, oh, ow, c = plan.output_shape
    _, ih, iw, _ = plan.input_shape
    (fh, fw), (sh, sw), (pt, pl) = plan.filter, plan.stride, plan.padding
    out = np.zeros((n, oh, ow, c), dtype=np.int64)
    values = x.astype(np.int64)
    for oy in range(oh):
        y0, y1 = max(oy * sh - pt, 0), min(oy * sh - pt + fh, ih)
        for ox in range(ow):
            x0, x1 = max(ox * sw - pl, 0), min(ox * sw - pl + fw, iw)
            window = values[:, y0:y1, x0:x1, :]
            if plan.average:
                count = (y1 - y0) * (x1 - x0)
                total = window.sum(axis=(1, 2))
                # C division truncates, so this rounds half away from zero.
                out[:, oy, ox, :] = np.sign(total) * ((np.abs(total) + count // 2) // count)
            else:
                out[:, oy, ox, :] = window.max(axis=(1, 2))
    return np.clip(out, plan.act_min, plan.act_max).astype(np.int8)
