"""RSQRT: int8 1/sqrt(x), as TFLite Micro's elementwise.cc computes it.

For each byte, ``value = x - zero_point``; zero gives 127; otherwise TFLite's
GetInvSqrtQuantizedMultiplierExp (normalise by pairs of bits, five Newton-Raphson steps on
gemmlowp Q3.28 values, times sqrt(2)/2) gives 1/sqrt(value) as a multiplier and shift, which
is applied to 1 with 20 extra bits of headroom and then requantised with the multiplier of
1 / (sqrtf(input scale) * output scale). TFLM fails the whole invoke on a byte below the
input zero point (negative inputs are outside RSQRT's domain); the table gives 127 there.
A table (see :mod:`tinyengine_gen.ops.lookup_table`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinyengine_gen.fixedpoint import multiply_by_quantized_multiplier, requant_multiplier
from tinyengine_gen.ir import Graph, Operator
from tinyengine_gen.ops.base import OpChecker, register
from tinyengine_gen.ops.gemmlowp import inv_sqrt_multiplier_exp
from tinyengine_gen.ops.lookup_table import LookupTablePlan, plan_lookup_table, unary_tensors

__all__ = ["RsqrtParams", "plan_rsqrt", "rsqrt_transform"]

_HEADROOM_SHIFT = 20


@dataclasses.dataclass(frozen=True)
class RsqrtParams:
    input_zero_point: int
    output_zero_point: int
    multiplier: int
    shift: int


def rsqrt_transform(x: np.ndarray, p: RsqrtParams) -> np.ndarray:
    """Numpy twin of TFLM's RsqrtEvalQuantized for int8 (127 where the value is not positive)."""
    out = []
    for value in (x - p.input_zero_point).ravel().tolist():
        if value <= 0:
            out.append(127)
            continue
        multiplier, shift = inv_sqrt_multiplier_exp(value)
        data = multiply_by_quantized_multiplier(1, multiplier, shift + _HEADROOM_SHIFT)
        scaled = multiply_by_quantized_multiplier(data, p.multiplier, p.shift - _HEADROOM_SHIFT)
        out.append(int(scaled) + p.output_zero_point)
    return np.asarray(out, dtype=np.int64).reshape(np.shape(x))


@register("RSQRT")
def plan_rsqrt(graph: Graph, op: Operator) -> LookupTablePlan:
    check = OpChecker(graph, op)
    x, y = unary_tensors(check)
    in_scale, in_zp = check.per_tensor_quant(x)
    out_scale, out_zp = check.per_tensor_quant(y)
    multiplier, shift = requant_multiplier(1.0 / float(np.sqrt(np.float32(in_scale)) * np.float32(out_scale)))
    return plan_lookup_table(graph, op, "rsqrt", rsqrt_transform, RsqrtParams(in_zp, out_zp, multiplier, shift))
