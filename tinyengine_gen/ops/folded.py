"""SHAPE, REDUCE_PROD and FILL: operators whose result is known when the model is compiled.

The TFLite converter emits them in the shape subgraphs of a model whose batch dimension
was left unfixed (``SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE``): with the file's static
shapes every value is a compile-time constant. The planners here compute that value once
(SHAPE from its input's static shape, REDUCE_PROD and FILL from constant inputs, as
TFLite Micro's reference kernels would) and the plan's ``emit`` writes the stored result.
:func:`tinyengine_gen.passes.fold_constants.fold_constants` replaces such operators by
constants before planning, so in practice no code is emitted for them.

REDUCE_PROD is only taken on constants (TFLite Micro runs it on shapes; an int8 product
with requantisation is not implemented here). FILL also runs with a run-time value
(int8, int16, int32 or float32), as on TFLite Micro; its dims must be constant.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from tinyengine_gen.ir import DType, Graph, Operator
from tinyengine_gen.ops.base import DataMovementPlan, EmitContext, OpChecker, register
from tinyengine_gen.ops.kernel import DeclaredKernels

__all__ = ["ComputedPlan", "FillPlan", "plan_fill", "plan_reduce_prod", "plan_shape"]


@dataclasses.dataclass(frozen=True, eq=False)
class ComputedPlan(DataMovementPlan, DeclaredKernels):
    """An operator whose output was computed at planning time; it runs as a copy from Flash."""

    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    value: np.ndarray
    kernels = ()  # (no kernel: no call)
    aliases: tuple[tuple[int, int], ...] = ()

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        return {self.outputs[0]: self.value.copy()}

    def emit(self, ctx: EmitContext) -> list[str]:
        source = ctx.const(f"op{self.op_index}_value", self.value)
        return [f"for (int i = 0; i < {self.value.size}; ++i) {ctx.tensor(self.outputs[0])}[i] = {source}[i];"]


@register("SHAPE")
def plan_shape(graph: Graph, op: Operator) -> ComputedPlan:
    check = OpChecker(graph, op)
    x = check.required_input(0)
    y = check.output()
    check.dtype(y, DType.INT32, DType.INT64)
    check.output_shape_matches(y, (len(x.shape),))
    value = np.asarray(x.shape, dtype=y.dtype.numpy)
    return ComputedPlan(op.index, (x.index,), (y.index,), value)


def _reduction_axes(check: OpChecker, rank: int) -> tuple[int, ...]:
    axes = np.asarray(check.constant(check.required_input(1), "reduction axes")).reshape(-1)
    result = []
    for raw in axes.tolist():
        axis = raw + rank if raw < 0 else raw
        if not 0 <= axis < rank:
            raise check.unsupported(f"reduction axis {raw} is out of range for rank {rank}.")
        result.append(axis)
    return tuple(sorted(set(result)))


@register("REDUCE_PROD", inputs=2)
def plan_reduce_prod(graph: Graph, op: Operator) -> ComputedPlan:
    check = OpChecker(graph, op)
    x = check.required_input(0)
    y = check.output()
    if x.dtype not in (DType.INT32, DType.INT64) or x.data is None:
        raise check.unsupported(
            f"{x.describe()}: REDUCE_PROD is only compiled on int32/int64 constants (shape computations); "
            "fix the model's batch size or compute the product outside the model."
        )
    axes = _reduction_axes(check, len(x.shape))
    keep = bool(op.options.get("keepDims", False))
    value = np.prod(x.data, axis=axes, keepdims=keep, dtype=x.dtype.numpy)  # wraps like the C++ kernel
    value = np.asarray(value, dtype=y.dtype.numpy).reshape(y.shape)
    return ComputedPlan(op.index, (x.index,), (y.index,), value)


_FILL_TYPES = (DType.INT8, DType.INT16, DType.INT32, DType.FLOAT32)


@dataclasses.dataclass(frozen=True, eq=False)
class FillPlan(DataMovementPlan, DeclaredKernels):
    """FILL with a value known only at run time: every output element is the scalar input."""

    op_index: int
    inputs: tuple[int, ...]  # (value,)
    outputs: tuple[int, ...]
    output_shape: tuple[int, ...]
    kernels = ()  # (no kernel: no call)
    aliases: tuple[tuple[int, int], ...] = ()

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        value = np.asarray(values[self.inputs[0]]).reshape(())
        return {self.outputs[0]: np.full(self.output_shape, value, dtype=value.dtype)}

    def emit(self, ctx: EmitContext) -> list[str]:
        count = int(np.prod(self.output_shape, dtype=np.int64))
        out, value = ctx.tensor(self.outputs[0]), ctx.tensor(self.inputs[0])
        return [f"for (int i = 0; i < {count}; ++i) {out}[i] = {value}[0];"]


@register("FILL", inputs=2)
def plan_fill(graph: Graph, op: Operator) -> ComputedPlan | FillPlan:
    check = OpChecker(graph, op)
    dims_tensor = check.required_input(0)
    value = check.required_input(1)
    y = check.output()
    check.dtype(dims_tensor, DType.INT32, DType.INT64)
    dims = tuple(int(d) for d in np.asarray(check.constant(dims_tensor, "dims")).reshape(-1))
    check.dtype(value, *_FILL_TYPES)
    if value.num_elements != 1 or len(value.shape) != 0 and value.shape != (1,):
        raise check.unsupported(f"{value.describe()} must be a scalar.")
    if y.dtype != value.dtype:
        raise check.unsupported(f"{y.describe()} must have the dtype of the value {value.describe()}.")
    check.output_shape_matches(y, dims)
    if value.data is not None:
        filled = np.full(dims, np.asarray(value.data).reshape(()), dtype=y.dtype.numpy)
        return ComputedPlan(op.index, (dims_tensor.index, value.index), (y.index,), filled)
    return FillPlan(op.index, (value.index,), (y.index,), dims)
