"""Integer requantisation exactly as TFLite / TFLite Micro's reference kernels do it.

These numpy functions are the Python twins of ``kernels/te_fixedpoint.h``; every
operator's numpy reference uses them, and the C kernels use the header. Both follow the
gemmlowp-style "double rounding" of tensorflow/lite/kernels/internal/common.h (the
default build, without TFLITE_SINGLE_ROUNDING), which is what TFLite Micro runs.
"""

from __future__ import annotations

import math

import numpy as np

from tinyengine_gen.errors import QuantizationError

__all__ = [
    "INT32_MIN",
    "INT32_MAX",
    "quantize_multiplier",
    "quantize_multipliers",
    "quantize_multiplier_smaller_than_one",
    "MAX_LEFT_SHIFT",
    "ScaleRangeError",
    "requant_multiplier",
    "requant_multipliers",
    "shift_table",
    "round_half_away",
    "saturating_rounding_doubling_high_mul",
    "rounding_divide_by_pot",
    "multiply_by_quantized_multiplier",
    "fast_requant_applies",
    "requantize_rq",
    "activation_range",
]

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def round_half_away(value: float) -> int:
    """std::round: halves go away from zero (Python's round() goes to even)."""
    magnitude = math.floor(abs(value))
    if abs(value) - magnitude >= 0.5:
        magnitude += 1
    return int(magnitude if value >= 0 else -magnitude)


def quantize_multiplier(real_multiplier: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplier: a double -> (Q31 significand, power-of-two exponent)."""
    if real_multiplier == 0.0:
        return 0, 0
    significand, shift = math.frexp(real_multiplier)
    q_fixed = round_half_away(significand * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift = 0
        q_fixed = 0
    return int(q_fixed), int(shift)


def quantize_multipliers(real_multipliers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`quantize_multiplier` over an array of doubles (same results, element-wise)."""
    values = np.asarray(real_multipliers, dtype=np.float64)
    significands, shifts = np.frexp(values)
    scaled = significands * float(1 << 31)
    magnitude = np.floor(np.abs(scaled))
    magnitude += (np.abs(scaled) - magnitude) >= 0.5
    q_fixed = np.where(scaled >= 0, magnitude, -magnitude).astype(np.int64)
    overflow = q_fixed == (1 << 31)
    q_fixed = np.where(overflow, q_fixed // 2, q_fixed)
    shifts = np.where(overflow, shifts + 1, shifts).astype(np.int64)
    tiny = shifts < -31
    q_fixed = np.where(tiny | (values == 0.0), 0, q_fixed)
    shifts = np.where(tiny | (values == 0.0), 0, shifts)
    return q_fixed.astype(np.int32), shifts.astype(np.int32)


def quantize_multiplier_smaller_than_one(real_multiplier: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplierSmallerThanOneExp: same rounding, exponent <= 0 checked."""
    if not 0.0 <= real_multiplier < 1.0:
        raise ValueError(f"multiplier {real_multiplier} is not in [0, 1)")
    return quantize_multiplier(real_multiplier)


#: The largest left shift a requantisation may apply: TFLite's MultiplyByQuantizedMultiplier
#: computes ``x * (1 << left_shift)`` in int32, undefined from 31 on (single-rounding
#: TFLite clamps the shift at 30 for the same reason); our kernels shift a uint32 by it.
MAX_LEFT_SHIFT = 30


class ScaleRangeError(QuantizationError):
    """Scales no int32 kernel can apply: a requantisation multiplier or an activation bound
    out of range (degenerate scales, e.g. 1e-30 or 3e38).

    Raised without the operator's name; :func:`tinyengine_gen.ops.base.plan_operator`
    re-raises it naming the file, the operator and its tensors.
    """


def _range_problem(real: float, shift: int) -> str | None:
    if not math.isfinite(real):
        return f"the requantisation multiplier {real!r} is not finite"
    if shift > MAX_LEFT_SHIFT:
        return (
            f"the requantisation multiplier {real:.4g} needs a left shift of {shift} bits (at most {MAX_LEFT_SHIFT}); "
            "the scales are out of range"
        )
    return None


def requant_multiplier(real_multiplier: float) -> tuple[int, int]:
    """:func:`quantize_multiplier` for a multiplier the generated C applies: proven in range
    (finite, left shift at most :data:`MAX_LEFT_SHIFT`) or ScaleRangeError."""
    real = float(real_multiplier)
    if not math.isfinite(real):
        raise ScaleRangeError(_range_problem(real, 0))
    multiplier, shift = quantize_multiplier(real)
    problem = _range_problem(real, shift)
    if problem:
        raise ScaleRangeError(problem)
    return multiplier, shift


def requant_multipliers(real_multipliers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`requant_multiplier` (per-channel requantisation)."""
    values = np.asarray(real_multipliers, dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        raise ScaleRangeError(_range_problem(float(values[bad][0]), 0))
    multipliers, shifts = quantize_multipliers(values)
    if shifts.size and int(shifts.max()) > MAX_LEFT_SHIFT:
        worst = int(np.argmax(shifts))
        raise ScaleRangeError(f"channel {worst}: {_range_problem(float(values[worst]), int(shifts[worst]))}")
    return multipliers, shifts


def shift_table(shifts: np.ndarray) -> np.ndarray:
    """A per-channel shift table as the kernels read it: int8 (one Flash byte a channel, not
    four). :func:`requant_multipliers` proves every shift in [-31, MAX_LEFT_SHIFT]."""
    values = np.asarray(shifts)
    if values.size and (int(values.min()) < -128 or int(values.max()) > 127):
        raise ValueError("a requantisation shift outside int8")
    return values.astype(np.int8)


def saturating_rounding_doubling_high_mul(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    """gemmlowp SaturatingRoundingDoublingHighMul on int32 values (vectorised)."""
    a64 = np.asarray(a, dtype=np.int64)
    b64 = np.asarray(b, dtype=np.int64)
    overflow = (a64 == b64) & (a64 == INT32_MIN)
    ab = a64 * b64
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    total = ab + nudge
    # C integer division truncates towards zero.
    high = np.where(total >= 0, total // (1 << 31), -((-total) // (1 << 31)))
    return np.where(overflow, INT32_MAX, high).astype(np.int64)


def rounding_divide_by_pot(x: np.ndarray | int, exponent: np.ndarray | int) -> np.ndarray:
    """gemmlowp RoundingDivideByPOT: arithmetic shift right, rounding half away from zero."""
    x64 = np.asarray(x, dtype=np.int64)
    exp64 = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << exp64) - 1
    remainder = x64 & mask
    threshold = (mask >> 1) + np.where(x64 < 0, 1, 0)
    return (x64 >> exp64) + np.where(remainder > threshold, 1, 0)


def multiply_by_quantized_multiplier(x: np.ndarray | int, multiplier: np.ndarray | int, shift: np.ndarray | int) -> np.ndarray:
    """TFLite MultiplyByQuantizedMultiplier (int32 accumulator, Q31 multiplier, shift)."""
    shift64 = np.asarray(shift, dtype=np.int64)
    left_shift = np.maximum(shift64, 0)
    right_shift = np.maximum(-shift64, 0)
    shifted = np.asarray(x, dtype=np.int64) * (np.int64(1) << left_shift)
    # The C code multiplies in int32; keep the same wrap-around so that any overflow matches too.
    shifted = ((shifted + 2**31) % 2**32) - 2**31
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right_shift)


def fast_requant_applies(
    multipliers: np.ndarray, shifts: np.ndarray, output_offset: int, acc_bounds: np.ndarray
) -> bool:
    """Whether te_requantize_rq (te_fixedpoint.h, used by the DSP kernels) equals
    te_requantize + output_offset on every channel, for accumulators |acc| <= acc_bounds[c].

    Its preconditions, per channel: a right shift e = -shift of at least 1, a non-negative
    multiplier, |acc| < 2^30 (it doubles acc in int32) and |round| + |acc| + 2 < 2^31 with
    round = 2^(e-1) + output_offset * 2^e (its int32 sum must not wrap). The planner checks
    them once per layer and tells the kernel with a flag; where one fails the kernel takes
    the general path.
    """
    shifts = np.asarray(shifts, dtype=np.int64)
    bounds = np.asarray(acc_bounds, dtype=np.int64)
    if shifts.size == 0 or shifts.max() > -1 or np.asarray(multipliers).min() < 0 or bounds.max() >= 2**30:
        return False
    rounds = (2 * int(output_offset) + 1) * (np.int64(1) << (-shifts - 1))
    return bool((np.abs(rounds) + bounds + 2 < 2**31).all())


def requantize_rq(acc: np.ndarray, multiplier: np.ndarray, shift: np.ndarray, output_offset: int) -> np.ndarray:
    """Numpy twin of te_requantize_rq: (SMMLAR(2 acc, m, round - [acc < 0])) >> e, e = -shift."""
    acc64 = np.asarray(acc, dtype=np.int64)
    e = -np.asarray(shift, dtype=np.int64)
    rounds = (2 * int(output_offset) + 1) * (np.int64(1) << (e - 1))
    accumulate = rounds - (acc64 < 0)
    high = accumulate + ((2 * acc64 * np.asarray(multiplier, dtype=np.int64) + 2**31) >> 32)
    return high >> e


def activation_range(activation: str, scale: float, zero_point: int, qmin: int = -128, qmax: int = 127) -> tuple[int, int]:
    """CalculateActivationRangeQuantized: the clamp a fused activation imposes on int8 outputs.

    TFLite quantises the activation bounds with float32 arithmetic and std::round, and
    casts to int32 (undefined where the bound is beyond int32): ScaleRangeError there.
    """

    def quantize(value: float) -> int:
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            steps = float(np.float32(value) / np.float32(scale))
        if not (math.isfinite(steps) and abs(steps) < INT32_MAX):
            raise ScaleRangeError(
                f"the {activation} bound {value} is {steps:.4g} steps of the output scale {scale!r}, "
                "beyond int32; the output scale is out of range"
            )
        return zero_point + round_half_away(steps)

    if activation == "NONE":
        return qmin, qmax
    if activation == "RELU":
        return max(qmin, quantize(0.0)), qmax
    if activation == "RELU6":
        return max(qmin, quantize(0.0)), min(qmax, quantize(6.0))
    if activation == "RELU_N1_TO_1":
        return max(qmin, quantize(-1.0)), min(qmax, quantize(1.0))
    raise ValueError(f"unsupported fused activation {activation}")
