"""RESHAPE, SQUEEZE and EXPAND_DIMS: views that change the shape, never the bytes.

TFLite Micro's kernels for all three only copy the input bytes to the output (or do
nothing when the two share memory); the output tensor's shape in the file is the one
they use (a RESHAPE's shape tensor or ``newShape`` option is not consulted at run time).
So the plan asks the memory planner to give input and output one buffer and emits no
code. The one exception is a constant input (a reshaped weight fed to an op that reads
it from the arena): constants live in Flash, so that case is an explicit copy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from tinyengine_gen.errors import UnsupportedModelError
from tinyengine_gen.ir import Graph, Operator, Tensor
from tinyengine_gen.ops.base import DataMovementPlan, EmitContext, OpChecker, register
from tinyengine_gen.ops.kernel import DeclaredKernels

__all__ = ["ReshapePlan", "plan_expand_dims", "plan_reshape", "plan_squeeze"]


@dataclasses.dataclass(frozen=True, eq=False)
class ReshapePlan(DataMovementPlan, DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    output_shape: tuple[int, ...]
    nbytes: int
    copy: bool  # True when the input is a constant: it cannot share the output's arena buffer
    kernels = ()  # (no kernel: no call)

    @property
    def aliases(self) -> tuple[tuple[int, int], ...]:
        return () if self.copy else ((self.outputs[0], self.inputs[0]),)

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        return {self.outputs[0]: np.reshape(values[self.inputs[0]], self.output_shape)}

    def emit(self, ctx: EmitContext) -> list[str]:
        if not self.copy:
            return [f"/* view: output shares the input's buffer, shape {list(self.output_shape)} */"]
        return [f"memcpy({ctx.tensor(self.outputs[0])}, {ctx.tensor(self.inputs[0])}, {self.nbytes});"]


def _view_plan(check: OpChecker, x: Tensor, y: Tensor) -> ReshapePlan:
    """Checks shared by the three view ops, then the plan."""
    if x.dtype != y.dtype:
        raise check.unsupported(f"{x.describe()} and {y.describe()} must have the same dtype.")
    if any(d < 0 for d in y.shape):
        raise check.unsupported(
            f"{y.describe()} has an unknown dimension; only static shapes are supported (convert with a fixed "
            "batch size)."
        )
    if x.num_elements != y.num_elements:
        raise UnsupportedModelError(
            f"{check.graph.source}: {check.op.describe()}: {y.describe()} has {y.num_elements} elements but "
            f"{x.describe()} has {x.num_elements}; a reshape must keep the element count."
        )
    return ReshapePlan(
        op_index=check.op.index,
        inputs=(x.index,),
        outputs=(y.index,),
        output_shape=tuple(y.shape),
        nbytes=y.nbytes,
        copy=x.is_constant,
    )


@register("RESHAPE")
def plan_reshape(graph: Graph, op: Operator) -> ReshapePlan:
    """The new shape (second input or ``newShape`` option) may say -1; the output tensor's shape is final."""
    check = OpChecker(graph, op)
    if len(op.inputs) not in (1, 2):
        raise check.unsupported(f"expected 1 or 2 inputs (data, optional shape), got {len(op.inputs)}.")
    return _view_plan(check, check.required_input(0), check.output())


@register("SQUEEZE")
def plan_squeeze(graph: Graph, op: Operator) -> ReshapePlan:
    check = OpChecker(graph, op)
    x = check.required_input(0)
    y = check.output()
    rank = len(x.shape)
    dims = {int(d) % rank for d in (op.options.get("squeezeDims") or ())} if rank else set()
    expected = tuple(d for i, d in enumerate(x.shape) if not (d == 1 and (not dims or i in dims)))
    if any(x.shape[i] != 1 for i in dims):
        raise check.unsupported(f"squeeze dimensions {sorted(dims)} of {x.describe()} must all have size 1.")
    check.output_shape_matches(y, expected)
    return _view_plan(check, x, y)


@register("EXPAND_DIMS", inputs=2)
def plan_expand_dims(graph: Graph, op: Operator) -> ReshapePlan:
    check = OpChecker(graph, op)
    x = check.required_input(0)
    axis_tensor = check.required_input(1)
    y = check.output()
    axis_values = np.asarray(check.constant(axis_tensor, "axis")).reshape(-1)
    if axis_values.size != 1:
        raise check.unsupported(f"the axis {axis_tensor.describe()} must hold exactly one value.")
    rank = len(x.shape)
    axis = int(axis_values[0])
    if not -rank - 1 <= axis <= rank:
        raise check.unsupported(f"axis {axis} is out of range for {x.describe()}.")
    axis %= rank + 1
    check.output_shape_matches(y, (*x.shape[:axis], 1, *x.shape[axis:]))
    return _view_plan(check, x, y)
