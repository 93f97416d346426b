"""HARD_SWISH: int8 x * relu6(x + 3) / 6 with TFLite Micro's 16-bit fixed-point arithmetic.

TFLM (hard_swish_common.cc, reference_ops::HardSwish) works in int16: the input, less its
zero point, is moved to a "hires" scale (x 128); one 16-bit multiplier takes it to the
output scale (before a final right shift), another to the "relu-ish" scale where 3.0 is
32768, saturating; that value is mapped from [-1, 1] to [0, 1] and multiplied, rounding
toward zero (SQDMULH-like), with the pre-shift output. Both multipliers come from
QuantizeMultiplier of float32 ratios, rounded down to 16 bits
(DownScaleInt32ToInt16Multiplier). The result depends on the input byte alone, so the
kernel is a table (see :mod:`tinyengine_gen.ops.lookup_table`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinyengine_gen.fixedpoint import quantize_multiplier
from tinyengine_gen.ir import Graph, Operator
from tinyengine_gen.ops.base import OpChecker, register
from tinyengine_gen.ops.lookup_table import LookupTablePlan, plan_lookup_table, unary_tensors

__all__ = ["HardSwishParams", "hard_swish_params", "hard_swish_transform", "plan_hard_swish"]

_INT16_MIN, _INT16_MAX = -(1 << 15), (1 << 15) - 1


@dataclasses.dataclass(frozen=True)
class HardSwishParams:
    input_zero_point: int
    output_zero_point: int
    output_multiplier: int  # int16 fixed point
    output_exponent: int  # <= 0
    reluish_multiplier: int  # int16 fixed point
    reluish_exponent: int


def _int16_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier, then DownScaleInt32ToInt16Multiplier (round to the top 16 bits)."""
    multiplier, exponent = quantize_multiplier(real)
    if multiplier >= (1 << 31) - 1 - (1 << 15):
        return _INT16_MAX, exponent
    return (multiplier + (1 << 15)) >> 16, exponent


def hard_swish_params(input_scale: float, input_zp: int, output_scale: float, output_zp: int) -> HardSwishParams:
    """HardSwishPrepare's parameters: float32 ratios, as TFLM computes them."""
    hires_input_scale = np.float32(1.0 / 128.0) * np.float32(input_scale)
    reluish_scale = np.float32(3.0) / np.float32(32768.0)
    out_m, out_e = _int16_multiplier(float(hires_input_scale / np.float32(output_scale)))
    relu_m, relu_e = _int16_multiplier(float(hires_input_scale / reluish_scale))
    return HardSwishParams(input_zp, output_zp, out_m, out_e, relu_m, relu_e)


def _wrap16(x: np.ndarray) -> np.ndarray:
    return ((x + (1 << 15)) % (1 << 16)) - (1 << 15)


def _srdhm16(a: np.ndarray, b: int) -> np.ndarray:
    """gemmlowp SaturatingRoundingDoublingHighMul on int16."""
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 14, 1 - (1 << 14))
    total = ab + nudge
    high = np.where(total >= 0, total >> 15, -((-total) >> 15))
    return np.where((a == b) & (a == _INT16_MIN), _INT16_MAX, high)


def _sdhm16(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SaturatingDoublingHighMul on int16: the doubled product's high half, rounding toward zero."""
    ab = a * b
    high = _wrap16(np.where(ab >= 0, ab >> 15, -((-ab) >> 15)))
    return np.where((a == b) & (a == _INT16_MIN), _INT16_MAX, high)


def _saturating_left_shift16(x: np.ndarray, amount: int) -> np.ndarray:
    return np.clip(x * (1 << amount), _INT16_MIN, _INT16_MAX)


def _rounding_divide_by_pot(x: np.ndarray, exponent: int) -> np.ndarray:
    mask = (1 << exponent) - 1
    threshold = (mask >> 1) + np.where(x < 0, 1, 0)
    return (x >> exponent) + np.where((x & mask) > threshold, 1, 0)


def hard_swish_transform(x: np.ndarray, p: HardSwishParams) -> np.ndarray:
    """Numpy twin of TFLM's reference_ops::HardSwish for int8 (every step in int16)."""
    hires = _wrap16((x - p.input_zero_point) * 128)
    preshift_output_scale = _srdhm16(hires, p.output_multiplier)
    reluish = hires
    if p.reluish_exponent > 0:
        reluish = _saturating_left_shift16(reluish, p.reluish_exponent - 1)
    reluish = _srdhm16(reluish, p.reluish_multiplier)
    if p.reluish_exponent > 0:
        reluish = _saturating_left_shift16(reluish, 1)
    if p.reluish_exponent < 0:
        reluish = _rounding_divide_by_pot(reluish, -p.reluish_exponent)
    reluish = (reluish + (1 << 15)) >> 1
    preshift_output = _sdhm16(reluish, preshift_output_scale)
    out = _rounding_divide_by_pot(preshift_output, -p.output_exponent) + p.output_zero_point
    return np.clip(out, -128, 127)


@register("HARD_SWISH")
def plan_hard_swish(graph: Graph, op: Operator) -> LookupTablePlan:
    check = OpChecker(graph, op)
    x, y = unary_tensors(check)
    in_scale, in_zp = check.per_tensor_quant(x)
    out_scale, out_zp = check.per_tensor_quant(y)
    params = hard_swish_params(in_scale, in_zp, out_scale, out_zp)
    if not -15 <= params.output_exponent <= 0:
        raise check.quant_error(
            f"the output multiplier {in_scale / 128 / out_scale!r} (input scale / 128 / output scale) has exponent "
            f"{params.output_exponent}; TFLite Micro's int8 HARD_SWISH needs it in [-15, 0]."
        )
    return plan_lookup_table(graph, op, "hard_swish", hard_swish_transform, params)
