"""DEPTHWISE_CONV_2D: int8 depthwise convolution with per-channel or per-tensor weights.

Matches TFLite Micro's reference ``DepthwiseConvPerChannel``: output channel ``o`` reads
input channel ``o // depth_multiplier``; int32 accumulation of (input + input_offset) *
filter over the receptive field (out-of-image taps contribute nothing), plus bias, then
per-channel requantisation, output offset and the clamp of the fused activation.

With depth multiplier 1 (every MobileNet-style network) the row-ring kernel of
``te_depthwise_rows.h`` runs instead of the generic one: zero-point padded rows in a small
ring buffer (the op's scratch), the input offset folded into the bias, loops specialised
for 3x3/5x5/7x7 and stride 1/2. The same kernel can write its output over its own input
(MCUNet's in-place depthwise); :meth:`DepthwiseConv2DPlan.in_place_variant` checks, row by
row, that this never overwrites an input row before it has been copied into the ring.
Square 5x5/7x7 and wide 3x3 stride-1 int8 layers run on ``te_depthwise_plane.h`` instead
(:attr:`DepthwiseConv2DPlan.uses_plane`): one channel's padded plane at a time, a
channel-major filter, two taps per SMLAD; its scratch (the plane) is never above the ring's,
and it runs in place wherever the ring kernel would.

The depth multiplier is taken from the shapes (out_c / in_c), not from the option: TFLite
Micro uses the option verbatim, so a file whose option disagrees with its shapes makes it
read and write out of bounds (or skip channels), while the TFLite interpreter derives the
multiplier from the shapes when the option is 0. The shapes are the only consistent truth.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping

import numpy as np

from tinyengine_gen.fixedpoint import fast_requant_applies, multiply_by_quantized_multiplier, shift_table
from tinyengine_gen.ir import DType, Graph, Operator
from tinyengine_gen.int4_packing import pack_int4
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel
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

__all__ = ["DepthwiseConv2DPlan", "PackedWeights", "depthwise_conv2d_reference", "plan_depthwise_conv2d"]


@dataclasses.dataclass(frozen=True, eq=False)
class PackedWeights:
    """A depthwise filter stored as 4-bit values two per byte, with its shift table as int8."""

    filter: np.ndarray  # uint8, TFLite INT4 nibble order
    shifts: np.ndarray  # int8

#: The tap table of te_depthwise_pairs.h (int16 pairs) takes 2.7-4.6x the Flash of the int8
#: filter; a layer gets it where it has at least this many MACs per extra byte. On
#: mcunet_vww (mps2-an500, QEMU) the layers above it save 20-175 instructions per extra byte
#: and hold 1.08 M of the 1.55 M instructions the table saves everywhere, for 34 KB of the
#: 183 KB it would add; the rest keep te_depthwise_rows.h. (Widening the table from the int8
#: filter once per output row instead, with no extra Flash, was measured slower than
#: te_depthwise_rows.h on most of those layers.)
PAIR_TAPS_MACS_PER_FLASH_BYTE = 16

#: TFLite stores per-channel depthwise scales on the last filter axis.
DEPTHWISE_QUANTIZED_DIMENSION = 3


_ROWS_SOURCES = ("te_depthwise_rows.h", "arm/te_depthwise_rows_dsp.h", "te_int4.h", "arm/te_int4_dsp.h", "te_fixedpoint.h")
#: The kernels (the row-ring ones are header-only: model.c defines one specialisation per
#: filter size and strides with their DEFINE macros, named after the kernel).
DEPTHWISE_ROWS = Kernel("te_depthwise_rows", _ROWS_SOURCES)
DEPTHWISE_PLANE = Kernel("te_depthwise_plane", ("te_depthwise_plane.h",) + _ROWS_SOURCES)
#: te_depthwise_plane.h's slack: its plane and filter take this many bytes more than they hold
#: (word loads past the last needed byte stay inside them).
PLANE_SLACK = 4
#: te_depthwise_plane.h sets up each channel once per plane and each of its output rows; a 3x3
#: filter does too little per output for that to pay on narrow rows. Measured on mcunet_vww
#: (mps2-an500, QEMU): 5x5 and 7x7 layers 2-13 % fewer instructions at every width and
#: stride; 3x3 stride 1 7.5-10 % fewer at output widths 20 and 40, 9-54 % more at widths
#: 3-10; 3x3 stride 2 16 % more at width 20. Those keep te_depthwise_rows.h.
PLANE_MIN_OUT_WIDTH = 16
DEPTHWISE_PAIRS = Kernel("te_depthwise_pairs", ("te_depthwise_pairs.h", "arm/te_depthwise_pairs_dsp.h") + _ROWS_SOURCES)
DEPTHWISE_CONV2D_S8 = Kernel(
    "te_depthwise_conv2d_s8",
    ("te_depthwise_conv2d.c", "te_depthwise_conv2d.h", "te_depthwise_loop.h", "te_int4.h", "arm/te_int4_dsp.h", "te_fixedpoint.h"),
)


@dataclasses.dataclass(frozen=True, eq=False)
class DepthwiseConv2DPlan(DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    input_shape: tuple[int, int, int, int]
    output_shape: tuple[int, int, int, int]
    filter: np.ndarray  # [k_h, k_w, out_c] int8 (the leading 1 of the TFLite filter dropped)
    bias: np.ndarray  # [out_c] int32 (zeros when the model has none)
    depth_multiplier: int
    stride: tuple[int, int]
    dilation: tuple[int, int]
    padding: tuple[int, int]  # (top, left)
    input_offset: int
    output_offset: int
    multipliers: np.ndarray
    shifts: np.ndarray
    act_min: int
    act_max: int
    #: write the output over the input buffer (only set by :meth:`in_place_variant`)
    in_place: bool = False
    #: False: the generic kernel even where the row ring applies (only set by :meth:`lean_variant`)
    row_ring: bool = True
    #: the row ring as te_depthwise_pairs.h, with its tap table in Flash (only set by
    #: :meth:`channel_pairs_variant`, which the channel_pairs pass takes under --prefer=speed)
    channel_pairs: bool = False

    @property
    def uses_row_ring(self) -> bool:
        return self.row_ring and self.depth_multiplier == 1 and (self.filter.shape[0] - 1) * self.dilation[0] + 1 <= 16

    def lean_variant(self) -> "DepthwiseConv2DPlan | None":
        """The same layer on the generic kernel, which reads the input in place of a row ring
        (no scratch; slower), or None where there is no ring to drop or the layer runs in
        place (the ring is what lets it overwrite its input, worth more than the ring)."""
        if self.in_place or not self.uses_row_ring:
            return None
        return replace_plan(self, row_ring=False)

    @property
    def uses_channel_pairs(self) -> bool:
        """Whether the row ring runs as te_depthwise_pairs.h (int8 weights only: the packed
        twin keeps te_depthwise_rows.h, see _emit_row_ring)."""
        return self.channel_pairs and self.channel_pairs_pay

    def channel_pairs_variant(self) -> "DepthwiseConv2DPlan | None":
        """The same layer on te_depthwise_pairs.h (faster, more Flash), or None where that
        kernel does not apply or does not pay for its table."""
        if self.channel_pairs or not self.channel_pairs_pay:
            return None
        return replace_plan(self, channel_pairs=True)

    @property
    def channel_pairs_pay(self) -> bool:
        """Whether te_depthwise_pairs.h (two taps per multiply-accumulate) can run the layer
        (an even channel count, an odd filter width, no column dilation, the row ring) and
        saves enough instructions per extra byte of Flash its tap table takes."""
        kh, kw, c = self.filter.shape
        if not (self.uses_row_ring and c % 2 == 0 and kw % 2 == 1 and self.dilation[1] == 1):
            return False
        if kw == 3 and self.stride[1] > 1:  # measured: no faster than te_depthwise_rows.h's single pixels
            return False
        extra_flash = c * kh * ((kw + 1) // 2) * (8 if self.stride[1] == 1 else 4) - self.filter.size
        return self.macs >= PAIR_TAPS_MACS_PER_FLASH_BYTE * extra_flash


    @property
    def plane_shape(self) -> bool:
        """Whether te_depthwise_plane.h can run the layer: the row ring's conditions, square
        3x3/5x5/7x7 filters, equal strides 1 or 2, no dilation, not te_depthwise_pairs.h (a
        packed twin runs its TE_DW_PLANE_INT4_DEFINE instantiation where this plan runs the plane)."""
        kh, kw, _ = self.filter.shape
        return (self.uses_row_ring and not self.uses_channel_pairs and kh == kw and kh in (3, 5, 7)
                and self.stride[0] == self.stride[1] and self.stride[0] in (1, 2) and self.dilation == (1, 1))

    @plan_property
    def fast_requant_exact(self) -> bool:
        """Whether te_requantize_rq is exact for every channel (the params' fast_requant)."""
        return _fast_requant(self.filter, self.folded_bias, self)

    @property
    def folded_bias(self) -> np.ndarray:
        """bias + input_offset * the sum of each channel's taps, wrapped to int32 as the C sums wrap."""
        folded = self.bias.astype(np.int64) + self.input_offset * self.filter.astype(np.int64).sum(axis=(0, 1))
        return folded.astype(np.int32)

    @property
    def plane_rows(self) -> int:
        """The input rows the outputs read, padding included: the plane's height."""
        return (self.output_shape[1] - 1) * self.stride[0] + self.filter.shape[0]

    @property
    def uses_plane(self) -> bool:
        """Whether the layer runs on te_depthwise_plane.h (one channel's padded plane at a
        time, two taps per SMLAD): where it can, where its plane takes no more scratch than
        te_depthwise_rows.h's ring (so no peak grows), and where it was measured faster
        (PLANE_MIN_OUT_WIDTH)."""
        if not self.plane_shape or self.plane_rows * self.ring_width + PLANE_SLACK > self.ring_bytes:
            return False
        if not self.fast_requant_exact:  # its DSP code requantises with te_requantize_rq only
            return False
        k, stride, out_w = self.filter.shape[0], self.stride[0], self.output_shape[2]
        return k >= 5 or (stride == 1 and out_w >= PLANE_MIN_OUT_WIDTH)

    @property
    def kernels(self) -> tuple[Kernel, ...]:
        if self.uses_channel_pairs:
            return (DEPTHWISE_PAIRS,)
        if self.uses_plane:
            return (DEPTHWISE_PLANE,)
        return (DEPTHWISE_ROWS,) if self.uses_row_ring else (DEPTHWISE_CONV2D_S8,)

    @plan_property  # (read for every layout the memory passes try)
    def aliases(self) -> tuple[tuple[int, int], ...]:
        return ((self.outputs[0], self.inputs[0]),) if self.in_place else ()

    @property
    def ring_rows(self) -> int:
        return (self.filter.shape[0] - 1) * self.dilation[0] + 1

    @property
    def ring_width(self) -> int:
        _, _, iw, _ = self.input_shape
        _, _, ow, _ = self.output_shape
        needed = (ow - 1) * self.stride[1] + (self.filter.shape[1] - 1) * self.dilation[1] + 1
        return max(self.padding[1] + iw, needed)

    @property
    def macs(self) -> int:
        n, oh, ow, oc = self.output_shape
        kh, kw, _ = self.filter.shape
        return n * oh * ow * oc * kh * kw

    @property
    def ring_bytes(self) -> int:
        """te_depthwise_rows.h's ring (0 off the row ring)."""
        return self.ring_rows * self.ring_width * self.input_shape[3] if self.uses_row_ring else 0

    @plan_property  # (read for every layout the memory passes try)
    def scratch_bytes(self) -> int:
        return self.plane_rows * self.ring_width + PLANE_SLACK if self.uses_plane else self.ring_bytes

    def in_place_variant(self) -> "DepthwiseConv2DPlan | None":
        """This plan writing over its input, if the row-ring order makes that safe; else None.

        The kernel copies every input row into the ring before it writes any output byte
        that overlaps it; here we replay that order and check it for each output row.
        """
        return self._in_place_variant

    @plan_property
    def _in_place_variant(self) -> "DepthwiseConv2DPlan | None":
        """Made once per plan (plans are immutable; the NAS cost model's recur across configs)."""
        n, ih, iw, _ = self.input_shape
        _, oh, ow, _ = self.output_shape
        if not self.uses_row_ring or n != 1:
            return None
        if not _rows_loaded_before_overwritten(ih, iw, oh, ow, self.stride[0], self.padding[0], self.ring_rows):
            return None
        return replace_plan(self, in_place=True)

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        return {self.outputs[0]: depthwise_conv2d_reference(values[self.inputs[0]], self)}

    def emit(self, ctx: EmitContext) -> list[str]:
        if self.uses_row_ring:
            return self._emit_row_ring(ctx)
        n, ih, iw, ic = self.input_shape
        _, oh, ow, oc = self.output_shape
        kh, kw, _ = self.filter.shape
        filter_symbol = ctx.const(f"op{self.op_index}_filter", self.filter)
        bias_symbol = ctx.const(f"op{self.op_index}_bias", self.bias)
        mult_symbol = ctx.const(f"op{self.op_index}_multiplier", self.multipliers)
        shift_symbol = ctx.const(f"op{self.op_index}_shift", shift_table(self.shifts))
        params = (
            f".batches = {n}, .in_h = {ih}, .in_w = {iw}, .in_c = {ic}, .out_h = {oh}, .out_w = {ow}, "
            f".out_c = {oc}, .depth_multiplier = {self.depth_multiplier}, .k_h = {kh}, .k_w = {kw}, "
            f".stride_h = {self.stride[0]}, .stride_w = {self.stride[1]}, "
            f".dil_h = {self.dilation[0]}, .dil_w = {self.dilation[1]}, .pad_top = {self.padding[0]}, "
            f".pad_left = {self.padding[1]}, .input_offset = {self.input_offset}, .output_offset = {self.output_offset}, "
            f".act_min = {self.act_min}, .act_max = {self.act_max}"
        )
        return [
            "{",
            f"  static const te_depthwise_conv2d_params params = {{{params}}};",
            (
                f"  te_depthwise_conv2d_s8(&params, {ctx.tensor(self.inputs[0])}, {filter_symbol}, {bias_symbol}, "
                f"{mult_symbol}, {shift_symbol}, {ctx.tensor(self.outputs[0])});"
            ),
            "}",
        ]


    def _emit_row_ring(self, ctx: EmitContext, packed: "PackedWeights | None" = None) -> list[str]:
        """The row-ring call; with ``packed`` (4-bit weights two per byte and an int8 shift table,
        :mod:`tinyengine_gen.ops.int4_weights`) the TE_DW_ROWS_INT4_DEFINE instantiation reads those."""
        n, ih, iw, c = self.input_shape
        _, oh, ow, _ = self.output_shape
        kh, kw, _ = self.filter.shape
        folded = self.folded_bias
        fast = self.fast_requant_exact
        pairs = packed is None and self.uses_channel_pairs
        plane = self.uses_plane
        square = kh == kw and kh in (3, 5, 7) and self.stride[0] == self.stride[1] and self.stride[0] in (1, 2)
        prefix, define = ("te_depthwise_rows", "TE_DW_ROWS_DEFINE") if packed is None else (
            "te_depthwise_rows_int4", "TE_DW_ROWS_INT4_DEFINE")
        if pairs:  # constants only: one specialisation per filter size and strides
            prefix, define = "te_depthwise_pairs", "TE_DW_PAIRS_DEFINE"
            name = f"{prefix}_{kh}x{kw}_s{self.stride[0]}" + ("" if self.stride[0] == self.stride[1] else f"x{self.stride[1]}")
            constants = f"{kh}, {kw}, {self.stride[0]}, {self.stride[1]}"
        elif plane:  # one specialisation per size, stride and clamp
            prefix, define = ("te_depthwise_plane", "TE_DW_PLANE_DEFINE") if packed is None else (
                "te_depthwise_plane_int4", "TE_DW_PLANE_INT4_DEFINE")
            full = self.act_min == -128 and self.act_max == 127
            name = f"{prefix}_{kh}x{kw}_s{self.stride[0]}" + ("" if full else "_clamp")
            constants = f"{kh}, {self.stride[0]}, {int(full)}"
        elif square:
            name = f"{prefix}_{kh}x{kw}_s{self.stride[0]}"
            constants = f"{kh}, {kw}, {self.stride[0]}, {self.stride[1]}"
        else:
            name, constants = f"{prefix}_any", "0, 0, 0, 0"
        ctx.definition(name, f"{define}({name}, {constants})")
        if pairs:
            weights = ctx.const(f"op{self.op_index}_pair_taps", _pair_taps(self.filter, self.stride[1], fast))
        elif plane:  # [channels][k_h][k_w]: int8 and the slack, or packed (the kernel unpacks a channel at a time)
            transposed = np.ascontiguousarray(self.filter.transpose(2, 0, 1)).reshape(-1)
            weights = (ctx.const(f"op{self.op_index}_filter_cm", np.concatenate([transposed, np.zeros(PLANE_SLACK, np.int8)]))
                       if packed is None else ctx.const(f"op{self.op_index}_filter_cm_int4", pack_int4(transposed)))
        elif packed is None:
            weights = ctx.const(f"op{self.op_index}_filter", self.filter)
        else:
            weights = ctx.const(f"op{self.op_index}_filter_int4", packed.filter)
        params = (
            f".batches = {n}, .in_h = {ih}, .in_w = {iw}, .channels = {c}, .out_h = {oh}, .out_w = {ow}, "
            f".k_h = {kh}, .k_w = {kw}, .stride_h = {self.stride[0]}, .stride_w = {self.stride[1]}, "
            f".dil_h = {self.dilation[0]}, .dil_w = {self.dilation[1]}, .pad_top = {self.padding[0]}, "
            f".pad_left = {self.padding[1]}, .ring_rows = {self.plane_rows if plane else self.ring_rows}, .ring_width = {self.ring_width}, "
            f".pad_value = {-self.input_offset}, .output_offset = {self.output_offset}, "
            f".act_min = {self.act_min}, .act_max = {self.act_max}, "
            f".fast_requant = {int(fast)}"
        )
        arguments = ", ".join(
            [
                "&params",
                ctx.tensor(self.inputs[0]),
                weights,
                ctx.const(f"op{self.op_index}_folded_bias", folded),
                ctx.const(f"op{self.op_index}_multiplier", self.multipliers),
                (ctx.const(f"op{self.op_index}_shift", shift_table(self.shifts)) if packed is None
                 else ctx.const(f"op{self.op_index}_shift_s8", packed.shifts)),
                ctx.tensor(self.outputs[0]),
                ctx.scratch("int8_t"),
            ]
        )
        comment = "  /* in place: the output overwrites the input */" if self.in_place else None
        return ["{"] + ([comment] if comment else []) + [
            f"  static const te_dw_rows_params params = {{{params}}};",
            f"  {name}({arguments});",
            "}",
        ]


@register("DEPTHWISE_CONV_2D", inputs=2)
def plan_depthwise_conv2d(graph: Graph, op: Operator) -> DepthwiseConv2DPlan:
    check = OpChecker(graph, op)
    x = check.required_input(0)
    w = check.required_input(1)
    b = check.input(2, optional=True)
    y = check.output()
    for tensor in (x, w, y):
        check.dtype(tensor, DType.INT8)
        check.rank(tensor, 4)
    weights = check.constant(w, "filter")
    in_scale, in_zp = check.per_tensor_quant(x)
    out_scale, out_zp = check.per_tensor_quant(y)
    n, ih, iw, ic = x.shape
    one, kh, kw, oc = w.shape
    if one != 1:
        raise check.unsupported(f"{w.describe()} (filter) must have shape [1, k_h, k_w, out_c].")
    depth_multiplier = _depth_multiplier(check, ic, oc)
    options = check.required_options("stride 0, dilation 0")
    stride = (int(options.get("strideH", 0)), int(options.get("strideW", 0)))
    dilation = (int(options.get("dilationHFactor", 0)), int(options.get("dilationWFactor", 0)))
    if min(stride + dilation) < 1:
        raise check.unsupported(f"strides {stride} and dilations {dilation} must be positive.")
    (oh, pad_top), (ow, pad_left) = spatial_padding(check, (ih, iw), (kh, kw), stride, dilation)
    check.output_shape_matches(y, (n, oh, ow, oc))
    filter_scales = filter_scale_list(check, w, oc, channel_axis=DEPTHWISE_QUANTIZED_DIMENSION)
    bias = bias_vector(check, b, oc)
    multipliers, shifts = per_channel_requant(in_scale, filter_scales, out_scale, oc)
    act_min, act_max = check.activation_bounds(y)
    return DepthwiseConv2DPlan(
        op_index=op.index,
        inputs=(x.index,),
        outputs=(y.index,),
        input_shape=(n, ih, iw, ic),
        output_shape=(n, oh, ow, oc),
        filter=np.ascontiguousarray(weights.reshape(kh, kw, oc), dtype=np.int8),
        bias=bias,
        depth_multiplier=depth_multiplier,
        stride=stride,
        dilation=dilation,
        padding=(pad_top, pad_left),
        input_offset=-in_zp,
        output_offset=out_zp,
        multipliers=multipliers,
        shifts=shifts,
        act_min=act_min,
        act_max=act_max,
    )


def _depth_multiplier(check: OpChecker, in_channels: int, out_channels: int) -> int:
    """out_c / in_c; the file's depth_multiplier option is ignored (see the module docstring)."""
    if in_channels < 1 or out_channels % in_channels != 0:
        raise check.unsupported(
            f"{out_channels} output channels is not a multiple of {in_channels} input channels; "
            "a depthwise convolution needs out_c = in_c * depth_multiplier."
        )
    return out_channels // in_channels


@functools.lru_cache(maxsize=4096)
def _rows_loaded_before_overwritten(ih: int, iw: int, oh: int, ow: int, stride: int, pad_top: int, ring_rows: int) -> bool:
    """Whether each output row of the in-place row-ring kernel overwrites only input rows
    already copied into the ring (memoised: the NAS cost model asks for every layer it prices)."""
    for oy in range(oh):
        loaded_through = oy * stride - pad_top + ring_rows - 1
        last_overwritten = ((oy + 1) * ow - 1) // iw  # input row holding the last byte written
        if last_overwritten < ih and last_overwritten > loaded_through:
            return False
    return True


def _fast_requant(filter_: np.ndarray, folded_bias: np.ndarray, plan: DepthwiseConv2DPlan) -> bool:
    """Whether the row-ring kernel's DSP path may requantise with te_requantize_rq: its
    preconditions hold for every channel's sum, |folded bias| + 128 * sum |w| (raw int8 inputs)."""
    bounds = np.abs(folded_bias.astype(np.int64)) + 128 * np.abs(filter_.astype(np.int64)).sum(axis=(0, 1))
    return fast_requant_applies(plan.multipliers, plan.shifts, plan.output_offset, bounds)


def _pair_taps(filter_: np.ndarray, stride_w: int, doubled: bool) -> np.ndarray:
    """The tap table te_depthwise_pairs.h reads, int16 pairs in its loop order.

    Per channel pair (c, c + 1), per filter row, per j < J = (k_w + 1) / 2: with stride 1
    [P_c, Q_c, P_c+1, Q_c+1], else [P_c, P_c+1], where P_j = (w[2j], w[2j+1]) and
    Q_j = (w[2j-1], w[2j]) (w outside the filter: 0), each pair low half first. Doubled
    where the kernel requantises with te_requantize_rq (its sums are then 2 * acc)."""
    kh, kw, c = filter_.shape
    nj = (kw + 1) // 2
    w = np.zeros((kh, 2 * nj + 1, c), dtype=np.int16)  # w[:, k + 1] = filter[:, k]
    w[:, 1 : kw + 1] = filter_.astype(np.int16) * (2 if doubled else 1)
    p = np.stack([w[:, 1::2][:, :nj], w[:, 2::2][:, :nj]], axis=-1)  # [kh, j, c, half]
    q = np.stack([w[:, 0::2][:, :nj], w[:, 1::2][:, :nj]], axis=-1)
    words = np.stack([p, q], axis=-2) if stride_w == 1 else p[:, :, :, None, :]  # [kh, j, c, word, half]
    per_pair = words.reshape(kh, nj, c // 2, 2, words.shape[3], 2).transpose(2, 0, 1, 3, 4, 5)
    return np.ascontiguousarray(per_pair).reshape(-1)


def depthwise_conv2d_reference(x: np.ndarray, plan: DepthwiseConv2DPlan) -> np.ndarray:
    """Pure-numpy twin of te_depthwise_conv2d_s8 (and of TFLite Micro's DepthwiseConvPerChannel)."""
    n, oh, ow, oc = plan.output_shape
    kh, kw, _ = plan.filter.shape
    (sh, sw), (dh, dw), (pt, pl) = plan.stride, plan.dilation, plan.padding
    # Output channel o reads input channel o // depth_multiplier: repeat each input channel.
    shifted = np.repeat(x.astype(np.int64) + plan.input_offset, plan.depth_multiplier, axis=3)
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
            window = padded[
                :, ky * dh : ky * dh + (oh - 1) * sh + 1 : sh, kx * dw : kx * dw + (ow - 1) * sw + 1 : sw, :
            ]
            acc += window * weights[ky, kx, :]
    acc += plan.bias.astype(np.int64)
    acc = ((acc + 2**31) % 2**32) - 2**31  # int32 accumulator wrap-around, as in C
    out = multiply_by_quantized_multiplier(acc, plan.multipliers, plan.shifts) + plan.output_offset
    return np.clip(out, plan.act_min, plan.act_max).astype(np.int8)
