"""SUB: int8 subtraction with broadcasting, as TFLite Micro's reference Sub computes it.

TFLM's int8 SUB (sub_common.cc) takes exactly ADD's parameters (left shift 20, three
multipliers below one from the float32 scales) and subtracts where ADD adds the two
rescaled inputs. The plan therefore keeps the ADD plan of the same tensors and runs ADD's
kernels: a large same-shape SUB is ``te_add_lut_s8`` with input 2's rescaling table
negated (exact: the table holds the rescaled values, and a - b = a + (-b) in int32); the
others run ``te_sub_s8``, ``te_add_s8``'s row loops with the sign turned.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from tinyengine_gen.ir import Graph, Operator
from tinyengine_gen.ops.base import EmitContext, register
from tinyengine_gen.ops.elementwise import AddPlan, add_output, add_rescaled_inputs, plan_add
from tinyengine_gen.ops.kernel import DeclaredKernels, Kernel

__all__ = ["SUB_S8", "SubPlan", "plan_sub", "sub_reference"]


#: the broadcasting kernel (with ADD's parameter struct)
SUB_S8 = Kernel("te_sub_s8", ("te_sub.c", "te_sub.h", "te_add.h", "te_broadcast.h", "te_add_requant.h", "te_fixedpoint.h"))


@dataclasses.dataclass(frozen=True, eq=False)
class SubPlan(DeclaredKernels):
    op_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    #: the ADD of the same tensors: TFLM's SUB has exactly its parameters
    add: AddPlan
    aliases: tuple[tuple[int, int], ...] = ()

    @property
    def kernels(self) -> tuple[Kernel, ...]:
        """ADD's table kernel (on table 2 negated), or the broadcasting SUB kernel."""
        return self.add.kernels if self.add.use_tables else (SUB_S8,)

    @property
    def macs(self) -> int:
        return self.add.macs

    @property
    def scratch_bytes(self) -> int:
        return 0

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        return {self.outputs[0]: sub_reference(values[self.inputs[0]], values[self.inputs[1]], self.add)}

    def emit(self, ctx: EmitContext) -> list[str]:
        if self.add.use_tables:
            table1, table2 = self.add.input_tables()
            return self.add.emit_table_call(ctx, table1, -table2)
        return self.add.emit_broadcast_call(ctx, SUB_S8)


@register("SUB", inputs=2)
def plan_sub(graph: Graph, op: Operator) -> SubPlan:
    add = plan_add(graph, op)
    return SubPlan(op_index=op.index, inputs=add.inputs, outputs=add.outputs, add=add)


def sub_reference(x1: np.ndarray, x2: np.ndarray, plan: AddPlan) -> np.ndarray:
    """Pure-numpy twin of te_sub_s8 (and of TFLite Micro's reference Sub / BroadcastQuantSubSlow)."""
    scaled1, scaled2 = add_rescaled_inputs(x1, x2, plan)
    return add_output(scaled1 - scaled2, plan)
