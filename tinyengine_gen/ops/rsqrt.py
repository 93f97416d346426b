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

from tinyengine_gen.fixedpoint import (
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
)
from tinyengine_gen.ir import Graph, Operator
from tinyengine_gen.ops.base import OpChecker, register
from tinyengine_gen.ops.gemmlowp import count_leading_zeros, saturating_shift_left, wrap32
from tinyengine_gen.ops.lookup_table import LookupTablePlan, plan_lookup_table, unary_tensors

__all__ = ["RsqrtParams", "inv_sqrt_multiplier_exp", "plan_rsqrt", "rsqrt_transform"]

_HEADROOM_SHIFT = 20
_HALF_THREE_Q3 = (1 << 28) + (1 << 27)
_HALF_SQRT_2_Q0 = 1518500250
_INT32_MAX = (1 << 31) - 1


@dataclasses.dataclass(frozen=True)
class RsqrtParams:
    input_zero_point: int
    output_zero_point: int
    multiplier: int
    shift: int


def inv_sqrt_multiplier_exp(value: int) -> tuple[int, int]:
    """TFLite's GetInvSqrtQuantizedMultiplierExp(value, kReverseShift = -1) for one value >= 0."""
    if value <= 1:
        return _INT32_MAX, 0
    shift = 11
    while value >= 1 << 29:
        value //= 4
        shift += 1
    left_shift_bit_pairs = (int(count_leading_zeros(np.int64(value))) - 1) // 2 - 1
    shift -= left_shift_bit_pairs
    value <<= 2 * left_shift_bit_pairs
    fixed_input = value >> 1
    half_input = int(rounding_divide_by_pot(fixed_input, 1))
    x = 1 << 28  # F3::One()
    for _ in range(5):
        x3 = saturating_shift_left(saturating_rounding_doubling_high_mul(saturating_rounding_doubling_high_mul(x, x), x), 6)
        difference = wrap32(saturating_rounding_doubling_high_mul(_HALF_THREE_Q3, x) - saturating_rounding_doubling_high_mul(half_input, x3))
        x = int(saturating_shift_left(difference, 3))
    inv_sqrt = int(saturating_rounding_doubling_high_mul(x, _HALF_SQRT_2_Q0))
    if shift < 0:
        inv_sqrt = int(wrap32(inv_sqrt << -shift))
        shift = 0
    return inv_sqrt, -shift


def rsqrt_transform(x: np.ndarray, p: RsqrtParams) -> np.ndarray:
    """Numpy twin of TFLM's RsqrtEvalQuantized for int8 (127 where the value is not positive)."""
    out = []
    for value in (x - p.input_zero_point).ravel().tolist():
        if value <= 0:
            out.append(127)
            continue
        multiplier, shift = inv_sqrt_multiplier_exp(value)
        data = multiply_by_quantized_multiplier(1, multiplier, shift + _HEADROOM_SHIFT)
        out.append(int(multiply_by_quantized_multiplier(data, p.multiplier, p.shift - _HEADROOM_SHIFT)) + p.output_zero_point)
    return np.asarray(out, dtype=np.int64).reshape(np.shape(x))


@register("RSQRT")
def plan_rsqrt(graph: Graph, op: Operator) -> LookupTablePlan:
    check = OpChecker(graph, op)
    x, y = unary_tensors(check)
    in_scale, in_zp = check.per_tensor_quant(x)
    out_scale, out_zp = check.per_tensor_quant(y)
    multiplier, shift = quantize_multiplier(1.0 / float(np.sqrt(np.float32(in_scale)) * np.float32(out_scale)))
    return plan_lookup_table(graph, op, "rsqrt", rsqrt_transform, RsqrtParams(in_zp, out_zp, multiplier, shift))
