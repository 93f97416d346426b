"""ADD: int8 element-wise addition with numpy-style broadcasting, and the broadcast loop nests.

ADD matches TFLite Micro's reference kernel (``reference_integer_ops::AddFunc``), which
broadcasts like numpy: shapes are right-aligned, and a dimension of 1 is repeated to the
other operand's extent. Broadcasting is turned into a loop nest at planning time
(:func:`broadcast_nest`, shared by every binary operator), so the C kernel only adds
precomputed steps. Either input may be an activation or a constant.

ADD rescales both inputs to a common scale before summing (``left_shift`` 20 and three
multipliers from QuantizeMultiplierSmallerThanOneExp, computed in double from the
float32 scales; :func:`common_scale`, shared with SUB and SQUARED_DIFFERENCE). MUL is in
:mod:`tinyengine_gen.ops.mul`.

A large same-shape ADD (the residual connections of MobileNetV2-style networks) runs the
table variant ``te_add_lut_s8``: each input's rescaling depends on its int8 value alone, so
the planner tabulates it from TFLite's formula (two 256-entry int32 tables, 2 KB of Flash
per ADD, shared between ADDs with the same quantisation), and the kernel is left with two
reads, an add and the output requantisation per element. Smaller or broadcasting ADDs run
the generic ``te_add_s8``, which computes the rescaling in the loop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tinyengine_gen.fixedpoint import multiply_by_quantized_multiplier, requant_multiplier
from tinyengine_gen.ir import DType, Graph, Operator, Tensor
from tinyengine_gen.ops.base import EmitContext, OpChecker, register
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel

__all__ = [
    "ADD_TABLE_MIN_ELEMENTS",
    "ADD_S8",
    "ADD_LUT_S8",
    "MAX_RANK",
    "AddPlan",
    "BroadcastNest",
    "add_output",
    "add_rescaled_inputs",
    "broadcast_pair",
    "check_binary",
    "f32",
    "CommonScale",
    "CommonScaleFields",
    "QuantizedBinary",
    "quantized_binary",
    "binary_plan_fields",
    "common_scale",
    "smaller_than_one",
    "add_input_table",
    "add_reference",
    "broadcast_nest",
    "plan_add",
]

#: Ranks up to this are supported (TFLite Micro's RuntimeShape holds at most 6 dimensions).
MAX_RANK = 6
#: int8 ADD pre-shifts inputs by this many bits before rescaling (TFLite: 20 for int8).
ADD_LEFT_SHIFT = 20
#: A same-shape ADD with at least this many elements uses the rescaling tables (2 KB of
#: Flash): below it the tables cost more Flash than the time they save is worth.
ADD_TABLE_MIN_ELEMENTS = 4096
#: ADD's kernels: the broadcasting one, and the same-shape one with rescaling tables
ADD_S8 = Kernel("te_add_s8", ("te_add.c", "te_add.h", "te_broadcast.h", "te_add_requant.h", "te_fixedpoint.h"))
ADD_LUT_S8 = Kernel("te_add_lut_s8", ("te_add_lut.c", "te_add_lut.h", "te_add_requant.h", "te_fixedpoint.h"))


@dataclasses.dataclass(frozen=True)
class BroadcastNest:
    """Loops (outermost first) that walk the output contiguously and both inputs by steps.

    ``step1[d]`` / ``step2[d]`` are the elements an input advances per iteration of loop
    ``d`` (0 where it is broadcast). The innermost steps are 0 or 1.
    """

    extent: tuple[int, ...]
    step1: tuple[int, ...]
    step2: tuple[int, ...]

    def c_initializer(self) -> str:
        """Designated initializer of a ``te_bcast`` (see kernels/te_broadcast.h)."""

        def arr(values: Sequence[int]) -> str:
            return "{" + ", ".join(str(v) for v in values) + "}"

        back1 = [e * s for e, s in zip(self.extent, self.step1)]
        back2 = [e * s for e, s in zip(self.extent, self.step2)]
        return (
            f"{{.loops = {len(self.extent)}, .extent = {arr(self.extent)}, .step1 = {arr(self.step1)}, "
            f".step2 = {arr(self.step2)}, .back1 = {arr(back1)}, .back2 = {arr(back2)}}}"
        )


def _extend(shape: Sequence[int], rank: int) -> tuple[int, ...]:
    return (1,) * (rank - len(shape)) + tuple(int(d) for d in shape)


def broadcast_nest(shape1: Sequence[int], shape2: Sequence[int], out_shape: Sequence[int]) -> BroadcastNest:
    """Fold numpy broadcasting of ``shape1`` and ``shape2`` into ``out_shape`` into few loops.

    Dimensions of output extent 1 are dropped; a dimension is merged into the loop inside
    it when, for both inputs, it continues that loop's walk (step == inner step * inner
    extent) or both are broadcast (step 0 in both). This is what lets the common cases
    (same shapes; [1,H,W,C] with [1,1,1,C]) run as one or two loops.
    """
    rank = max(len(shape1), len(shape2), len(out_shape), 1)
    s1, s2, so = _extend(shape1, rank), _extend(shape2, rank), _extend(out_shape, rank)
    loops: list[list[int]] = []  # innermost first: [extent, step1, step2]
    stride1 = stride2 = 1
    for d in reversed(range(rank)):
        extent = so[d]
        if extent != 1:
            step1 = 0 if s1[d] == 1 else stride1
            step2 = 0 if s2[d] == 1 else stride2
            if (
                loops
                and _continues(loops[-1][0], loops[-1][1], step1)
                and _continues(loops[-1][0], loops[-1][2], step2)
            ):
                loops[-1][0] *= extent
            else:
                loops.append([extent, step1, step2])
        stride1 *= s1[d]
        stride2 *= s2[d]
    if not loops:
        loops.append([1, 1, 1])
    loops.reverse()
    return BroadcastNest(
        extent=tuple(loop[0] for loop in loops),
        step1=tuple(loop[1] for loop in loops),
        step2=tuple(loop[2] for loop in loops),
    )


def _continues(inner_extent: int, inner_step: int, step: int) -> bool:
    """Whether a loop of ``step`` extends the inner loop's walk (so the two can be one loop)."""
    return step == inner_step * inner_extent if inner_step else step == 0


def check_binary(check: OpChecker) -> tuple[Tensor, Tensor, Tensor]:
    """Validate the int8 tensors and broadcast shapes shared by the binary element-wise ops."""
    x1, x2, y = check.required_input(0), check.required_input(1), check.output()
    for tensor in (x1, x2, y):
        check.dtype(tensor, DType.INT8)
        if len(tensor.shape) > MAX_RANK:
            raise check.unsupported(
                f"{tensor.describe()} has rank {len(tensor.shape)}; at most {MAX_RANK} is supported."
            )
        if any(d <= 0 for d in tensor.shape):
            raise check.unsupported(
                f"{tensor.describe()} has an empty or unknown dimension; static shapes are required."
            )
    rank = max(len(x1.shape), len(x2.shape), len(y.shape))
    for a, b, o in zip(_extend(x1.shape, rank), _extend(x2.shape, rank), _extend(y.shape, rank)):
        if o != max(a, b) or a not in (1, o) or b not in (1, o):
            raise check.unsupported(
                f"input shapes {list(x1.shape)} and {list(x2.shape)} do not broadcast to the output shape "
                f"{list(y.shape)} (numpy broadcasting rules)."
            )
    return x1, x2, y


def f32(value: float) -> float:
    """A scale as the float32 TFLite stores, widened to double as its kernels do."""
    return float(np.float32(value))


@dataclasses.dataclass(frozen=True, eq=False)
class CommonScaleFields:
    """The fields of a plan whose two inputs TFLM rescales onto their common scale (ADD,
    SQUARED_DIFFERENCE; SUB through its ADD plan): the tensors and loop nest, the offsets and
    input rescaling :meth:`CommonScale.plan_fields` fills, and the output requantisation.
    In this order: SQUARED_DIFFERENCE's C parameter struct follows it."""

    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    output_shape: tuple[int, ...]
    nest: BroadcastNest
    input1_offset: int
    input2_offset: int
    output_offset: int
    input1_multiplier: int
    input1_shift: int
    input2_multiplier: int
    input2_shift: int
    output_multiplier: int
    output_shift: int


@dataclasses.dataclass(frozen=True, eq=False)
class AddPlan(CommonScaleFields, DeclaredKernels):
    left_shift: int
    act_min: int
    act_max: int
    #: run te_add_lut_s8 with per-input rescaling tables (same shapes, >= ADD_TABLE_MIN_ELEMENTS)
    use_tables: bool = False
    aliases: tuple[tuple[int, int], ...] = ()

    @property
    def kernels(self) -> tuple[Kernel, ...]:
        """The table kernel or the broadcasting one."""
        return (ADD_LUT_S8 if self.use_tables else ADD_S8,)

    @property
    def size(self) -> int:
        return int(np.prod(self.output_shape, dtype=np.int64))

    @property
    def macs(self) -> int:
        """One arithmetic operation per output element (no multiply-accumulate chains)."""
        return self.size

    def input_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """The two 256-entry rescaling tables of te_add_lut_s8, indexed by q + 128."""
        return (
            add_input_table(self.input1_offset, self.left_shift, self.input1_multiplier, self.input1_shift),
            add_input_table(self.input2_offset, self.left_shift, self.input2_multiplier, self.input2_shift),
        )

    @property
    def scratch_bytes(self) -> int:
        return 0

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        out = add_reference(values[self.inputs[0]], values[self.inputs[1]], self)
        return {self.outputs[0]: out.reshape(self.output_shape)}

    def emit(self, ctx: EmitContext) -> list[str]:
        if self.use_tables:
            return self.emit_table_call(ctx, *self.input_tables())
        return self.emit_broadcast_call(ctx, ADD_S8)

    def emit_broadcast_call(self, ctx: EmitContext, kernel: Kernel) -> list[str]:
        """The call of ``kernel`` (te_add_s8, or te_sub_s8) with this plan's te_add_params."""
        params = (
            f".nest = {self.nest.c_initializer()}, .input1_offset = {self.input1_offset}, "
            f".input2_offset = {self.input2_offset}, .output_offset = {self.output_offset}, "
            f".left_shift = {self.left_shift}, .input1_multiplier = {self.input1_multiplier}, "
            f".input1_shift = {self.input1_shift}, .input2_multiplier = {self.input2_multiplier}, "
            f".input2_shift = {self.input2_shift}, .output_multiplier = {self.output_multiplier}, "
            f".output_shift = {self.output_shift}, .act_min = {self.act_min}, .act_max = {self.act_max}"
        )
        return [
            "{",
            f"  static const te_add_params params = {{{params}}};",
            (
                f"  {kernel.name}(&params, {ctx.tensor(self.inputs[0])}, {ctx.tensor(self.inputs[1])}, "
                f"{ctx.tensor(self.outputs[0])});"
            ),
            "}",
        ]

    def emit_table_call(self, ctx: EmitContext, table1: np.ndarray, table2: np.ndarray) -> list[str]:
        """The call of te_add_lut_s8 with these two rescaling tables (SUB passes table 2 negated)."""
        lut1 = ctx.const(f"op{self.op_index}_input1_table", table1)
        lut2 = ctx.const(f"op{self.op_index}_input2_table", table2)
        params = (
            f".size = {self.size}, .output_multiplier = {self.output_multiplier}, "
            f".output_shift = {self.output_shift}, .output_offset = {self.output_offset}, "
            f".act_min = {self.act_min}, .act_max = {self.act_max}"
        )
        x1, x2, y = ctx.tensor(self.inputs[0]), ctx.tensor(self.inputs[1]), ctx.tensor(self.outputs[0])
        return [
            "{",
            f"  static const te_add_lut_params params = {{{params}}};",
            f"  {ADD_LUT_S8.name}(&params, {lut1}, {lut2}, {x1}, {x2}, {y});",
            "}",
        ]


def smaller_than_one(check: OpChecker, real: float, what: str) -> tuple[int, int]:
    """QuantizeMultiplierSmallerThanOneExp, whose CHECKs abort TFLite Micro: say so instead."""
    if not 0.0 < real < 1.0:
        raise check.quant_error(
            f"the {what} multiplier {real!r} is outside (0, 1); TFLite Micro cannot run this operator "
            "(the output scale is far too small for the input scales)."
        )
    multiplier, shift = requant_multiplier(real)
    if shift > 0:
        raise check.quant_error(
            f"the {what} multiplier {real!r} rounds up to 1.0; TFLite Micro cannot run this operator."
        )
    return multiplier, shift


@dataclasses.dataclass(frozen=True)
class CommonScale:
    """Two int8 inputs rescaled onto the common scale of TFLM's ADD, SUB and SQUARED_DIFFERENCE.

    Each input's multiplier is its scale over twice the larger input scale (below one,
    QuantizeMultiplierSmallerThanOneExp, in double from the float32 scales); the operator
    then chooses its left shift and its output multiplier from ``twice_max_input_scale``.
    """

    x1: Tensor
    x2: Tensor
    y: Tensor
    twice_max_input_scale: float
    output_scale: float
    #: the zero-point offsets and the inputs' (multiplier, shift), by the plan fields they fill
    rescaling: Mapping[str, int]

    @property
    def nest(self) -> BroadcastNest:
        return broadcast_nest(self.x1.shape, self.x2.shape, self.y.shape)

    def plan_fields(self) -> dict[str, Any]:
        """The plan fields every such operator has: tensors, shape, loop nest, offsets, input rescaling."""
        return binary_plan_fields(self.x1, self.x2, self.y) | dict(self.rescaling)


@dataclasses.dataclass(frozen=True)
class QuantizedBinary:
    """A broadcasting binary operator's per-tensor quantised inputs and output: float32
    scales as TFLM reads them, and the zero points as the offsets its kernels add."""

    op_index: int
    x1: Tensor
    x2: Tensor
    y: Tensor
    scales: tuple[float, float, float]  # input 1, input 2, output
    offsets: tuple[int, int, int]  # -z1, -z2, +zo

    def plan_fields(self, input1_offset: str, input2_offset: str) -> dict[str, Any]:
        """The op index, :func:`binary_plan_fields` and the three offsets, the inputs' under
        the names the plan (and its C parameter struct) gives them."""
        offsets = dict(zip((input1_offset, input2_offset, "output_offset"), self.offsets))
        return {"op_index": self.op_index, **binary_plan_fields(self.x1, self.x2, self.y), **offsets}


def quantized_binary(check: OpChecker, x1: Tensor, x2: Tensor, y: Tensor) -> QuantizedBinary:
    """The per-tensor quantisation of ``x1``, ``x2`` and ``y`` (checked in that order)."""
    (s1, z1), (s2, z2), (so, zo) = (check.per_tensor_quant(tensor) for tensor in (x1, x2, y))
    return QuantizedBinary(check.op.index, x1, x2, y, (f32(s1), f32(s2), f32(so)), (-z1, -z2, zo))


def binary_plan_fields(x1: Tensor, x2: Tensor, y: Tensor) -> dict[str, Any]:
    """The plan fields every broadcasting binary operator has: its tensors, output shape and loop nest."""
    return {
        "inputs": (x1.index, x2.index),
        "outputs": (y.index,),
        "output_shape": tuple(y.shape),
        "nest": broadcast_nest(x1.shape, x2.shape, y.shape),
    }


def common_scale(check: OpChecker) -> CommonScale:
    """Validate a broadcasting int8 binary operator and rescale both its inputs to their common scale."""
    x1, x2, y = check_binary(check)
    s1, z1 = check.per_tensor_quant(x1)
    s2, z2 = check.per_tensor_quant(x2)
    so, zo = check.per_tensor_quant(y)
    twice_max_input_scale = 2.0 * max(f32(s1), f32(s2))
    m1, sh1 = smaller_than_one(check, f32(s1) / twice_max_input_scale, "input 1")
    m2, sh2 = smaller_than_one(check, f32(s2) / twice_max_input_scale, "input 2")
    offsets = {"input1_offset": -z1, "input2_offset": -z2, "output_offset": zo}
    multipliers = {"input1_multiplier": m1, "input1_shift": sh1, "input2_multiplier": m2, "input2_shift": sh2}
    return CommonScale(x1, x2, y, twice_max_input_scale, so, offsets | multipliers)


@register("ADD", inputs=2)
def plan_add(graph: Graph, op: Operator) -> AddPlan:
    check = OpChecker(graph, op)
    common = common_scale(check)
    real_output = common.twice_max_input_scale / ((1 << ADD_LEFT_SHIFT) * f32(common.output_scale))
    mo, sho = smaller_than_one(check, real_output, "output")
    act_min, act_max = check.activation_bounds(common.y)
    nest = common.nest
    same_shape = len(nest.extent) == 1 and nest.step1 == nest.step2 == (1,)
    return AddPlan(
        op_index=op.index,
        **common.plan_fields(),
        left_shift=ADD_LEFT_SHIFT,
        output_multiplier=mo,
        output_shift=sho,
        act_min=act_min,
        act_max=act_max,
        use_tables=same_shape and common.y.num_elements >= ADD_TABLE_MIN_ELEMENTS,
    )


def add_input_table(offset: int, left_shift: int, multiplier: int, shift: int) -> np.ndarray:
    """TFLite's rescaled ADD input for every int8 value q (index q + 128), as int32.

    MultiplyByQuantizedMultiplierSmallerThanOneExp((q + offset) << left_shift, multiplier,
    shift), the formula of :func:`add_reference`, evaluated once per possible value.
    """
    q = np.arange(-128, 128, dtype=np.int64)
    return multiply_by_quantized_multiplier((q + offset) << left_shift, multiplier, shift).astype(np.int32)


def broadcast_pair(x1: np.ndarray, x2: np.ndarray, out_shape: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Both inputs as int64 arrays broadcast to the output's shape."""
    rank = max(x1.ndim, x2.ndim, len(out_shape))
    a = x1.astype(np.int64).reshape(_extend(x1.shape, rank))
    b = x2.astype(np.int64).reshape(_extend(x2.shape, rank))
    target = _extend(out_shape, rank)
    return np.broadcast_to(a, target), np.broadcast_to(b, target)


def add_rescaled_inputs(x1: np.ndarray, x2: np.ndarray, plan: AddPlan) -> tuple[np.ndarray, np.ndarray]:
    """Both inputs broadcast to the output shape and rescaled to ADD's (and SUB's) common scale."""
    a, b = broadcast_pair(x1, x2, plan.output_shape)
    scaled1 = multiply_by_quantized_multiplier(
        (a + plan.input1_offset) << plan.left_shift, plan.input1_multiplier, plan.input1_shift
    )
    scaled2 = multiply_by_quantized_multiplier(
        (b + plan.input2_offset) << plan.left_shift, plan.input2_multiplier, plan.input2_shift
    )
    return scaled1, scaled2


def add_output(raw: np.ndarray, plan: AddPlan) -> np.ndarray:
    """The int8 output of a combined ADD/SUB value on the common scale: requantise, offset, clamp."""
    out = multiply_by_quantized_multiplier(raw, plan.output_multiplier, plan.output_shift) + plan.output_offset
    return np.clip(out, plan.act_min, plan.act_max).astype(np.int8).reshape(plan.output_shape)


def add_reference(x1: np.ndarray, x2: np.ndarray, plan: AddPlan) -> np.ndarray:
    """Pure-numpy twin of te_add_s8 (and of TFLite Micro's reference AddFunc)."""
    scaled1, scaled2 = add_rescaled_inputs(x1, x2, plan)
    return add_output(scaled1 + scaled2, plan)
