"""MINIMUM and MAXIMUM: int8, with broadcasting, as TFLite Micro computes them.

TFLM (maximum_minimum.cc) compares the raw int8 bytes and writes the smaller / larger one,
with no requantisation: the converter gives both inputs and the output the same scale and
zero point, and TFLM does not check that they agree, so neither does the planner (the
bytes are then the same as TFLM's whatever the quantisation says).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinyengine_gen.ir import Graph, Operator
from tinyengine_gen.ops.base import OpChecker, register
from tinyengine_gen.ops.binary import BroadcastBinaryPlan, broadcast_kernel
from tinyengine_gen.ops.elementwise import binary_plan_fields, check_binary

__all__ = ["MaximumPlan", "MinimumPlan", "plan_maximum", "plan_minimum"]


@dataclasses.dataclass(frozen=True, eq=False)
class MaximumPlan(BroadcastBinaryPlan):
    kernel = broadcast_kernel("te_maximum_s8", "te_minmax")

    def combine(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.maximum(a, b)


@dataclasses.dataclass(frozen=True, eq=False)
class MinimumPlan(BroadcastBinaryPlan):
    kernel = broadcast_kernel("te_minimum_s8", "te_minmax")

    def combine(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.minimum(a, b)


def _plan(cls: type[BroadcastBinaryPlan], graph: Graph, op: Operator) -> BroadcastBinaryPlan:
    x1, x2, y = check_binary(OpChecker(graph, op))
    return cls(op_index=op.index, **binary_plan_fields(x1, x2, y))


@register("MAXIMUM", inputs=2)
def plan_maximum(graph: Graph, op: Operator) -> BroadcastBinaryPlan:
    return _plan(MaximumPlan, graph, op)


@register("MINIMUM", inputs=2)
def plan_minimum(graph: Graph, op: Operator) -> BroadcastBinaryPlan:
    return _plan(MinimumPlan, graph, op)
