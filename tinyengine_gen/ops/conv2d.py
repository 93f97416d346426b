"""CONV_2D: int8 convolution with per-channel or per-tensor weights.

Matches TFLite Micro's reference ``ConvPerChannel``: int32 accumulation of
(input + input_offset) * filter over the receptive field (out-of-image taps contribute
nothing), plus bias, then per-channel requantisation, output offset and the clamp of the
fused activation. The numpy reference below is that formula, term for term.

The C kernels compute the same integers faster, as a GEMM (see te_conv2d_gemm.h): the
input offset is folded into the bias here (bias + input_offset * sum of the channel's
weights), out-of-image taps hold the input zero point so that they contribute 0, and the
weights are reordered here into the layout the chosen core reads. The planner picks one
kernel per layer:

- ``te_conv2d_1x1_s8``: 1x1 filter that reads its input in place (any stride); deep core.
- ``te_conv2d_1x1_shallow_s8``: the same with at most ``SHALLOW_MAX_DEPTH`` (an even number
  of) input channels; shallow core.
- ``te_conv2d_kxk_s8``: anything else (padding, dilation, NCHW input): im2col of 4 output
  pixels into scratch; deep core.
- ``te_conv2d_kxk_shallow_s8``: the same with a short receptive field (a 3x3x3 first layer
  with 32 outputs, a 1x1 layer with an odd channel count); shallow core.
- ``te_conv2d_narrow_s8``: a short receptive field and at most ``NARROW_MAX_CHANNELS``
  outputs (first layers, small pointwise layers): 32 output pixels are the vector lanes.
- ``te_conv2d_s8``: the generic loop nest, for receptive fields over ``MAX_GEMM_DEPTH``.

The shallow and narrow kernels sum two int8 products in int16, so they need weights in
[-127, 127] (what the TFLite converter produces); a filter holding -128 gets the deep core.

An ``inputLayout`` option of ``"NCHW"`` on the operator (set by a graph pass that folds a
leading NCHW -> NHWC TRANSPOSE into the convolution) means the input tensor is
[batch, channels, height, width]; the im2col kernels then read element (y, x, c) at
c * H * W + y * W + x and the layer computes what TRANSPOSE + CONV_2D computed.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping

import numpy as np

from tinyengine_gen.fixedpoint import fast_requant_applies, multiply_by_quantized_multiplier, shift_table
from tinyengine_gen.ir import DType, Graph, Operator
from tinyengine_gen.ops.base import (
    EmitContext,
    OpChecker,
    bias_vector,
    filter_scale_list,
    per_channel_requant,
    plan_property,
    register,
    replace_plan,
    spatial_padding,
)
from tinyengine_gen.ops.features import KernelVariant
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel

__all__ = [
    "Conv2DPlan",
    "plan_conv2d",
    "conv2d_reference",
    "choose_kernel",
    "shallow_filter_layout",
    "narrow_filter_layout",
    "fold_input_offset",
    "SHALLOW_MAX_DEPTH",
    "DEEP_TILE_SOURCES",
    "NARROW_MAX_CHANNELS",
    "MAX_GEMM_DEPTH",
    "GEMM_SOURCES",
    "CONV2D_S8",
    "CONV2D_1X1_S8",
    "CONV2D_1X1_SHALLOW_S8",
    "CONV2D_KXK_S8",
    "CONV2D_KXK_SHALLOW_S8",
    "CONV2D_NARROW_S8",
    "KERNELS",
    "IN_PLACE_KERNELS",
]

#: Receptive fields (k_h * k_w * in_c, rounded up to even) up to this length use the
#: shallow (outer-product) core; longer ones the deep (dot-product) core.
SHALLOW_MAX_DEPTH = 48
#: Layers with at most this many output channels (and a shallow receptive field) use
#: te_conv2d_narrow_s8, whose vector lanes are output pixels rather than channels.
NARROW_MAX_CHANNELS = 16
#: te_conv2d_gemm.h's TE_GEMM_MAX_DEPTH: beyond it the generic kernel runs (no scratch).
MAX_GEMM_DEPTH = 16384
#: te_conv2d_gemm.h's tile and block sizes.
GEMM_PIXELS = 4
GEMM_BLOCK = 32
NARROW_PIXELS = 32

#: the GEMM core and, in arm/, its Armv7E-M code (included by te_conv2d_gemm.h where TE_DSP)
GEMM_SOURCES = (
    "te_conv2d_gemm.h",
    "te_gemm_config.h",
    "te_fixedpoint.h",
    "arm/te_gemm_deep_dsp.h",
    "arm/te_gemm_shallow_dsp.h",
    "arm/te_gemm_1x1_dsp.h",
)
#: The kernel variants (files copied into the project only when a layer uses that kernel).
CONV2D_S8 = Kernel("te_conv2d_s8", ("te_conv2d.c", "te_conv2d.h", "te_fixedpoint.h"))
CONV2D_1X1_S8 = Kernel("te_conv2d_1x1_s8", ("te_conv2d_1x1.c", "te_conv2d_1x1.h") + GEMM_SOURCES)
CONV2D_1X1_SHALLOW_S8 = Kernel("te_conv2d_1x1_shallow_s8", ("te_conv2d_1x1_shallow.c", "te_conv2d_1x1_shallow.h") + GEMM_SOURCES)
#: the deep tile's DSP code: one copy, in te_conv2d_1x1.c, for every deep kernel
DEEP_TILE_SOURCES = ("te_conv2d_1x1.c", "te_conv2d_1x1.h")
CONV2D_KXK_S8 = Kernel("te_conv2d_kxk_s8", ("te_conv2d_kxk.c", "te_conv2d_kxk.h") + DEEP_TILE_SOURCES + GEMM_SOURCES)
CONV2D_KXK_SHALLOW_S8 = Kernel("te_conv2d_kxk_shallow_s8", ("te_conv2d_kxk_shallow.c", "te_conv2d_kxk_shallow.h") + GEMM_SOURCES)
CONV2D_NARROW_S8 = Kernel(
    "te_conv2d_narrow_s8", ("te_conv2d_narrow.c", "te_conv2d_narrow.h", "arm/te_conv2d_narrow_dsp.h") + GEMM_SOURCES
)
#: every variant the planner picks from
KERNELS = (CONV2D_S8, CONV2D_1X1_S8, CONV2D_1X1_SHALLOW_S8, CONV2D_KXK_S8, CONV2D_KXK_SHALLOW_S8, CONV2D_NARROW_S8)
_IN_PLACE_SOURCES = ("te_conv2d_1x1_inplace.c", "te_conv2d_1x1_inplace.h") + DEEP_TILE_SOURCES + GEMM_SOURCES
#: The in-place twin of each pointwise kernel that has one (see :meth:`Conv2DPlan.in_place_variant`).
IN_PLACE_KERNELS: dict[Kernel, Kernel] = {
    CONV2D_1X1_S8: Kernel("te_conv2d_1x1_inplace_s8", _IN_PLACE_SOURCES),
    CONV2D_1X1_SHALLOW_S8: Kernel("te_conv2d_1x1_shallow_inplace_s8", _IN_PLACE_SOURCES),
}
#: The shallow-core kernel that computes what a deep-core kernel computes with less scratch.
_LEAN_KERNELS = {CONV2D_KXK_S8: CONV2D_KXK_SHALLOW_S8, CONV2D_1X1_S8: CONV2D_1X1_SHALLOW_S8}
_LAYOUTS = ("NHWC", "NCHW")


@dataclasses.dataclass(frozen=True, eq=False)
class Conv2DPlan(KernelVariant, DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    input_shape: tuple[int, int, int, int]  # (n, h, w, c) whatever the input layout
    output_shape: tuple[int, int, int, int]
    filter: np.ndarray  # [out_c, k_h, k_w, in_c] int8, as in the file
    bias: np.ndarray  # [out_c] int32 (zeros when the model has none)
    stride: tuple[int, int]
    dilation: tuple[int, int]
    padding: tuple[int, int]  # (top, left)
    input_offset: int
    output_offset: int
    multipliers: np.ndarray
    shifts: np.ndarray
    act_min: int
    act_max: int
    kernel: Kernel = CONV2D_S8
    input_layout: str = "NHWC"  # or "NCHW": the input tensor is [n, c, h, w]
    depth: int = 0  # values per GEMM row (k_h * k_w * in_c, even for the shallow core)
    gemm_filter: np.ndarray | None = None  # weights in the layout ``kernel`` reads
    gemm_bias: np.ndarray | None = None  # bias + input_offset * sum of weights, int32
    #: write the output over the input buffer (only set by :meth:`in_place_variant`)
    in_place: bool = False

    @plan_property  # (read for every layout the memory passes try)
    def aliases(self) -> tuple[tuple[int, int], ...]:
        return ((self.outputs[0], self.inputs[0]),) if self.in_place else ()

    @property
    def function(self) -> Kernel:
        """The kernel the emitted call runs: ``kernel``, or its in-place twin."""
        return IN_PLACE_KERNELS[self.kernel] if self.in_place else self.kernel

    @property
    def macs(self) -> int:
        n, oh, ow, oc = self.output_shape
        _, kh, kw, ic = self.filter.shape
        return n * oh * ow * oc * kh * kw * ic

    @property
    def kernels(self) -> tuple[Kernel, ...]:
        return (self.function,)

    @plan_property  # (read for every layout the memory passes try)
    def scratch_bytes(self) -> int:
        """Rows of four output pixels: int16 for the deep core, int8 im2col rows for the shallow one
        (and, in place, a copy of the four input rows the shallow core reads)."""
        if self.in_place and self.kernel == CONV2D_1X1_SHALLOW_S8:
            return GEMM_PIXELS * self.depth
        if self.kernel == CONV2D_1X1_S8:
            return 2 * GEMM_PIXELS * self.depth  # int16 rows of the deep core
        if self.kernel == CONV2D_KXK_S8:
            return 3 * GEMM_PIXELS * self.depth  # the deep core's int16 tile and the int8 im2col rows
        if self.kernel == CONV2D_KXK_SHALLOW_S8:
            return GEMM_PIXELS * self.depth  # int8 im2col rows
        if self.kernel == CONV2D_NARROW_S8:
            # [depth][32] tile, one im2col row, 16 B a channel of requantisation constants (DSP)
            return (NARROW_PIXELS + 1) * self.depth + 16 * (self.output_shape[3] + self.output_shape[3] % 2)
        return 0

    def in_place_variant(self) -> "Conv2DPlan | None":
        """This plan writing its output over its input, or None where that is not exact.

        A 1x1 stride-1 layer without padding (batch 1) maps input pixel p to output pixel p
        only. te_conv2d_1x1_inplace.c copies a tile's input rows into scratch before it
        writes the tile's outputs, and walks the tiles forward when out_c <= in_c (a tile's
        outputs then cover only input pixels already consumed) and backward otherwise. The
        buffer holds max(input, output) bytes; the temporary is the op's scratch.
        """
        return self._in_place_variant

    @plan_property
    def _in_place_variant(self) -> "Conv2DPlan | None":
        """Made once per plan (plans are immutable; the NAS cost model's recur across configs)."""
        n, ih, iw, _ = self.input_shape
        _, oh, ow, _ = self.output_shape
        pointwise = self.filter.shape[1:3] == (1, 1) and self.stride == (1, 1) and self.padding == (0, 0)
        if self.in_place or self.kernel not in IN_PLACE_KERNELS or n != 1 or not pointwise:
            return None
        if (ih, iw) != (oh, ow) or self.input_layout != "NHWC":
            return None
        return replace_plan(self, in_place=True)

    def lean_variant(self) -> "Conv2DPlan | None":
        """The same layer on the shallow core, whose scratch is half the deep core's (or none
        for a 1x1 layer), or None where the shallow core cannot run it exactly (a weight of
        -128, an odd 1x1 depth). Slower on long rows: only worth it where scratch sets the peak."""
        lean = _LEAN_KERNELS.get(self.kernel)
        if lean is None or int(self.filter.min(initial=0)) < -127:
            return None
        out_c, kh, kw, ic = self.filter.shape
        depth = kh * kw * ic
        if lean == CONV2D_1X1_SHALLOW_S8 and depth % 2:
            return None
        depth += depth % 2
        gemm_filter = shallow_filter_layout(self.filter.reshape(out_c, kh * kw * ic), depth)
        return replace_plan(self, kernel=lean, depth=depth, gemm_filter=gemm_filter)

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        x = values[self.inputs[0]]
        if self.input_layout == "NCHW":
            x = x.transpose(0, 2, 3, 1)
        return {self.outputs[0]: conv2d_reference(x, self)}

    def emit(self, ctx: EmitContext) -> list[str]:
        if self.kernel == CONV2D_S8:
            return self._emit_generic(ctx)
        filter_symbol, bias_symbol, mult_symbol, shift_symbol = self.gemm_constants(ctx)
        scratch = f", {ctx.scratch('void')}" if self.scratch_bytes else ""
        comment = ["  /* in place: the output overwrites the input */"] if self.in_place else []
        return [
            "{",
            *comment,
            f"  static const te_conv2d_gemm_params params = {{{self.gemm_params()}}};",
            f"  {self.function.name}(&params, {ctx.tensor(self.inputs[0])}, {filter_symbol}, {bias_symbol}, "
            f"{mult_symbol}, {shift_symbol}, {ctx.tensor(self.outputs[0])}{scratch});",
            "}",
        ]

    @property
    def tail_width(self) -> int:
        """Channels of the unpadded last block of the shallow layout, 0 where it stays padded to
        32: only layers every build reads with a width-aware loop (te_conv2d_1x1_shallow_s8 up
        to SHALLOW_MAX_DEPTH deep: DSP builds gather their weights group by group, portable
        ones take the width from te_conv2d_gemm_params), so the zero padding leaves Flash."""
        out_c = self.filter.shape[0]
        if self.function is not CONV2D_1X1_SHALLOW_S8 or self.depth > SHALLOW_MAX_DEPTH or out_c % GEMM_BLOCK == 0:
            return 0
        return out_c % GEMM_BLOCK

    def gemm_constants(self, ctx: EmitContext) -> tuple[str, str, str, str]:
        """Symbols of the GEMM weights, folded bias, multipliers and shifts (emitted once)."""
        assert self.gemm_filter is not None and self.gemm_bias is not None
        return (
            ctx.const(f"op{self.op_index}_filter", unpadded_tail(self.gemm_filter, self.depth, self.tail_width)),
            ctx.const(f"op{self.op_index}_bias", self.gemm_bias),
            ctx.const(f"op{self.op_index}_multiplier", self.multipliers),
            ctx.const(f"op{self.op_index}_shift", shift_table(self.shifts)),
        )

    def gemm_params(self) -> str:
        """Designated initializer of this layer's ``te_conv2d_gemm_params``."""
        n, ih, iw, ic = self.input_shape
        _, oh, ow, oc = self.output_shape
        _, kh, kw, _ = self.filter.shape
        return (
            f".batches = {n}, .in_h = {ih}, .in_w = {iw}, .in_c = {ic}, .out_h = {oh}, .out_w = {ow}, "
            f".out_c = {oc}, .k_h = {kh}, .k_w = {kw}, .stride_h = {self.stride[0]}, .stride_w = {self.stride[1]}, "
            f".dil_h = {self.dilation[0]}, .dil_w = {self.dilation[1]}, .pad_top = {self.padding[0]}, "
            f".pad_left = {self.padding[1]}, .depth = {self.depth}, .nchw = {int(self.input_layout == 'NCHW')}, "
            f".pad_value = {-self.input_offset}, .output_offset = {self.output_offset}, "
            f".act_min = {self.act_min}, .act_max = {self.act_max}, .fast_requant = {int(self.fast_requant)}"
            + (f", .tail_width = {self.tail_width}" if self.tail_width else "")
        )

    @functools.cached_property
    def fast_requant(self) -> bool:
        """Whether the DSP kernels may requantise with te_requantize_rq: its preconditions
        hold for every channel's accumulator, |folded bias| + 128 * sum |w| (raw int8 inputs)."""
        if self.gemm_bias is None:
            return False
        out_c = self.filter.shape[0]
        weight_sums = np.abs(self.filter.reshape(out_c, -1).astype(np.int64)).sum(axis=1)
        bounds = np.abs(self.gemm_bias.astype(np.int64)) + 128 * weight_sums
        return fast_requant_applies(self.multipliers, self.shifts, self.output_offset, bounds)

    def _emit_generic(self, ctx: EmitContext) -> list[str]:
        n, ih, iw, ic = self.input_shape
        _, oh, ow, oc = self.output_shape
        _, kh, kw, _ = self.filter.shape
        filter_symbol = ctx.const(f"op{self.op_index}_filter", self.filter)
        bias_symbol = ctx.const(f"op{self.op_index}_bias", self.bias)
        mult_symbol = ctx.const(f"op{self.op_index}_multiplier", self.multipliers)
        shift_symbol = ctx.const(f"op{self.op_index}_shift", shift_table(self.shifts))
        params = (
            f".batches = {n}, .in_h = {ih}, .in_w = {iw}, .in_c = {ic}, .out_h = {oh}, .out_w = {ow}, "
            f".out_c = {oc}, .k_h = {kh}, .k_w = {kw}, .stride_h = {self.stride[0]}, .stride_w = {self.stride[1]}, "
            f".dil_h = {self.dilation[0]}, .dil_w = {self.dilation[1]}, .pad_top = {self.padding[0]}, "
            f".pad_left = {self.padding[1]}, .input_offset = {self.input_offset}, .output_offset = {self.output_offset}, "
            f".act_min = {self.act_min}, .act_max = {self.act_max}"
        )
        return [
            "{",
            f"  static const te_conv2d_params params = {{{params}}};",
            f"  {CONV2D_S8.name}(&params, {ctx.tensor(self.inputs[0])}, {filter_symbol}, {bias_symbol}, "
            f"{mult_symbol}, {shift_symbol}, {ctx.tensor(self.outputs[0])});",
            "}",
        ]


def choose_kernel(
    filter_shape: tuple[int, int, int, int],
    reads_inside: bool,
    input_layout: str,
    weight_min: int,
) -> tuple[Kernel, int]:
    """(kernel, GEMM row length) for a layer.

    ``reads_inside``: every output pixel's taps lie inside the input (no padding is read),
    which lets a 1x1 filter read its rows in place.
    """
    out_c, kh, kw, ic = filter_shape
    depth = kh * kw * ic
    if depth > MAX_GEMM_DEPTH:
        return CONV2D_S8, 0
    even = depth + depth % 2
    shallow = even <= SHALLOW_MAX_DEPTH and weight_min >= -127
    if shallow and out_c <= NARROW_MAX_CHANNELS:
        return CONV2D_NARROW_S8, -(-depth // 4) * 4  # whole groups of four: no tail in the tile loops
    if kh == kw == 1 and reads_inside and input_layout == "NHWC" and not (shallow and depth % 2):
        return (CONV2D_1X1_SHALLOW_S8, depth) if shallow else (CONV2D_1X1_S8, depth)
    return (CONV2D_KXK_SHALLOW_S8, even) if shallow else (CONV2D_KXK_S8, depth)


def fold_input_offset(filter2d: np.ndarray, bias: np.ndarray, input_offset: int) -> np.ndarray:
    """bias + input_offset * (sum of each output channel's weights), wrapped to int32 as the
    C accumulator wraps."""
    folded = bias.astype(np.int64) + input_offset * filter2d.astype(np.int64).sum(axis=1)
    return (((folded + 2**31) % 2**32) - 2**31).astype(np.int32)


def shallow_filter_layout(filter2d: np.ndarray, depth: int) -> np.ndarray:
    """[out_c, k] weights as the shallow core reads them: the depth padded with zeros to
    ``depth``, the channels with zero filters to a multiple of 32, then each block of 32
    channels as [depth / 2][2][32] (the two weights of a depth pair, 32 channels apart)."""
    out_c, k = filter2d.shape
    blocks = -(-out_c // GEMM_BLOCK)
    padded = np.zeros((blocks * GEMM_BLOCK, depth), dtype=np.int8)
    padded[:out_c, :k] = filter2d
    # [block][channel][depth] -> [block][depth][channel]; [depth][32] is [depth / 2][2][32]
    return np.ascontiguousarray(padded.reshape(blocks, GEMM_BLOCK, depth).transpose(0, 2, 1)).reshape(-1)


def narrow_filter_layout(filter2d: np.ndarray, depth: int) -> np.ndarray:
    """[out_c, k] weights as te_conv2d_narrow_s8 reads them: int16, doubled (the DSP
    kernel's sums are then 2 * acc, what its requantisation starts from, without doubling
    the inputs), the depth padded with zeros to ``depth`` (a multiple of four), the channels
    with a zero filter to even; then channel pairs as [out_c / 2][depth / 4][2][4], each
    group of four in the order (w0, w2, w1, w3) in which SXTB16 widens four int8 inputs, so
    that one LDRD gives a channel's four weights of a group."""
    out_c, k = filter2d.shape
    pairs = -(-out_c // 2)
    padded = np.zeros((2 * pairs, depth), dtype=np.int16)
    padded[:out_c, :k] = 2 * filter2d.astype(np.int16)
    groups = padded.reshape(pairs, 2, depth // 4, 4)[..., [0, 2, 1, 3]]
    return np.ascontiguousarray(groups.transpose(0, 2, 1, 3)).reshape(-1)


def unpadded_tail(blocked: np.ndarray, depth: int, tail_width: int) -> np.ndarray:
    """The shallow layout with its last block's zero padding dropped: [depth][tail_width]
    instead of [depth][32] (the first ``tail_width`` channels of each depth row); unchanged
    where ``tail_width`` is 0."""
    if not tail_width:
        return blocked
    last = blocked[-GEMM_BLOCK * depth :].reshape(depth, GEMM_BLOCK)[:, :tail_width]
    return np.concatenate([blocked[: -GEMM_BLOCK * depth], last.reshape(-1)])


def _gemm_filter(kernel: Kernel, filter2d: np.ndarray, depth: int) -> np.ndarray:
    if kernel in (CONV2D_1X1_SHALLOW_S8, CONV2D_KXK_SHALLOW_S8):
        return shallow_filter_layout(filter2d, depth)
    if kernel == CONV2D_NARROW_S8:
        return narrow_filter_layout(filter2d, depth)
    padded = np.zeros((filter2d.shape[0], depth), dtype=np.int8)
    padded[:, : filter2d.shape[1]] = filter2d
    return padded


@register("CONV_2D", inputs=2)
def plan_conv2d(graph: Graph, op: Operator) -> Conv2DPlan:
    check = OpChecker(graph, op)
    x = check.required_input(0)
    w = check.required_input(1)
    b = check.input(2, optional=True)
    y = check.output()
    for tensor in (x, w, y):
        check.dtype(tensor, DType.INT8)
        check.rank(tensor, 4)
    layout = str(op.options.get("inputLayout", "NHWC"))
    if layout not in _LAYOUTS:
        raise check.unsupported(f"input layout {layout} is not supported (NHWC, NCHW).")
    weights = check.constant(w, "filter")
    in_scale, in_zp = check.per_tensor_quant(x)
    out_scale, out_zp = check.per_tensor_quant(y)
    if layout == "NCHW":
        n, ic, ih, iw = x.shape
    else:
        n, ih, iw, ic = x.shape
    oc, kh, kw, w_ic = w.shape
    if w_ic != ic:
        raise check.unsupported(
            f"grouped convolution ({ic} input channels, filter depth {w_ic}) is not supported."
        )
    options = check.required_options("stride 0, dilation 0")
    stride = (int(options.get("strideH", 0)), int(options.get("strideW", 0)))
    dilation = (int(options.get("dilationHFactor", 0)), int(options.get("dilationWFactor", 0)))
    if min(stride + dilation) < 1:
        raise check.unsupported(f"strides {stride} and dilations {dilation} must be positive.")
    (oh, pad_top), (ow, pad_left) = spatial_padding(check, (ih, iw), (kh, kw), stride, dilation)
    check.output_shape_matches(y, (n, oh, ow, oc))
    filter_scales = filter_scale_list(check, w, oc)
    bias = bias_vector(check, b, oc)
    multipliers, shifts = per_channel_requant(in_scale, filter_scales, out_scale, oc)
    act_min, act_max = check.activation_bounds(y)
    filter_array = np.ascontiguousarray(weights, dtype=np.int8)
    reads_inside = (
        pad_top == 0
        and pad_left == 0
        and (oh - 1) * stride[0] + (kh - 1) * dilation[0] < ih
        and (ow - 1) * stride[1] + (kw - 1) * dilation[1] < iw
    )
    kernel, depth = choose_kernel((oc, kh, kw, ic), reads_inside, layout, int(filter_array.min(initial=0)))
    if kernel == CONV2D_S8 and layout != "NHWC":
        raise check.unsupported(
            f"an {layout} input with a receptive field of {kh * kw * ic} values (over {MAX_GEMM_DEPTH}) "
            "is not supported."
        )
    gemm_filter = gemm_bias = None
    if kernel != CONV2D_S8:
        filter2d = filter_array.reshape(oc, kh * kw * ic)
        gemm_filter = _gemm_filter(kernel, filter2d, depth)
        gemm_bias = fold_input_offset(filter2d, bias, -in_zp)
    return Conv2DPlan(
        op_index=op.index,
        inputs=(x.index,),
        outputs=(y.index,),
        input_shape=(n, ih, iw, ic),
        output_shape=(n, oh, ow, oc),
        filter=filter_array,
        bias=bias,
        stride=stride,
        dilation=dilation,
        padding=(pad_top, pad_left),
        input_offset=-in_zp,
        output_offset=out_zp,
        multipliers=multipliers,
        shifts=shifts,
        act_min=act_min,
        act_max=act_max,
        kernel=kernel,
        input_layout=layout,
        depth=depth,
        gemm_filter=gemm_filter,
        gemm_bias=gemm_bias,
    )


def conv2d_reference(x: np.ndarray, plan: Conv2DPlan) -> np.ndarray:
    """Pure-numpy twin of TFLite Micro's ConvPerChannel on an NHWC input (unfolded: the
    input offset is added to every in-image tap, out-of-image taps are skipped)."""
    n, oh, ow, oc = plan.output_shape
    _, kh, kw, _ = plan.filter.shape
    (sh, sw), (dh, dw), (pt, pl) = plan.stride, plan.dilation, plan.padding
    shifted = x.astype(np.int64) + plan.input_offset
    need_h = (oh - 1) * sh + (kh - 1) * dh + 1
    need_w = (ow - 1) * sw + (kw - 1) * dw + 1
    padded = np.pad(
        shifted,
        ((0, 0), (pt, max(0, need_h - x.shape[1] - pt)), (pl, max(0, need_w - x.shape[2] - pl)), (0, 0)),
    )
    acc = np.zeros((n, oh, ow, oc), dtype=np.int64)
    weights = plan.filter.astype(np.int64)
    for ky in range(kh):
        for kx in range(kw):
            window = padded[:, ky * dh : ky * dh + (oh - 1) * sh + 1 : sh, kx * dw : kx * dw + (ow - 1) * sw + 1 : sw, :]
            acc += np.tensordot(window, weights[:, ky, kx, :], axes=([3], [1]))
    acc += plan.bias.astype(np.int64)
    acc = ((acc + 2**31) % 2**32) - 2**31  # int32 accumulator wrap-around, as in C
    out = multiply_by_quantized_multiplier(acc, plan.multipliers, plan.shifts) + plan.output_offset
    return np.clip(out, plan.act_min, plan.act_max).astype(np.int8)
