"""Residual fusion: CONV_2D + ADD as one op, so the convolution's output map never exists.

A CONV_2D whose output y is read only by one same-shape ADD(x, y) (a residual connection)
becomes one :class:`ConvAddPlan` at the ADD's place in the schedule: its kernel
(``te_conv2d_add.c``) requantises and clamps y four pixels at a time exactly as the
convolution would, then computes the ADD exactly as TFLite Micro does and writes the ADD's
output. The ADD reads x only at the pixel it writes, so the output may lie over x when no
later op reads x (:meth:`ConvAddPlan.in_place_variant`, applied by
:func:`tinyengine_gen.passes.in_place.with_in_place_kernels`); otherwise it gets its own buffer.
ResNet-8's blocks then hold two maps instead of three.

A convolution with packed 4-bit weights (``--pack_int4``, which runs before this pass) fuses
the same way as :class:`PackedConvAddPlan` on ``te_conv2d_int4_add.c``: one output pixel of
y at a time (out_c bytes of scratch), then the same ADD (``te_conv_add_epilogue.h``), so
packing the weights does not give back the SRAM the fusion saves.

The rewrite is exact: the numpy reference is the convolution's reference followed by the
ADD's. The fused op replaces both Operators with one whose opcode is ``CONV_2D+ADD`` and
whose index is the convolution's, so the operator list and the plans stay aligned.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from tinyengine_gen.ir import Graph, Operator
from tinyengine_gen.ops.base import EmitContext, OpPlan, plan_property, replace_plan
from tinyengine_gen.ops.conv2d import (
    CONV2D_1X1_S8,
    CONV2D_1X1_SHALLOW_S8,
    CONV2D_KXK_S8,
    CONV2D_KXK_SHALLOW_S8,
    CONV2D_S8,
    DEEP_TILE_SOURCES,
    GEMM_PIXELS,
    GEMM_SOURCES,
    Conv2DPlan,
    shallow_filter_layout,
)
from tinyengine_gen.ops.elementwise import AddPlan
from tinyengine_gen.ops.features import FusedOperators, KernelVariant, PackedWeightPlan
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel
from tinyengine_gen.ops.int4_weights import PackedConv2DPlan
from tinyengine_gen.passes.in_place import with_in_place_kernels
from tinyengine_gen.memory.lifetimes import memory_plan
from tinyengine_gen.options import CompileOptions
from tinyengine_gen.passes.base import Plans, plan_pass

__all__ = ["FUSE_RESIDUAL_ADD", "FUSED_OPCODE", "ConvAddPlan", "PackedConvAddPlan", "fuse_residual_adds"]

FUSED_OPCODE = "CONV_2D+ADD"
#: te_conv2d_add.h's core numbers, by the convolution kernel whose rows and core they reuse.
_CORES = {CONV2D_1X1_S8: 0, CONV2D_1X1_SHALLOW_S8: 1, CONV2D_KXK_S8: 2, CONV2D_KXK_SHALLOW_S8: 3}
#: the fused kernel; its core (one of :data:`_CORES`) is a parameter. DSP builds run its 1x1
#: shallow layers on te_conv2d_1x1_shallow.c's group code (one copy in the firmware).
CONV2D_ADD_S8 = Kernel(
    "te_conv2d_add_s8",
    ("te_conv2d_add.c", "te_conv2d_add.h", "arm/te_conv2d_add_dsp.h", "te_conv_add_epilogue.h", "te_add_requant.h",
     "te_conv2d_1x1_shallow.c", "te_conv2d_1x1_shallow.h")
    + DEEP_TILE_SOURCES
    + GEMM_SOURCES,
)
#: the fused kernel of a convolution with packed 4-bit weights (with the packed convolution's files)
CONV2D_INT4_ADD_S8 = Kernel(
    "te_conv2d_int4_add_s8", ("te_conv2d_int4_add.c", "te_conv2d_int4_add.h", "te_conv_add_epilogue.h", "te_add_requant.h")
)


def _tile_bytes(out_c: int) -> int:
    return -(-GEMM_PIXELS * out_c // 16) * 16  # TE_CONV_ADD_TILE_BYTES


@dataclasses.dataclass(frozen=True, eq=False)
class ConvAddPlan(FusedOperators, KernelVariant, DeclaredKernels):
    """``conv`` then ``add``; inputs are (x, the convolution's input), x first so that the
    in-place rewrite (which frees the storage of ``inputs[0]``) writes over x."""

    conv: Conv2DPlan
    add: AddPlan
    residual: int  # x: the ADD input that is not the convolution's output
    in_place: bool = False

    @property
    def op_index(self) -> int:
        return self.conv.op_index

    @property
    def fused_op_indices(self) -> tuple[int, int]:
        return (self.conv.op_index, self.add.op_index)

    @property
    def inputs(self) -> tuple[int, ...]:
        return (self.residual, self.conv.inputs[0])

    @property
    def outputs(self) -> tuple[int, ...]:
        return self.add.outputs

    @plan_property  # (read for every layout the memory passes try)
    def aliases(self) -> tuple[tuple[int, int], ...]:
        return ((self.outputs[0], self.residual),) if self.in_place else ()

    @property
    def macs(self) -> int:
        return self.conv.macs + self.add.macs

    @plan_property  # (read for every layout the memory passes try)
    def scratch_bytes(self) -> int:
        return _tile_bytes(self.conv.output_shape[3]) + self.conv.scratch_bytes

    @property
    def kernels(self) -> tuple[Kernel, ...]:
        return (CONV2D_ADD_S8,)

    @property
    def kernel(self) -> Kernel:
        """The convolution's GEMM core (which the fused kernel runs, and which sets its cost)."""
        return self.conv.kernel

    def in_place_variant(self) -> "ConvAddPlan | None":
        """Write the output over x: exact, the ADD reading x only at the pixel it writes
        (x must not also be the convolution's input, whose other pixels are still needed)."""
        return self._in_place_variant

    @plan_property
    def _in_place_variant(self) -> "ConvAddPlan | None":
        """Made once per plan (plans are immutable; the NAS cost model's recur across configs)."""
        if self.in_place or self.residual == self.conv.inputs[0]:
            return None
        return replace_plan(self, in_place=True)

    def lean_variant(self) -> "ConvAddPlan | None":
        """The convolution on the shallow core (less scratch), where it can run there."""
        conv = self.conv.lean_variant()
        return None if conv is None else replace_plan(self, conv=conv)

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        y = self.conv.reference(values)
        return self.add.reference({**values, **y})

    def add_params(self, core: int) -> str:
        """te_conv2d_add_params: the ADD's rescaling of each map, paired with the right one."""
        add = self.add
        y_is_first = add.inputs[0] != self.residual
        conv_scale = (add.input1_offset, add.input1_multiplier, add.input1_shift)
        residual_scale = (add.input2_offset, add.input2_multiplier, add.input2_shift)
        if not y_is_first:
            conv_scale, residual_scale = residual_scale, conv_scale
        return (
            f".core = {core}, .residual_offset = {residual_scale[0]}, "
            f".residual_multiplier = {residual_scale[1]}, .residual_shift = {residual_scale[2]}, "
            f".conv_offset = {conv_scale[0]}, .conv_multiplier = {conv_scale[1]}, .conv_shift = {conv_scale[2]}, "
            f".left_shift = {add.left_shift}, .output_multiplier = {add.output_multiplier}, "
            f".output_shift = {add.output_shift}, .output_offset = {add.output_offset}, "
            f".act_min = {add.act_min}, .act_max = {add.act_max}"
        )

    def emit(self, ctx: EmitContext) -> list[str]:
        conv, add = self.conv, self.add
        filter_symbol, bias_symbol, mult_symbol, shift_symbol = conv.gemm_constants(ctx)
        add_params = self.add_params(_CORES[conv.kernel])
        comment = ["  /* in place: the output overwrites the residual input */"] if self.in_place else []
        return [
            "{",
            f"  /* CONV_2D op {conv.op_index} fused with ADD op {add.op_index} */",
            *comment,
            f"  static const te_conv2d_gemm_params params = {{{conv.gemm_params()}}};",
            f"  static const te_conv2d_add_params add = {{{add_params}}};",
            f"  {CONV2D_ADD_S8.name}(&params, &add, {ctx.tensor(conv.inputs[0])}, {filter_symbol}, {bias_symbol}, "
            f"{mult_symbol}, {shift_symbol}, {ctx.tensor(self.residual)}, {ctx.tensor(self.outputs[0])}, "
            f"{ctx.scratch('void')});",
            "}",
        ]


@dataclasses.dataclass(frozen=True, eq=False)
class PackedConvAddPlan(ConvAddPlan, PackedWeightPlan):
    """A CONV_2D with packed 4-bit weights (:class:`PackedConv2DPlan`) fused with its ADD:
    te_conv2d_int4_add_s8, one pixel of y (out_c bytes) as scratch."""

    conv: PackedConv2DPlan  # type: ignore[assignment]

    @property
    def weight_bits(self) -> int:
        return 4

    @property
    def scratch_bytes(self) -> int:  # type: ignore[override]
        return self.conv.int8_plan.output_shape[3]

    @property
    def kernels(self) -> tuple[Kernel, ...]:
        return (CONV2D_INT4_ADD_S8, *self.conv.kernels)

    @property
    def kernel(self) -> Kernel:
        return CONV2D_INT4_ADD_S8

    def lean_variant(self) -> None:
        return None

    def emit(self, ctx: EmitContext) -> list[str]:
        conv = self.conv
        symbols = ", ".join(conv._constants(ctx, conv.int8_plan.bias))
        comment = ["  /* in place: the output overwrites the residual input */"] if self.in_place else []
        return [
            "{",
            f"  /* CONV_2D op {conv.op_index} (packed 4-bit weights) fused with ADD op {self.add.op_index} */",
            *comment,
            f"  static const te_conv2d_int4_params params = {{{conv.params()}}};",
            f"  static const te_conv2d_add_params add = {{{self.add_params(0)}}};",
            f"  {CONV2D_INT4_ADD_S8.name}(&params, &add, {ctx.tensor(conv.inputs[0])}, {symbols}, "
            f"{ctx.tensor(self.residual)}, {ctx.tensor(self.outputs[0])}, {ctx.scratch('int8_t')});",
            "}",
        ]


def _fusable_conv(conv: Conv2DPlan) -> Conv2DPlan | None:
    """The convolution as the fused kernel runs it: a GEMM core it shares with the conv
    kernels; the narrow kernel's layers move to the shallow core (same arithmetic)."""
    if conv.in_place or conv.kernel == CONV2D_S8:
        return None
    if conv.kernel in _CORES:
        return conv
    # te_conv2d_narrow_s8: an even-rounded depth and weights in [-127, 127] already hold
    out_c, kh, kw, ic = conv.filter.shape
    _, ih, iw, _ = conv.input_shape
    _, oh, ow, _ = conv.output_shape
    reads_inside = (
        conv.padding == (0, 0) and (oh - 1) * conv.stride[0] < ih and (ow - 1) * conv.stride[1] < iw
    )
    pointwise = kh == kw == 1 and reads_inside and conv.input_layout == "NHWC" and ic % 2 == 0
    kernel = CONV2D_1X1_SHALLOW_S8 if pointwise else CONV2D_KXK_SHALLOW_S8
    depth = kh * kw * ic + (kh * kw * ic) % 2
    gemm_filter = shallow_filter_layout(conv.filter.reshape(out_c, kh * kw * ic), depth)
    return replace_plan(conv, kernel=kernel, depth=depth, gemm_filter=gemm_filter)


def _same_shape_add(plan: OpPlan) -> bool:
    if not isinstance(plan, AddPlan) or plan.inputs[0] == plan.inputs[1]:
        return False
    nest = plan.nest
    return len(nest.extent) == 1 and nest.step1 == nest.step2 == (1,)


def _candidates(
    graph: Graph, plans: Sequence[OpPlan], step: int, readers: Mapping[int, int], producers: Mapping[int, OpPlan | None]
) -> list[tuple[int, ConvAddPlan]]:
    """(conv step, fused plan) for each ADD input that a fusable convolution produces and no
    other op (nor the caller) reads (``readers`` and ``producers`` from :func:`_dataflow`)."""
    add = plans[step]
    assert isinstance(add, AddPlan)
    result: list[tuple[int, ConvAddPlan]] = []
    for position in (0, 1):
        y, x = add.inputs[position], add.inputs[1 - position]
        if y in graph.outputs or y in graph.inputs or graph.tensor(x).is_constant:
            continue
        conv = producers.get(y)
        if isinstance(conv, PackedConv2DPlan) and not conv.in_place:
            shape = conv.int8_plan.output_shape
        elif isinstance(conv, Conv2DPlan):
            shape = conv.output_shape
        else:
            continue
        if readers.get(y) != 1 or shape != tuple(add.output_shape):
            continue
        conv_step = _step_before(plans, conv, step)
        if conv_step is None:
            continue
        if isinstance(conv, PackedConv2DPlan):
            result.append((conv_step, PackedConvAddPlan(conv, add, x)))
            continue
        fusable = _fusable_conv(conv)
        if fusable is not None:
            result.append((conv_step, ConvAddPlan(fusable, add, x)))
    return sorted(result, key=lambda candidate: candidate[0])


def _step_before(plans: Sequence[OpPlan], plan: OpPlan, step: int) -> int | None:
    """The step of ``plan`` if it runs before ``step``, else None (searched backwards: a
    residual's convolution usually runs just before its ADD)."""
    for earlier in range(step - 1, -1, -1):
        if plans[earlier] is plan:
            return earlier
    return None


def _dataflow(plans: Sequence[OpPlan]) -> tuple[dict[int, int], dict[int, OpPlan | None]]:
    """(tensor -> how many ops read it, tensor -> the plan writing it, None if several do).

    Fusing a pair leaves both maps valid for what :func:`_candidates` asks of them: the
    fused op reads what the convolution and the ADD read less the map that no longer
    exists, and writes the ADD's output, which no convolution produces.
    """
    readers: dict[int, int] = collections.Counter(t for plan in plans for t in plan.inputs)
    producers: dict[int, OpPlan | None] = {}
    for plan in plans:
        for t in plan.outputs:
            producers[t] = plan if t not in producers else None
    return readers, producers


def _fuse(operators: list[Operator], plans: list[OpPlan], step: int, conv_step: int, plan: ConvAddPlan) -> None:
    """Replace the ADD at ``step`` by ``plan`` and remove the conv at ``conv_step`` (in place)."""
    operators[step] = Operator(
        index=plan.op_index,
        opcode=FUSED_OPCODE,
        inputs=plan.inputs,
        outputs=plan.outputs,
        options={"fusedOperators": plan.fused_op_indices},
    )
    plans[step] = plan
    del operators[conv_step], plans[conv_step]


def _arena(graph: Graph, plans: list[OpPlan], alignment: int) -> int:
    return memory_plan(graph, with_in_place_kernels(graph, tuple(plans), alignment), alignment).arena_bytes


def fuse_residual_adds(
    graph: Graph, plans: tuple[OpPlan, ...], alignment: int = 16
) -> tuple[Graph, tuple[OpPlan, ...]]:
    """Fuse every residual CONV_2D + ADD pair; where both ADD inputs come from fusable
    convolutions, the one giving the smaller arena (with in-place kernels) wins, the
    earlier convolution on a tie. Ops that are not plain plans (a patch stage) are left alone."""
    operators, fused_plans = list(graph.operators), list(plans)
    readers, producers = _dataflow(plans)
    step = 0
    while step < len(fused_plans):
        if not _same_shape_add(fused_plans[step]):
            step += 1
            continue
        candidates = _candidates(graph, fused_plans, step, readers, producers)
        if not candidates:
            step += 1
            continue
        if len(candidates) > 1:
            options = []
            for conv_step, plan in candidates:
                option = (list(operators), list(fused_plans))
                _fuse(*option, step, conv_step, plan)
                options.append(option)
            arenas = [_arena(graph.replace(operators=tuple(o)), p, alignment) for o, p in options]
            operators, fused_plans = options[arenas.index(min(arenas))]  # the earlier conv on a tie
        else:
            _fuse(operators, fused_plans, step, *candidates[0])
        # the conv before the ADD was removed: the fused op now sits at ``step - 1``
    if len(fused_plans) == len(plans):
        return graph, plans
    return graph.replace(operators=tuple(operators)), tuple(fused_plans)


def _asked(options: CompileOptions) -> bool:
    return options.fuse_residual_add


def _run(graph: Graph, plans: Plans, options: CompileOptions) -> tuple[Graph, Plans]:
    return fuse_residual_adds(graph, plans, options.alignment)


FUSE_RESIDUAL_ADD = plan_pass("fuse_residual_add", _asked, _run)
