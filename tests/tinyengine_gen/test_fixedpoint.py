"""Fixed-point helpers: the numpy twins of te_fixedpoint.h, against known TFLite values."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyengine_gen.fixedpoint import (
    fast_requant_applies,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    quantize_multipliers,
    round_half_away,
    requantize_rq,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
)


def test_round_half_away_from_zero():
    assert [round_half_away(v) for v in (0.5, 1.5, 2.5, -0.5, -2.5, 2.4999)] == [1, 2, 3, -1, -3, 2]


def test_quantize_multiplier_known_values():
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(1e-12) == (0, 0)  # exponent below -31 flushes to zero


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(1e-10, 100.0), min_size=1, max_size=16))
def test_vectorised_quantize_multiplier_matches_scalar(values):
    multipliers, shifts = quantize_multipliers(np.array(values))
    assert [(int(m), int(s)) for m, s in zip(multipliers, shifts)] == [quantize_multiplier(v) for v in values]


def test_saturating_high_mul_saturates_only_min_times_min():
    assert int(saturating_rounding_doubling_high_mul(-(2**31), -(2**31))) == 2**31 - 1
    assert int(saturating_rounding_doubling_high_mul(1 << 30, 1 << 30)) == 1 << 29


def test_rounding_divide_by_pot_rounds_half_away():
    assert rounding_divide_by_pot(np.array([5, -5, 6, -6, 7]), 1).tolist() == [3, -3, 3, -3, 4]


@settings(max_examples=300, deadline=None)
@given(st.integers(-(2**24), 2**24), st.floats(1e-6, 0.999))
def test_requantize_close_to_real_product(x, real):
    multiplier, shift = quantize_multiplier(real)
    got = int(multiply_by_quantized_multiplier(x, multiplier, shift))
    assert abs(got - x * real) <= 1.0 + abs(x) * 2**-30
    assert math.isfinite(got)


def _rq_cases(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Accumulators, multipliers and right shifts inside te_requantize_rq's preconditions."""
    acc = rng.integers(-(2**30) + 1, 2**30, count) >> rng.integers(0, 30, count)
    multipliers = rng.integers(2**30, 2**31, count)
    shifts = -rng.integers(1, 21, count)
    return acc, multipliers, shifts, int(rng.integers(-128, 128))


def test_requantize_rq_equals_multiply_by_quantized_multiplier_plus_offset():
    rng = np.random.default_rng(7)
    for _ in range(20):
        acc, multipliers, shifts, offset = _rq_cases(rng, 50_000)
        assert fast_requant_applies(multipliers, shifts, offset, np.abs(acc))
        expected = multiply_by_quantized_multiplier(acc, multipliers, shifts) + offset
        np.testing.assert_array_equal(requantize_rq(acc, multipliers, shifts, offset), expected)


def test_requantize_rq_ties_round_away_from_zero():
    # acc * m / 2^31 = +-2.5 exactly (m = 2^30, acc = +-5), then a right shift of 1: ties both ways
    acc = np.array([5, -5, 3, -3, 1, -1, 0])
    multipliers = np.full(acc.shape, 2**30)
    shifts = np.full(acc.shape, -1)
    expected = multiply_by_quantized_multiplier(acc, multipliers, shifts)
    np.testing.assert_array_equal(requantize_rq(acc, multipliers, shifts, 0), expected)


def test_fast_requant_applies_only_within_its_preconditions():
    m, s = np.array([2**30, 2**30]), np.array([-3, -8])
    assert fast_requant_applies(m, s, -128, np.array([1000, 10**6]))
    assert not fast_requant_applies(m, np.array([-3, 0]), 0, np.array([1, 1]))  # a shift of 0: no rounding shift
    assert not fast_requant_applies(m, np.array([-3, 2]), 0, np.array([1, 1]))  # a left shift
    assert not fast_requant_applies(m, s, 0, np.array([1, 2**30]))  # 2 acc would overflow int32
    assert not fast_requant_applies(np.array([2**30]), np.array([-25]), -128, np.array([2**29]))  # round + acc wraps
    assert not fast_requant_applies(np.array([-5]), np.array([-3]), 0, np.array([1]))  # a negative multiplier
    assert not fast_requant_applies(np.array([], dtype=np.int64), np.array([], dtype=np.int64), 0, np.array([]))
