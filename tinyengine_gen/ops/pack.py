"""PACK: tensors of one shape stacked along a new axis.

TFLite Micro copies the values (int8, int16, int32, int64 or float32; no requantisation).
It is a concatenation in which every input contributes one contiguous chunk per index of
the dimensions before the new axis, so it runs on ``te_concatenation_s8`` with chunk
sizes in bytes. In unfixed-batch models PACK builds shapes from constants and is folded
before planning.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np

from tinyengine_gen.ir import DType, Graph, Operator
from tinyengine_gen.ops.base import DataMovementPlan, EmitContext, OpChecker, register
from tinyengine_gen.ops.concatenation import CONCATENATION_KERNEL, MAX_INPUTS
from tinyengine_gen.ops.kernel import DeclaredKernels
from tinyengine_gen.ops.split import COPY_DTYPES

__all__ = ["PackPlan", "plan_pack"]


@dataclasses.dataclass(frozen=True, eq=False)
class PackPlan(DataMovementPlan, DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    axis: int
    outer: int
    chunk: int  # bytes of each input per outer index
    kernels = (CONCATENATION_KERNEL,)  # (it runs CONCATENATION's kernel)
    aliases: tuple[tuple[int, int], ...] = ()

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        return {self.outputs[0]: np.stack([np.asarray(values[i]) for i in self.inputs], axis=self.axis)}

    def emit(self, ctx: EmitContext) -> list[str]:
        n = len(self.inputs)
        chunks = ", ".join([str(self.chunk)] * n)
        pointers = ", ".join(f"(const int8_t*){ctx.tensor(i)}" for i in self.inputs)
        return [
            "{",
            f"  static const te_concatenation_params params = {{.num_inputs = {n}, .outer = {self.outer}, "
            f".chunk = {{{chunks}}}}};",
            f"  const int8_t* const inputs[{n}] = {{{pointers}}};",
            f"  {CONCATENATION_KERNEL.name}(&params, inputs, (int8_t*){ctx.tensor(self.outputs[0])});",
            "}",
        ]


@register("PACK")
def plan_pack(graph: Graph, op: Operator) -> PackPlan:
    check = OpChecker(graph, op)
    y = check.output()
    xs = [check.required_input(i) for i in range(len(op.inputs))]
    if not 1 <= len(xs) <= MAX_INPUTS:
        raise check.unsupported(f"{len(xs)} inputs; 1 to {MAX_INPUTS} are supported.")
    check.dtype(y, *COPY_DTYPES, DType.INT64)
    shape = xs[0].shape
    for x in xs:
        check.dtype(x, y.dtype)
        if x.shape != shape:
            raise check.unsupported(f"{x.describe()} does not have the shape {list(shape)} of the first input.")
    raw = int(op.options.get("axis", 0) or 0)
    axis = raw + len(shape) + 1 if raw < 0 else raw
    if not 0 <= axis <= len(shape):
        raise check.unsupported(f"axis {raw} is out of range for inputs of rank {len(shape)}.")
    check.output_shape_matches(y, (*shape[:axis], len(xs), *shape[axis:]))
    return PackPlan(
        op_index=op.index,
        inputs=tuple(x.index for x in xs),
        outputs=(y.index,),
        axis=axis,
        outer=math.prod(shape[:axis]),
        chunk=math.prod(shape[axis:]) * y.dtype.itemsize,
    )
