"""gemmlowp-style fixed-point math in numpy: the Python twin of ``kernels/te_gemmlowp.h``.

TFLite Micro's int8 SOFTMAX and LOGISTIC do not use floating point at run time: they run
exp(), 1/(1+x) and the logistic function on gemmlowp ``FixedPoint<int32_t, N>`` values
(``tensorflow/lite/micro/kernels/internal/fixedpoint.h``, adapted from gemmlowp). To give
the same bytes we repeat that arithmetic step by step: the same polynomial, the same
Newton-Raphson iterations and the same rounding and saturation at every multiply.

A fixed-point value is its raw int32 ``Q(integer_bits).(31 - integer_bits)`` integer; here
such values are numpy int64 arrays holding int32 values. Additions wrap to int32 like the
C twin (which adds through uint32 to avoid undefined behaviour); the algorithms never
overflow on the inputs the kernels give them, so wrapping and TFLM's plain ``+`` agree.

Nothing here registers an operator; SOFTMAX and LOGISTIC import these functions.
"""

from __future__ import annotations

import numpy as np

from tinyengine_gen.fixedpoint import (
    INT32_MAX,
    INT32_MIN,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
)

__all__ = [
    "count_leading_zeros",
    "exp_on_interval_between_negative_one_quarter_and_0_excl",
    "exp_on_negative_values",
    "fixed_mul",
    "get_reciprocal",
    "inv_sqrt_multiplier_exp",
    "log_x_for_x_greater_than_or_equal_to_1",
    "logistic",
    "one_minus_x_over_one_plus_x_for_x_in_0_1",
    "one_over_one_plus_x_for_x_in_0_1",
    "rounding_half_sum",
    "saturating_shift_left",
    "tanh",
    "wrap32",
]

# Raw Q0.31 constants of gemmlowp's exp (Taylor expansion around -1/8) and its barrel shifter.
_EXP_MINUS_ONE_EIGHTH = 1895147668  # exp(-1/8)
_ONE_THIRD = 715827883  # 1/3
_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308), (2, 39332535), (3, 720401), (4, 242))
# Raw Q2.29 constants of the Newton-Raphson division in one_over_one_plus_x_for_x_in_0_1.
_48_OVER_17 = 1515870810
_MINUS_32_OVER_17 = -1010580540
_ONE_Q2 = 1 << 29


def wrap32(x: np.ndarray | int) -> np.ndarray:
    """Two's complement int32 wrap-around of int64 values (what the C twin's uint32 adds give)."""
    return ((np.asarray(x, dtype=np.int64) + 2**31) % 2**32) - 2**31


def fixed_mul(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    """FixedPoint multiply: SaturatingRoundingDoublingHighMul of the raw values (integer bits add up)."""
    return saturating_rounding_doubling_high_mul(a, b)


def saturating_shift_left(x: np.ndarray | int, exponent: int) -> np.ndarray:
    """gemmlowp SaturatingRoundingMultiplyByPOT for exponent >= 0: shift left, saturating to int32."""
    x64 = np.asarray(x, dtype=np.int64)
    if exponent == 0:
        return x64
    threshold = (1 << (31 - exponent)) - 1
    return np.where(x64 > threshold, INT32_MAX, np.where(x64 < -threshold, INT32_MIN, x64 << exponent))


def rounding_half_sum(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    """gemmlowp RoundingHalfSum: (a + b) / 2 rounded half away from zero (C division truncates)."""
    total = np.asarray(a, dtype=np.int64) + np.asarray(b, dtype=np.int64)
    return np.where(total >= 0, (total + 1) // 2, -((1 - total) // 2))


def count_leading_zeros(x: np.ndarray) -> np.ndarray:
    """Leading zero bits of non-negative int32 values seen as uint32 (32 for zero)."""
    x64 = np.asarray(x, dtype=np.int64)
    bit_length = np.zeros(x64.shape, dtype=np.int64)
    for bit in range(32):
        bit_length = np.where((x64 >> bit) > 0, bit + 1, bit_length)
    return 32 - bit_length


def exp_on_interval_between_negative_one_quarter_and_0_excl(a: np.ndarray) -> np.ndarray:
    """exp(a) for Q0.31 ``a`` in [-1/4, 0): a 4th-order Taylor expansion around -1/8."""
    x = wrap32(np.asarray(a, dtype=np.int64) + (1 << 28))
    x2 = fixed_mul(x, x)
    x3 = fixed_mul(x2, x)
    x4 = fixed_mul(x2, x2)
    x4_over_4 = rounding_divide_by_pot(x4, 2)
    inner = wrap32(fixed_mul(wrap32(x4_over_4 + x3), _ONE_THIRD) + x2)
    x4_over_24_plus_x3_over_6_plus_x2_over_2 = rounding_divide_by_pot(inner, 1)
    tail = fixed_mul(_EXP_MINUS_ONE_EIGHTH, wrap32(x + x4_over_24_plus_x3_over_6_plus_x2_over_2))
    return wrap32(_EXP_MINUS_ONE_EIGHTH + tail)


def exp_on_negative_values(a: np.ndarray, integer_bits: int) -> np.ndarray:
    """exp(a) as Q0.31 for ``a`` <= 0 in Q(integer_bits): exact 1/4 steps times the interval polynomial."""
    a64 = np.asarray(a, dtype=np.int64)
    fractional_bits = 31 - integer_bits
    one_quarter = 1 << (fractional_bits - 2)
    a_mod_quarter_minus_one_quarter = (a64 & (one_quarter - 1)) - one_quarter
    result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        saturating_shift_left(a_mod_quarter_minus_one_quarter, integer_bits)
    )
    remainder = wrap32(a_mod_quarter_minus_one_quarter - a64)
    for exponent, multiplier in _EXP_BARREL:
        if integer_bits > exponent:
            bit = 1 << (fractional_bits + exponent)
            result = np.where((remainder & bit) != 0, fixed_mul(result, multiplier), result)
    if integer_bits > 5:
        result = np.where(a64 < -(1 << (36 - integer_bits)), 0, result)
    return np.where(a64 == 0, INT32_MAX, result)


def _newton_reciprocal_of_half_denominator(a: np.ndarray) -> np.ndarray:
    """Q2.29 approximation of 1 / ((1 + a) / 2) for Q0.31 ``a`` in [0, 1): three Newton-Raphson steps."""
    half_denominator = rounding_half_sum(a, INT32_MAX)
    x = wrap32(_48_OVER_17 + fixed_mul(half_denominator, _MINUS_32_OVER_17))
    for _ in range(3):
        half_denominator_times_x = fixed_mul(half_denominator, x)
        one_minus_half_denominator_times_x = wrap32(_ONE_Q2 - half_denominator_times_x)
        x = wrap32(x + saturating_shift_left(fixed_mul(x, one_minus_half_denominator_times_x), 2))
    return x


def one_over_one_plus_x_for_x_in_0_1(a: np.ndarray) -> np.ndarray:
    """1 / (1 + a) as Q0.31 for Q0.31 ``a`` in [0, 1)."""
    return saturating_shift_left(_newton_reciprocal_of_half_denominator(a), 1)


def one_minus_x_over_one_plus_x_for_x_in_0_1(a: np.ndarray) -> np.ndarray:
    """(1 - a) / (1 + a) as Q0.31 for Q0.31 ``a`` in [0, 1): 2 / (1 + a) - 1, rescaled from Q2.29."""
    return saturating_shift_left(wrap32(_newton_reciprocal_of_half_denominator(a) - _ONE_Q2), 2)


def logistic(a: np.ndarray, integer_bits: int) -> np.ndarray:
    """1 / (1 + exp(-a)) as Q0.31 for ``a`` in Q(integer_bits), by symmetry from exp(-|a|)."""
    a64 = np.asarray(a, dtype=np.int64)
    positive = a64 > 0
    minus_abs = np.where(positive, wrap32(-a64), a64)
    result_if_positive = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(minus_abs, integer_bits))
    result = np.where(positive, result_if_positive, INT32_MAX - result_if_positive)
    return np.where(a64 == 0, 1 << 30, result)


def tanh(a: np.ndarray, integer_bits: int) -> np.ndarray:
    """tanh(a) as Q0.31 for ``a`` in Q(integer_bits): -tanh(-|a|) from exp(2 * -|a|), by symmetry."""
    a64 = np.asarray(a, dtype=np.int64)
    negative = a64 < 0
    minus_abs = np.where(negative, a64, wrap32(-a64))
    # neg_tanh_on_negative_values: ExactMulByPot<1> keeps the raw value, one more integer bit.
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(minus_abs, integer_bits + 1))
    return np.where(a64 == 0, 0, np.where(negative, wrap32(-t), t))


def get_reciprocal(x: np.ndarray, x_integer_digits: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLite GetReciprocal for positive Q(x_integer_digits) ``x``: (Q0.31 scale, bits over unit).

    1/x = scale * 2^-num_bits_over_unit, with scale = 1 / (1 + f) where x normalised is 1 + f.
    """
    x64 = np.asarray(x, dtype=np.int64)
    headroom_plus_one = count_leading_zeros(x64)
    num_bits_over_unit = x_integer_digits - headroom_plus_one
    shifted_sum_minus_one = wrap32(((x64 << headroom_plus_one) & 0xFFFFFFFF) - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), num_bits_over_unit


# Raw Q0.31 constants of TFLite's log_x_for_x_greater_than_or_equal_to_1_impl (common.h).
_LOG_2 = 1488522236
_SQRT_SQRT_HALF = 1805811301
_SQRT_HALF = 1518500250
_ONE_QUARTER = 536870912
_ALPHA_N = 117049297
_ALPHA_D = 127690142
_ALPHA_I = 1057819769
_ALPHA_F = 638450708


def _saturating_add(a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    return np.clip(np.asarray(a, dtype=np.int64) + b, INT32_MIN, INT32_MAX)


def log_x_for_x_greater_than_or_equal_to_1(
    x: np.ndarray, input_integer_bits: int, output_integer_bits: int
) -> np.ndarray:
    """log(x) in Q(output_integer_bits) for x >= 1 in Q(input_integer_bits): TFLite's
    log_x_for_x_greater_than_or_equal_to_1_impl (a rational approximation of log on a
    normalised mantissa, plus the exponent times log 2), step by step."""
    accum_bits = output_integer_bits + 1
    z_a = np.asarray(x, dtype=np.int64)
    shifted_quarter = rounding_divide_by_pot(_ONE_QUARTER, accum_bits)
    z_a_headroom_plus_1 = count_leading_zeros(z_a)
    r_a_raw = [
        saturating_shift_left(fixed_mul(saturating_shift_left(z, int(h) - 1), _SQRT_HALF), 1)
        for z, h in zip(z_a.ravel().tolist(), z_a_headroom_plus_1.ravel().tolist())
    ]
    z_a_pow_2_adj = [
        _saturating_add(saturating_shift_left(input_integer_bits - int(h), 31 - accum_bits), shifted_quarter)
        for h in z_a_headroom_plus_1.ravel().tolist()
    ]
    z_b = fixed_mul(z_a, _SQRT_HALF)
    z_b_headroom = count_leading_zeros(z_b) - 1
    r_b_raw = [saturating_shift_left(z, int(h)) for z, h in zip(z_a.ravel().tolist(), z_b_headroom.ravel().tolist())]
    z_b_pow_2_adj = [
        _saturating_add(saturating_shift_left(input_integer_bits - int(h), 31 - accum_bits), -shifted_quarter)
        for h in z_b_headroom.ravel().tolist()
    ]
    shape = z_a.shape
    r = np.minimum(np.reshape(r_a_raw, shape), np.reshape(r_b_raw, shape))
    z_pow_2_adj = np.maximum(np.reshape(z_a_pow_2_adj, shape), np.reshape(z_b_pow_2_adj, shape))
    p = rounding_half_sum(r, _SQRT_SQRT_HALF)
    q = wrap32(r - _SQRT_SQRT_HALF)
    q = wrap32(q + q)
    common_sq = fixed_mul(q, q)
    num = wrap32(fixed_mul(q, r) + fixed_mul(fixed_mul(q, common_sq), _ALPHA_N))
    denom_minus_one = wrap32(
        fixed_mul(p, wrap32(wrap32(_ALPHA_I + q) + fixed_mul(_ALPHA_D, common_sq))) + fixed_mul(_ALPHA_F, q)
    )
    recip_denom = one_over_one_plus_x_for_x_in_0_1(denom_minus_one)
    num_scaled = rounding_divide_by_pot(num, accum_bits)
    total = wrap32(fixed_mul(z_pow_2_adj, _LOG_2) + fixed_mul(num_scaled, recip_denom))
    return saturating_shift_left(total, accum_bits - output_integer_bits)


# Raw constants of TFLite's GetInvSqrtQuantizedMultiplierExp: 1.5 in Q3.28, sqrt(2)/2 in Q0.31.
_HALF_THREE_Q3 = (1 << 28) + (1 << 27)
_HALF_SQRT_2_Q0 = 1518500250


def inv_sqrt_multiplier_exp(value: int) -> tuple[int, int]:
    """TFLite's GetInvSqrtQuantizedMultiplierExp(value, kReverseShift = -1) for one value >= 0."""
    if value <= 1:
        return INT32_MAX, 0
    shift = 11
    while value >= 1 << 29:
        value //= 4
        shift += 1
    left_shift_bit_pairs = (int(count_leading_zeros(np.asarray(value, dtype=np.int64))) - 1) // 2 - 1
    shift -= left_shift_bit_pairs
    value <<= 2 * left_shift_bit_pairs
    fixed_input = value >> 1
    half_input = int(rounding_divide_by_pot(fixed_input, 1))
    x = 1 << 28  # F3::One()
    for _ in range(5):
        x3 = saturating_shift_left(fixed_mul(fixed_mul(x, x), x), 6)
        difference = wrap32(fixed_mul(_HALF_THREE_Q3, x) - fixed_mul(half_input, x3))
        x = int(saturating_shift_left(difference, 3))
    inv_sqrt = int(fixed_mul(x, _HALF_SQRT_2_Q0))
    if shift < 0:
        inv_sqrt = int(wrap32(inv_sqrt << -shift))
        shift = 0
    return inv_sqrt, -shift
