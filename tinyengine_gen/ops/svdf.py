"""SVDF: int8 singular-value-decomposition filter with an int16 state, as TFLite Micro runs it.

TFLM's int8 SVDF (svdf_common.cc, EvalIntegerSvdfReference) keeps a variable tensor, the
state ``[batch, filters * memory]``, from one invoke to the next. Each invoke shifts the
whole state buffer left by one element; computes each filter's feature dot product
(input less its zero point, int8 weights), requantised with input * feature scale /
state scale and clamped to int16, into the newest slot of the filter's memory; takes each
filter's dot product of its memory (less the state zero point) with the int16 time
weights; adds the bias and sums the ``rank`` filters of each unit; and requantises with
state * time scale / output scale. Both multipliers come from float32 ratios
(QuantizeMultiplier). The state lives over the whole schedule (it is never reused,
see :mod:`tinyengine_gen.memory.lifetimes`) and ``te_reset()`` clears it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from tinyengine_gen.fixedpoint import multiply_by_quantized_multiplier, requant_multiplier
from tinyengine_gen.ir import DType, Graph, Operator
from tinyengine_gen.ops.base import EmitContext, OpChecker, register
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel
from tinyengine_gen.ops.stateful import StatefulPlan, stateful_fields, variable_state

__all__ = ["SVDF_KERNEL", "SvdfPlan", "plan_svdf", "svdf_reference"]


def _wrap(x: np.ndarray, bits: int) -> np.ndarray:
    half = 1 << (bits - 1)
    return ((np.asarray(x, dtype=np.int64) + half) % (1 << bits)) - half


#: the kernel the emitted call runs
SVDF_KERNEL = Kernel("te_svdf_s8_s16", ("te_svdf.c", "te_svdf.h", "te_fixedpoint.h"))


@dataclasses.dataclass(frozen=True, eq=False)
class SvdfPlan(StatefulPlan, DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]  # input, weights_feature, weights_time, bias, state
    outputs: tuple[int, ...]
    batch: int
    n_input: int
    n_filter: int
    n_memory: int
    rank: int
    input_zero_point: int
    state_zero_point: int
    output_zero_point: int
    feature_multiplier: int
    feature_shift: int
    output_multiplier: int
    output_shift: int
    kernels = (SVDF_KERNEL,)

    @property
    def n_unit(self) -> int:
        return self.n_filter // self.rank

    @property
    def state(self) -> int:
        return self.inputs[4]

    @property
    def state_tensors(self) -> tuple[int, ...]:
        return (self.state,)

    @property
    def macs(self) -> int:
        return self.batch * self.n_filter * (self.n_input + self.n_memory)

    @property
    def scratch_bytes(self) -> int:
        """int32 per filter (time dot products) and per unit (outputs before requantisation)."""
        return 4 * self.batch * (self.n_filter + self.n_unit)

    def step_reference(self, values: Mapping[int, np.ndarray]) -> tuple[np.ndarray, ...]:
        return svdf_reference(values, self)

    def emit(self, ctx: EmitContext) -> list[str]:
        params = (
            f".batch = {self.batch}, .n_input = {self.n_input}, .n_filter = {self.n_filter}, "
            f".n_memory = {self.n_memory}, .rank = {self.rank}, .input_zero_point = {self.input_zero_point}, "
            f".state_zero_point = {self.state_zero_point}, .output_zero_point = {self.output_zero_point}, "
            f".feature_multiplier = {self.feature_multiplier}, .feature_shift = {self.feature_shift}, "
            f".output_multiplier = {self.output_multiplier}, .output_shift = {self.output_shift}"
        )
        x, wf, wt, bias, state = (ctx.tensor(i) for i in self.inputs)
        return [
            "{",
            f"  static const te_svdf_params params = {{{params}}};",
            f"  {SVDF_KERNEL.name}(&params, {x}, {wf}, {wt}, {bias}, {state}, {ctx.scratch('int32_t')}, "
            f"{ctx.tensor(self.outputs[0])});",
            "}",
        ]


@register("SVDF", inputs=5)
def plan_svdf(graph: Graph, op: Operator) -> SvdfPlan:
    check = OpChecker(graph, op)
    x, wf, wt = check.required_input(0), check.required_input(1), check.required_input(2)
    bias, state, y = check.input(3, optional=True), check.required_input(4), check.output()
    for tensor, dtype in ((x, DType.INT8), (wf, DType.INT8), (y, DType.INT8)):
        check.dtype(tensor, dtype)
    if wt.dtype != DType.INT16 or state.dtype != DType.INT16:
        raise check.unsupported(
            "int8 SVDF needs int16 time weights and an int16 state (the int8-state variant is not supported)."
        )
    if bias is None:
        raise check.unsupported("an int8 SVDF needs a bias (TFLite Micro reads its scale).")
    check.dtype(bias, DType.INT32)
    variable_state(check, state, "state")
    check.constant(wf, "feature weights")
    check.constant(wt, "time weights")
    check.constant(bias, "bias")
    check.rank(x, 2)
    batch, n_input = x.shape
    n_filter, n_memory = wt.shape
    rank = int(check.required_options("rank 0").get("rank", 0) or 0)
    if rank < 1:
        raise check.unsupported(f"rank {rank}; an SVDF needs rank >= 1.")
    if tuple(wf.shape) != (n_filter, n_input) or n_filter % rank or tuple(state.shape) != (batch, n_filter * n_memory):
        raise check.unsupported(
            f"shapes do not fit: input {list(x.shape)}, feature weights {list(wf.shape)}, time weights "
            f"{list(wt.shape)}, state {list(state.shape)}, rank {rank}."
        )
    check.output_shape_matches(y, (batch, n_filter // rank))
    if bias.num_elements != n_filter // rank:
        raise check.unsupported(f"{bias.describe()} must have one value per unit ({n_filter // rank}).")
    if check.activation() != "NONE":
        raise check.unsupported("a fused activation is not supported on int8 SVDF (TFLite Micro ignores it).")
    s_in, z_in = check.per_tensor_quant(x)
    s_wf, _ = check.per_tensor_quant(wf)
    s_wt, _ = check.per_tensor_quant(wt)
    s_state, z_state = check.per_tensor_quant(state)
    s_out, z_out = check.per_tensor_quant(y)
    f32 = np.float32
    m1, e1 = requant_multiplier(float((f32(s_in) * f32(s_wf)) / f32(s_state)))
    m2, e2 = requant_multiplier(float((f32(s_state) * f32(s_wt)) / f32(s_out)))
    return SvdfPlan(
        **stateful_fields(op, (x.index, wf.index, wt.index, bias.index, state.index), y, batch, n_input, z_in),
        n_filter=n_filter,
        n_memory=n_memory,
        rank=rank,
        state_zero_point=z_state,
        output_zero_point=z_out,
        feature_multiplier=m1,
        feature_shift=e1,
        output_multiplier=m2,
        output_shift=e2,
    )


def svdf_reference(values: Mapping[int, np.ndarray], plan: SvdfPlan) -> tuple[np.ndarray, np.ndarray]:
    """Pure-numpy twin of te_svdf_s8_s16: (output, new state)."""
    x, wf, wt, bias, state = (np.asarray(values[i], dtype=np.int64) for i in plan.inputs)
    flat = state.reshape(-1).copy()
    flat[:-1] = flat[1:]  # the whole buffer moves one element left, across filters and batches
    memory = flat.reshape(plan.batch, plan.n_filter, plan.n_memory)
    rows = x.reshape(plan.batch, plan.n_input) - plan.input_zero_point
    dot = _wrap(rows @ wf.reshape(plan.n_filter, plan.n_input).T, 32)
    feature = np.clip(multiply_by_quantized_multiplier(dot, plan.feature_multiplier, plan.feature_shift), -32768, 32767)
    memory[:, :, -1] = _wrap(plan.state_zero_point + feature, 16)
    time = _wrap(((memory - plan.state_zero_point) * wt.reshape(1, plan.n_filter, plan.n_memory)).sum(axis=2), 32)
    units = _wrap(bias.reshape(1, plan.n_unit) + time.reshape(plan.batch, plan.n_unit, plan.rank).sum(axis=2), 32)
    out = multiply_by_quantized_multiplier(units, plan.output_multiplier, plan.output_shift) + plan.output_zero_point
    output = np.clip(out, -128, 127).astype(np.int8).reshape(plan.batch, plan.n_unit)
    return output, memory.reshape(state.shape).astype(np.int16)
