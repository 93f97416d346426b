"""ELU: int8, from the table TFLite Micro itself builds in float32.

TFLM's int8 ELU (elu.cc, PopulateLookupTable) fills a 256-entry table when it prepares:
dequantise each byte in float32, apply ``x < 0 ? exp(x) - 1 : x``, multiply by the
reciprocal of the output scale, round half away from zero, add the zero point and clamp.
The planner repeats that arithmetic step by step in float32. ``expf`` comes from the C
library (glibc's is correctly rounded), so exp is evaluated in double and rounded once to
float32, which is what a correctly rounded expf returns.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinyengine_gen.ir import Graph, Operator
from tinyengine_gen.ops.base import OpChecker, register
from tinyengine_gen.ops.lookup_table import LookupTablePlan, plan_lookup_table, unary_tensors

__all__ = ["EluParams", "elu_transform", "plan_elu"]


@dataclasses.dataclass(frozen=True)
class EluParams:
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int


def _expf(x: np.ndarray) -> np.ndarray:
    return np.exp(x.astype(np.float64)).astype(np.float32)


def elu_transform(x: np.ndarray, p: EluParams) -> np.ndarray:
    """Numpy twin of TFLM's int8 ELU table entry for each input byte (float32 throughout)."""
    inverse_scale = np.float32(1.0) / np.float32(p.output_scale)
    dequantized = np.float32(p.input_scale) * (x - p.input_zero_point).astype(np.float32)
    transformed = np.where(dequantized < 0, _expf(dequantized) - np.float32(1.0), dequantized).astype(np.float32)
    scaled = (transformed * inverse_scale).astype(np.float32)
    rescaled = np.where(scaled >= 0, np.floor(scaled + 0.5), -np.floor(-scaled + 0.5))  # std::round on float
    return np.clip(rescaled.astype(np.int64) + p.output_zero_point, -128, 127)


@register("ELU")
def plan_elu(graph: Graph, op: Operator) -> LookupTablePlan:
    check = OpChecker(graph, op)
    x, y = unary_tensors(check)
    in_scale, in_zp = check.per_tensor_quant(x)
    out_scale, out_zp = check.per_tensor_quant(y)
    return plan_lookup_table(graph, op, "elu", elu_transform, EluParams(in_scale, in_zp, out_scale, out_zp))
