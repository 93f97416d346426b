"""TRANSPOSE_CONV: int8 transposed convolution (Keras Conv2DTranspose), as TFLite Micro.

TFLite Micro's reference integer kernel scatters ``(input + input_offset) * filter`` of
every input pixel into an int32 image the size of the output (scratch in its arena, and
in ours), then adds the bias and requantises each output channel with the multipliers of
``PopulateConvolutionQuantizationParams`` (input scale x filter scale / output scale).
Its padding is the one a convolution from the output size back to the input size would
have (``ComputePaddingHeightWidth`` on the output's height and width). Inputs: the
output shape (constant int32; in an unfixed-batch model it is folded before planning),
the filter ``[out_c, kh, kw, in_c]``, the input, and an optional int32 bias. A batch of
images runs one image after the other through one image's scratch (TFLM's sums are per
image too).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from tinyengine_gen.fixedpoint import multiply_by_quantized_multiplier, shift_table
from tinyengine_gen.ir import DType, Graph, Operator
from tinyengine_gen.ops.base import (
    EmitContext,
    OpChecker,
    bias_vector,
    filter_scale_list,
    per_channel_requant,
    register,
    same_or_valid_padding,
)
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel

__all__ = ["TRANSPOSE_CONV_KERNEL", "TransposeConvPlan", "plan_transpose_conv", "transpose_conv_reference"]


#: the kernel the emitted call runs
TRANSPOSE_CONV_KERNEL = Kernel("te_transpose_conv_s8", ("te_transpose_conv.c", "te_transpose_conv.h", "te_fixedpoint.h"))


@dataclasses.dataclass(frozen=True, eq=False)
class TransposeConvPlan(DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]  # (input,)
    outputs: tuple[int, ...]
    input_shape: tuple[int, int, int]  # (H, W, C)
    output_shape: tuple[int, ...]
    filter: np.ndarray  # int8 [out_c, kh, kw, in_c]
    bias: np.ndarray  # int32 [out_c]
    multipliers: np.ndarray
    shifts: np.ndarray
    stride: tuple[int, int]
    pad: tuple[int, int]  # (top, left)
    input_offset: int
    output_offset: int
    act_range: tuple[int, int]
    batch: int = 1
    kernels = (TRANSPOSE_CONV_KERNEL,)
    aliases: tuple[tuple[int, int], ...] = ()

    @property
    def macs(self) -> int:
        h, w, c = self.input_shape
        oc, kh, kw, _ = self.filter.shape
        return self.batch * h * w * c * oc * kh * kw

    @property
    def scratch_bytes(self) -> int:
        return int(np.prod(self.output_shape[1:])) * 4

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        return {self.outputs[0]: transpose_conv_reference(values[self.inputs[0]], self)}

    def emit(self, ctx: EmitContext) -> list[str]:
        h, w, c = self.input_shape
        _, out_h, out_w, out_c = self.output_shape
        _, kh, kw, _ = self.filter.shape
        params = (
            f".batch = {self.batch}, .in_h = {h}, .in_w = {w}, .in_c = {c}, .out_h = {out_h}, .out_w = {out_w}, .out_c = {out_c}, "
            f".kernel_h = {kh}, .kernel_w = {kw}, .stride_h = {self.stride[0]}, .stride_w = {self.stride[1]}, "
            f".pad_top = {self.pad[0]}, .pad_left = {self.pad[1]}, .input_offset = {self.input_offset}, "
            f".output_offset = {self.output_offset}, .act_min = {self.act_range[0]}, .act_max = {self.act_range[1]}"
        )
        name = f"op{self.op_index}"
        arrays = [
            ctx.const(f"{name}_filter", self.filter),
            ctx.const(f"{name}_bias", self.bias),
            ctx.const(f"{name}_multiplier", self.multipliers),
            ctx.const(f"{name}_shift", shift_table(self.shifts)),
        ]
        return [
            "{",
            f"  static const te_transpose_conv_params params = {{{params}}};",
            f"  {TRANSPOSE_CONV_KERNEL.name}(&params, {ctx.tensor(self.inputs[0])}, {', '.join(arrays)}, "
            f"{ctx.scratch('int32_t')}, {ctx.tensor(self.outputs[0])});",
            "}",
        ]


def transpose_conv_reference(x: np.ndarray, plan: TransposeConvPlan) -> np.ndarray:
    """Pure-numpy twin of te_transpose_conv_s8 (TFLM's scatter order; int32 sums are exact)."""
    h, w, c = plan.input_shape
    images = np.asarray(x).reshape(plan.batch, h, w, c)
    return np.stack([_image_reference(image, plan) for image in images]).reshape(plan.output_shape)


def _image_reference(x: np.ndarray, plan: TransposeConvPlan) -> np.ndarray:
    h, w, _ = plan.input_shape
    _, out_h, out_w, out_c = plan.output_shape
    oc, kh, kw, _ = plan.filter.shape
    pixels = np.asarray(x, dtype=np.int64).reshape(h, w, -1) + plan.input_offset
    taps = np.einsum("yxc,oijc->yxijo", pixels, plan.filter.astype(np.int64))  # [h, w, kh, kw, oc]
    padded = np.zeros(((h - 1) * plan.stride[0] + kh, (w - 1) * plan.stride[1] + kw, oc), dtype=np.int64)
    for i in range(kh):
        for j in range(kw):
            padded[i : i + (h - 1) * plan.stride[0] + 1 : plan.stride[0], j : j + (w - 1) * plan.stride[1] + 1 : plan.stride[1]] += taps[:, :, i, j]
    top, left = plan.pad
    sums = np.zeros((out_h, out_w, oc), dtype=np.int64)
    rows, cols = min(out_h, padded.shape[0] - top), min(out_w, padded.shape[1] - left)
    sums[:rows, :cols] = padded[top : top + rows, left : left + cols]
    acc = multiply_by_quantized_multiplier((sums + plan.bias).astype(np.int32), plan.multipliers, plan.shifts)
    out = np.clip(acc.astype(np.int64) + plan.output_offset, *plan.act_range)
    return out.astype(np.int8)


@register("TRANSPOSE_CONV", inputs=3)
def plan_transpose_conv(graph: Graph, op: Operator) -> TransposeConvPlan:
    check = OpChecker(graph, op)
    shape_tensor, w, x = check.required_input(0), check.required_input(1), check.required_input(2)
    b = check.input(3, optional=True)
    y = check.output()
    for tensor in (x, w, y):
        check.dtype(tensor, DType.INT8)
        check.rank(tensor, 4)
    wanted = tuple(int(v) for v in np.asarray(check.constant(shape_tensor, "output shape")).reshape(-1))
    check.output_shape_matches(y, wanted)
    out_c, kh, kw, in_c = w.shape
    if in_c != x.shape[3] or out_c != y.shape[3]:
        raise check.unsupported(f"{w.describe()} does not match {x.describe()} and {y.describe()}.")
    stride = (int(op.options.get("strideH", 1) or 1), int(op.options.get("strideW", 1) or 1))
    name = check.padding()
    if name not in ("SAME", "VALID"):
        raise check.unsupported(f"padding {name} is not supported (SAME, VALID).")
    pad = tuple(same_or_valid_padding(name, y.shape[a + 1], (kh, kw)[a], stride[a], 1)[1] for a in (0, 1))
    in_scale, in_zp = check.per_tensor_quant(x)
    out_scale, out_zp = check.per_tensor_quant(y)
    multipliers, shifts = per_channel_requant(in_scale, filter_scale_list(check, w, out_c, channel_axis=0), out_scale, out_c)
    return TransposeConvPlan(
        op_index=op.index,
        inputs=(x.index,),
        outputs=(y.index,),
        input_shape=(x.shape[1], x.shape[2], x.shape[3]),
        output_shape=tuple(y.shape),
        filter=np.ascontiguousarray(check.constant(w, "filter"), dtype=np.int8),
        bias=bias_vector(check, b, out_c),
        multipliers=np.asarray(multipliers, dtype=np.int32),
        shifts=np.asarray(shifts, dtype=np.int32),
        stride=stride,
        pad=(pad[0], pad[1]),
        input_offset=-in_zp,
        output_offset=out_zp,
        act_range=check.activation_bounds(y),
        batch=x.shape[0],
    )
