"""The shared plan of int8 unary operators that are a function of the input byte alone.

TFLite Micro's int8 HARD_SWISH, RELU, RELU6, LEAKY_RELU, TANH, ELU and RSQRT each map one
input byte to one output byte with parameters fixed by the tensors' quantisation (and the
op's options). Each operator module writes the numpy twin of TFLM's integer arithmetic
(its ``transform``) and plans with :func:`plan_lookup_table`; the plan evaluates the
transform on all 256 int8 values once, and the C kernel ``te_lut_s8`` looks every input
byte up in that table. The numpy reference runs the transform itself on the values, so a
test against TFLM checks the arithmetic, not only the lookup.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from tinyengine_gen.ir import DType, Graph, Operator, Tensor
from tinyengine_gen.ops.base import DataMovementPlan, EmitContext, OpChecker, plan_property
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel

__all__ = ["LOOKUP_TABLE_KERNEL", "ALL_INT8", "LookupTablePlan", "Transform", "plan_lookup_table", "unary_tensors"]

#: Every int8 value in table order (index q + 128).
ALL_INT8 = np.arange(-128, 128, dtype=np.int64)

#: A transform maps int8 values (as an int64 array) and its frozen parameters to int8 values.
Transform = Callable[[np.ndarray, Any], np.ndarray]


#: the kernel the emitted call runs
LOOKUP_TABLE_KERNEL = Kernel("te_lut_s8", ("te_lut.c", "te_lut.h"))


@dataclasses.dataclass(frozen=True, eq=False)
class LookupTablePlan(DataMovementPlan, DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    size: int
    #: a short lower-case name for the table's symbol (e.g. "hard_swish")
    name: str
    #: the numpy twin of TFLM's arithmetic, and the parameters it was planned with
    transform: Transform
    params: Any
    kernels = (LOOKUP_TABLE_KERNEL,)
    aliases: tuple[tuple[int, int], ...] = ()

    @plan_property
    def table(self) -> np.ndarray:
        """The kernel's table: the int8 output for every input q, at index q + 128."""
        return self.apply(ALL_INT8)

    def apply(self, x: np.ndarray) -> np.ndarray:
        out = np.asarray(self.transform(np.asarray(x, dtype=np.int64), self.params))
        return np.clip(out, -128, 127).astype(np.int8).reshape(np.shape(x))

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        return {self.outputs[0]: self.apply(values[self.inputs[0]])}

    def emit(self, ctx: EmitContext) -> list[str]:
        table = ctx.const(f"op{self.op_index}_{self.name}_table", self.table)
        x, y = ctx.tensor(self.inputs[0]), ctx.tensor(self.outputs[0])
        return [f"{LOOKUP_TABLE_KERNEL.name}({self.size}, {table}, {x}, {y});"]


def unary_tensors(check: OpChecker) -> tuple[Tensor, Tensor]:
    """The int8 input and output of a one-input element-wise operator, of the same shape."""
    x, y = check.required_input(0), check.output()
    check.dtype(x, DType.INT8)
    check.dtype(y, DType.INT8)
    if tuple(y.shape) != tuple(x.shape):
        raise check.unsupported(f"{y.describe()} must have the shape of {x.describe()}.")
    return x, y


def plan_lookup_table(graph: Graph, op: Operator, name: str, transform: Transform, params: Any) -> LookupTablePlan:
    x = graph.tensor(op.inputs[0])
    return LookupTablePlan(
        op_index=op.index,
        inputs=(x.index,),
        outputs=(op.outputs[0],),
        size=x.num_elements,
        name=name,
        transform=transform,
        params=params,
    )
