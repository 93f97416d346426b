"""4-bit weights: CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED with their weights packed two
per byte in Flash (MCUNet's int4 models: half the bytes per weight, so a wider network fits).

A layer qualifies when every weight value of its int8 filter lies in [-8, 7] (what 4-bit
QAT exports, or a TFLite INT4 tensor read as int8). Its plan is then replaced by a packed
twin that computes the same integers: the values are the file's, only their storage
changes, so the outputs are TFLite Micro's bit for bit on the same file (TFLM runs the int8
file unchanged, or unpacks an INT4 tensor into exactly these values).

Packing follows TFLite's INT4 tensors (``tensor_utils::UnpackDenseInt4IntoInt8``): the
filter flattened in row-major order, element 2i in the low nibble of byte i, element 2i + 1
in the high nibble. An odd count per output channel is allowed; that channel's row then
starts mid-byte, which the kernels (te_int4.h) handle by element index.

Each packed plan keeps the int8 plan it replaces (``base``) for shapes and requantisation;
its numpy reference unpacks the packed bytes and runs the base reference, so a packing
mistake shows up in the reference as well as in the C.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import numpy as np

from tinyengine_gen.fixedpoint import shift_table
from tinyengine_gen.int4_packing import INT4_MAX, INT4_MIN, fits_int4, pack_int4, unpack_int4
from tinyengine_gen.ops.base import EmitContext, OpPlan, replace_plan
from tinyengine_gen.ops.conv2d import Conv2DPlan
from tinyengine_gen.ops.depthwise_conv2d import DEPTHWISE_PLANE, DEPTHWISE_ROWS, DepthwiseConv2DPlan, PackedWeights
from tinyengine_gen.ops.features import PackedWeightPlan
from tinyengine_gen.ops.fully_connected import FullyConnectedPlan
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel

__all__ = [
    "INT4_MIN",
    "INT4_MAX",
    "fits_int4",
    "pack_int4",
    "unpack_int4",
    "PackedConv2DPlan",
    "PackedDepthwiseConv2DPlan",
    "PackedFullyConnectedPlan",
    "packed_variant",
    "CONV2D_INT4_S8",
    "CONV2D_INT4_1X1_INPLACE_S8",
    "FULLY_CONNECTED_INT4_S8",
]

_CONV2D_INT4_SOURCES = ("te_conv2d_int4.c", "te_conv2d_int4.h", "te_int4.h", "arm/te_int4_dsp.h", "te_fixedpoint.h")
#: te_conv2d_int4.c's kernels: any CONV_2D, and a pointwise one writing over its input
CONV2D_INT4_S8 = Kernel("te_conv2d_int4_s8", _CONV2D_INT4_SOURCES)
CONV2D_INT4_1X1_INPLACE_S8 = Kernel("te_conv2d_int4_1x1_inplace_s8", _CONV2D_INT4_SOURCES)
FULLY_CONNECTED_INT4_S8 = Kernel(
    "te_fully_connected_int4_s8",
    ("te_fully_connected_int4.c", "te_fully_connected_int4.h", "te_int4.h", "arm/te_int4_dsp.h", "te_fixedpoint.h"),
)
#: a packed depthwise layer off the row ring (the generic loop nest); on it, the int8 twin's DEPTHWISE_ROWS
DEPTHWISE_INT4_S8 = Kernel(
    "te_depthwise_int4_s8",
    ("te_depthwise_int4.c", "te_depthwise_int4.h", "te_depthwise_conv2d.h", "te_depthwise_loop.h", "te_int4.h",
     "arm/te_int4_dsp.h", "te_fixedpoint.h"),
)


def _reason_kept(filter_values: np.ndarray) -> str | None:
    if not fits_int4(filter_values):
        return f"weights span [{int(filter_values.min())}, {int(filter_values.max())}], outside [-8, 7]"
    return None


@dataclasses.dataclass(frozen=True, eq=False)
class _PackedPlan(PackedWeightPlan):
    """What the three packed plans share: the int8 plan they replace and the packed filter."""

    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    base: OpPlan
    packed: np.ndarray  # uint8, (filter.size + 1) // 2 bytes
    aliases: tuple[tuple[int, int], ...] = ()
    #: bits per stored weight (report.json's per-op ``weight_bits``)
    weight_bits: int = 4

    @property
    def macs(self) -> int:
        return self.base.macs

    def unpacked_base(self) -> OpPlan:
        """The base plan with its filter rebuilt from the packed bytes (the numpy reference's input)."""
        filter_values = self.base.filter  # type: ignore[attr-defined]
        unpacked = unpack_int4(self.packed, filter_values.size).reshape(filter_values.shape)
        return replace_plan(self.base, filter=unpacked)

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        return self.unpacked_base().reference(values)

    def _constants(self, ctx: EmitContext, bias: np.ndarray) -> tuple[str, str, str, str]:
        base = self.base
        return (
            ctx.const(f"op{self.op_index}_filter_int4", self.packed),
            ctx.const(f"op{self.op_index}_bias", bias),
            ctx.const(f"op{self.op_index}_multiplier", base.multipliers),  # type: ignore[attr-defined]
            ctx.const(f"op{self.op_index}_shift_s8", shift_table(base.shifts)),  # type: ignore[attr-defined]
        )


@dataclasses.dataclass(frozen=True, eq=False)
class PackedConv2DPlan(_PackedPlan, DeclaredKernels):
    """CONV_2D (1x1 and KxK, NHWC input) on te_conv2d_int4_s8, no scratch; a pointwise layer
    may run in place (te_conv2d_int4_1x1_inplace_s8, one input pixel of scratch), as its int8
    twin does, so that packing does not cost the in-place pass's SRAM."""

    in_place: bool = False

    @property
    def kernels(self) -> tuple[Kernel, ...]:
        return (CONV2D_INT4_1X1_INPLACE_S8 if self.in_place else CONV2D_INT4_S8,)

    @property
    def int8_plan(self) -> Conv2DPlan:
        """``base``, typed as the convolution it is."""
        assert isinstance(self.base, Conv2DPlan)
        return self.base

    @property
    def scratch_bytes(self) -> int:
        return self.base.input_shape[3] if self.in_place else 0  # type: ignore[attr-defined]

    def in_place_variant(self) -> "PackedConv2DPlan | None":
        """This layer writing over its input: 1x1, stride 1, no padding, batch 1, same spatial size."""
        p: Conv2DPlan = self.base  # type: ignore[assignment]
        n, ih, iw, _ = p.input_shape
        _, oh, ow, _ = p.output_shape
        pointwise = p.filter.shape[1:3] == (1, 1) and p.stride == (1, 1) and p.padding == (0, 0)
        if self.in_place or not pointwise or n != 1 or (ih, iw) != (oh, ow):
            return None
        return replace_plan(self, in_place=True, aliases=((self.outputs[0], self.inputs[0]),))

    def params(self) -> str:
        """The te_conv2d_int4_params initialiser (also the fused CONV_2D+ADD kernel's)."""
        p: Conv2DPlan = self.base  # type: ignore[assignment]
        n, ih, iw, ic = p.input_shape
        _, oh, ow, oc = p.output_shape
        _, kh, kw, _ = p.filter.shape
        return (
            f".batches = {n}, .in_h = {ih}, .in_w = {iw}, .in_c = {ic}, .out_h = {oh}, .out_w = {ow}, "
            f".out_c = {oc}, .k_h = {kh}, .k_w = {kw}, .stride_h = {p.stride[0]}, .stride_w = {p.stride[1]}, "
            f".dil_h = {p.dilation[0]}, .dil_w = {p.dilation[1]}, .pad_top = {p.padding[0]}, "
            f".pad_left = {p.padding[1]}, .input_offset = {p.input_offset}, .output_offset = {p.output_offset}, "
            f".act_min = {p.act_min}, .act_max = {p.act_max}"
        )

    def emit(self, ctx: EmitContext) -> list[str]:
        p: Conv2DPlan = self.base  # type: ignore[assignment]
        filter_symbol, bias_symbol, mult_symbol, shift_symbol = self._constants(ctx, p.bias)
        if self.in_place:
            call = (
                f"  {CONV2D_INT4_1X1_INPLACE_S8.name}(&params, {ctx.tensor(self.inputs[0])}, {filter_symbol}, "
                f"{bias_symbol}, {mult_symbol}, {shift_symbol}, {ctx.scratch('int8_t')});"
            )
        else:
            call = (
                f"  {CONV2D_INT4_S8.name}(&params, {ctx.tensor(self.inputs[0])}, {filter_symbol}, {bias_symbol}, "
                f"{mult_symbol}, {shift_symbol}, {ctx.tensor(self.outputs[0])});"
            )
        params = self.params()
        return [
            "{",
            *(["  /* in place: the output overwrites the input */"] if self.in_place else []),
            f"  static const te_conv2d_int4_params params = {{{params}}};",
            call,
            "}",
        ]


@dataclasses.dataclass(frozen=True, eq=False)
class PackedDepthwiseConv2DPlan(_PackedPlan, DeclaredKernels):
    """DEPTHWISE_CONV_2D. With depth multiplier 1 the kernel of its int8 twin, 4-bit
    instantiation: te_depthwise_plane.h (TE_DW_PLANE_INT4_DEFINE) where the twin runs the
    plane, else te_depthwise_rows.h (TE_DW_ROWS_INT4_DEFINE); the same scratch, and in place
    wherever the twin is (the aliases are the base plan's), so packing costs no SRAM.
    Otherwise te_depthwise_int4_s8 (the generic loop nest), no scratch."""

    @property
    def kernels(self) -> tuple[Kernel, ...]:
        base: DepthwiseConv2DPlan = self.base  # type: ignore[assignment]
        if base.uses_plane:
            return (DEPTHWISE_PLANE,)
        return (DEPTHWISE_ROWS,) if base.uses_row_ring else (DEPTHWISE_INT4_S8,)

    @property
    def scratch_bytes(self) -> int:
        return self.base.scratch_bytes

    @property
    def in_place(self) -> bool:
        return self.base.in_place  # type: ignore[attr-defined]

    def lean_variant(self) -> "PackedDepthwiseConv2DPlan | None":
        """The twin's lean variant (the generic loop nest, no row ring), packed alike."""
        base = self.base.lean_variant()  # type: ignore[attr-defined]
        return None if base is None else replace_plan(self, base=base)

    def emit(self, ctx: EmitContext) -> list[str]:
        p: DepthwiseConv2DPlan = self.base  # type: ignore[assignment]
        if p.uses_row_ring:
            return p._emit_row_ring(ctx, PackedWeights(self.packed, shift_table(p.shifts)))
        n, ih, iw, ic = p.input_shape
        _, oh, ow, oc = p.output_shape
        kh, kw, _ = p.filter.shape
        filter_symbol, bias_symbol, mult_symbol, shift_symbol = self._constants(ctx, p.bias)
        params = (
            f".batches = {n}, .in_h = {ih}, .in_w = {iw}, .in_c = {ic}, .out_h = {oh}, .out_w = {ow}, "
            f".out_c = {oc}, .depth_multiplier = {p.depth_multiplier}, .k_h = {kh}, .k_w = {kw}, "
            f".stride_h = {p.stride[0]}, .stride_w = {p.stride[1]}, "
            f".dil_h = {p.dilation[0]}, .dil_w = {p.dilation[1]}, .pad_top = {p.padding[0]}, "
            f".pad_left = {p.padding[1]}, .input_offset = {p.input_offset}, .output_offset = {p.output_offset}, "
            f".act_min = {p.act_min}, .act_max = {p.act_max}"
        )
        return [
            "{",
            f"  static const te_depthwise_int4_params params = {{{params}}};",
            f"  te_depthwise_int4_s8(&params, {ctx.tensor(self.inputs[0])}, {filter_symbol}, {bias_symbol}, "
            f"{mult_symbol}, {shift_symbol}, {ctx.tensor(self.outputs[0])});",
            "}",
        ]


@dataclasses.dataclass(frozen=True, eq=False)
class PackedFullyConnectedPlan(_PackedPlan, DeclaredKernels):
    """FULLY_CONNECTED on te_fully_connected_int4_s8: read straight from the int8 input, no scratch."""

    kernels = (FULLY_CONNECTED_INT4_S8,)

    scratch_bytes: int = 0

    def emit(self, ctx: EmitContext) -> list[str]:
        p: FullyConnectedPlan = self.base  # type: ignore[assignment]
        out_c, depth = p.filter.shape
        filter_symbol, bias_symbol, mult_symbol, shift_symbol = self._constants(ctx, p.folded_bias)
        params = (
            f".batches = {p.batches}, .depth = {depth}, .out_c = {out_c}, .per_channel = {int(p.per_channel)}, "
            f".weights_offset = {p.weights_offset}, .output_offset = {p.output_offset}, "
            f".act_min = {p.act_min}, .act_max = {p.act_max}"
        )
        return [
            "{",
            f"  static const te_fully_connected_int4_params params = {{{params}}};",
            f"  {FULLY_CONNECTED_INT4_S8.name}(&params, {ctx.tensor(self.inputs[0])}, {filter_symbol}, {bias_symbol}, "
            f"{mult_symbol}, {shift_symbol}, {ctx.tensor(self.outputs[0])});",
            "}",
        ]


def _conv_blocker(plan: Conv2DPlan) -> str | None:
    if plan.input_layout != "NHWC":
        return f"{plan.input_layout} input (the int4 kernel reads NHWC)"
    if plan.in_place:
        return "runs in place"
    return None


_PACKERS: dict[type, tuple[type[_PackedPlan], Callable[[OpPlan], str | None]]] = {
    Conv2DPlan: (PackedConv2DPlan, _conv_blocker),  # type: ignore[dict-item]
    DepthwiseConv2DPlan: (PackedDepthwiseConv2DPlan, lambda plan: None),  # type: ignore[dict-item]
    FullyConnectedPlan: (PackedFullyConnectedPlan, lambda plan: None),
}


def packed_variant(plan: OpPlan) -> tuple[OpPlan | None, str | None]:
    """(the packed twin of ``plan``, None) or (None, why it keeps int8 weights).

    (None, None) for an operator without weights to pack.
    """
    entry = _PACKERS.get(type(plan))
    if entry is None:
        return None, None
    cls, blocker = entry
    filter_values = plan.filter  # type: ignore[attr-defined]
    reason = blocker(plan) or _reason_kept(filter_values)
    if reason is not None:
        return None, reason
    packed = pack_int4(filter_values)
    aliases = plan.aliases  # an in-place depthwise layer stays in place
    return cls(op_index=plan.op_index, inputs=plan.inputs, outputs=plan.outputs, base=plan, packed=packed,
               aliases=aliases), None
