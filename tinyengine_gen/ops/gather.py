"""GATHER: slices of a tensor picked along one axis by int32 indices.

As TFLite Micro's reference kernel: int8, int32 or float32 values are copied (no
requantisation), indices may be constant or computed, ``batch_dims`` must be 0 here (the
converter emits it for Keras layers that way). An index outside the axis makes TFLite
Micro fail the invocation; a constant one is refused at compile time, a computed one
leaves its slice zero in the generated code.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np

from tinyengine_gen.ir import DType, Graph, Operator
from tinyengine_gen.ops.base import DataMovementPlan, EmitContext, OpChecker, register
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel

__all__ = ["GATHER_KERNEL", "GatherPlan", "plan_gather"]

_VALUE_TYPES = (DType.INT8, DType.INT16, DType.INT32, DType.FLOAT32)


#: the kernel the emitted call runs
GATHER_KERNEL = Kernel("te_gather_bytes", ("te_gather.c", "te_gather.h"))


@dataclasses.dataclass(frozen=True, eq=False)
class GatherPlan(DataMovementPlan, DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]  # (params, indices)
    outputs: tuple[int, ...]
    axis: int
    outer: int
    axis_size: int
    inner_bytes: int
    count: int
    output_shape: tuple[int, ...]
    constant_indices: np.ndarray | None  # int32, when the indices are known at compile time
    kernels = (GATHER_KERNEL,)
    aliases: tuple[tuple[int, int], ...] = ()

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        x = np.asarray(values[self.inputs[0]])
        indices = np.asarray(values[self.inputs[1]]).astype(np.int64).reshape(-1)
        block = x.reshape(self.outer, self.axis_size, -1)
        out = np.zeros((self.outer, self.count, block.shape[2]), dtype=x.dtype)
        inside = (indices >= 0) & (indices < self.axis_size)
        out[:, inside] = block[:, indices[inside]]
        return {self.outputs[0]: out.reshape(self.output_shape)}

    def emit(self, ctx: EmitContext) -> list[str]:
        if self.constant_indices is not None:
            indices = ctx.const(f"op{self.op_index}_indices", self.constant_indices)
        else:
            indices = ctx.tensor(self.inputs[1])
        return [
            f"{GATHER_KERNEL.name}({self.outer}, {self.axis_size}, {self.inner_bytes}, {self.count}, {indices}, "
            f"(const int8_t*){ctx.tensor(self.inputs[0])}, (int8_t*){ctx.tensor(self.outputs[0])});"
        ]


@register("GATHER", inputs=2)
def plan_gather(graph: Graph, op: Operator) -> GatherPlan:
    check = OpChecker(graph, op)
    x = check.required_input(0)
    coords = check.required_input(1)
    y = check.output()
    check.dtype(x, *_VALUE_TYPES)
    check.dtype(y, x.dtype)
    check.dtype(coords, DType.INT32, DType.INT64)
    if int(op.options.get("batchDims", 0) or 0) != 0:
        raise check.unsupported("batch_dims other than 0 is not supported.")
    raw = int(op.options.get("axis", 0) or 0)
    axis = raw + len(x.shape) if raw < 0 else raw
    if not 0 <= axis < len(x.shape):
        raise check.unsupported(f"axis {raw} is out of range for {x.describe()}.")
    check.output_shape_matches(y, (*x.shape[:axis], *coords.shape, *x.shape[axis + 1 :]))
    constant = None
    if coords.data is not None:
        values = np.asarray(coords.data).reshape(-1)
        if values.size and (values.min() < 0 or values.max() >= x.shape[axis]):
            raise check.unsupported(f"{coords.describe()} has indices outside [0, {x.shape[axis]}).")
        constant = values.astype(np.int32)
    elif coords.dtype != DType.INT32:
        raise check.unsupported(f"{coords.describe()}: computed indices must be int32.")
    return GatherPlan(
        op_index=op.index,
        inputs=(x.index, coords.index),
        outputs=(y.index,),
        axis=axis,
        outer=math.prod(x.shape[:axis]),
        axis_size=x.shape[axis],
        inner_bytes=math.prod(x.shape[axis + 1 :]) * x.dtype.itemsize,
        count=coords.num_elements,
        output_shape=tuple(y.shape),
        constant_indices=constant,
    )
