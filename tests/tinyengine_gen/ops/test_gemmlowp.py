"""te_gemmlowp.h against its numpy twin, on raw int32 values (far finer than int8 outputs).

The int8 SOFTMAX and LOGISTIC tests compare with TFLite Micro, but an int8 output hides most
errors in the 32-bit intermediate values. Here every function of the header must equal the
numpy twin bit for bit on random raw values over its whole domain.
"""

import ctypes
import subprocess
from importlib import resources

import numpy as np
import pytest

from tinyengine_gen.ops import gemmlowp

_WRAPPER = r"""
#include "te_gemmlowp.h"
void exp_neg(const int32_t* a, int32_t* out, int n, int bits) {
  for (int i = 0; i < n; ++i) out[i] = te_gl_exp_on_negative_values(a[i], bits);
}
void one_over(const int32_t* a, int32_t* out, int n) {
  for (int i = 0; i < n; ++i) out[i] = te_gl_one_over_one_plus_x_for_x_in_0_1(a[i]);
}
void logistic(const int32_t* a, int32_t* out, int n, int bits) {
  for (int i = 0; i < n; ++i) out[i] = te_gl_logistic(a[i], bits);
}
void reciprocal(const int32_t* a, int32_t* out, int32_t* bits_over_unit, int n, int digits) {
  for (int i = 0; i < n; ++i) {
    int b;
    out[i] = te_gl_get_reciprocal(a[i], digits, &b);
    bits_over_unit[i] = b;
  }
}
void log_ge_1(const int32_t* a, int32_t* out, int n, int input_bits) {
  for (int i = 0; i < n; ++i) out[i] = te_gl_log_x_ge_1(a[i], input_bits, 5);
}
void inv_sqrt(const int32_t* a, int32_t* out, int32_t* shift, int n) {
  for (int i = 0; i < n; ++i) te_gl_inv_sqrt(a[i], &out[i], &shift[i]);
}
"""

_N = 20000


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gemmlowp")
    kernels = resources.files("tinyengine_gen").joinpath("kernels")
    for name in ("te_gemmlowp.h", "te_fixedpoint.h"):
        (folder / name).write_text(kernels.joinpath(name).read_text())
    (folder / "wrapper.c").write_text(_WRAPPER)
    flags = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared"]
    subprocess.run(["gcc", *flags, "-I.", "-o", "libgl.so", "wrapper.c"], cwd=folder, check=True)
    return ctypes.CDLL(str(folder / "libgl.so"))


def _pointer(array: np.ndarray) -> ctypes.c_void_p:
    return ctypes.c_void_p(array.ctypes.data)


def _call(function, values: np.ndarray, *extra: int) -> np.ndarray:
    a = np.ascontiguousarray(values, dtype=np.int32)
    out = np.zeros_like(a)
    function(_pointer(a), _pointer(out), ctypes.c_int(a.size), *(ctypes.c_int(e) for e in extra))
    return out.astype(np.int64)


def _random(rng: np.random.Generator, low: int, high: int) -> np.ndarray:
    """Uniform values plus log-uniform magnitudes (small values matter most) and the ends."""
    uniform = rng.integers(low, high, _N, endpoint=True)
    sign = -1 if high <= 0 else 1
    magnitudes = np.exp(rng.uniform(0, np.log(max(abs(low), abs(high))), _N)).astype(np.int64) * sign
    return np.concatenate([uniform, np.clip(magnitudes, low, high), [low, high, (low + high) // 2]])


@pytest.mark.parametrize("integer_bits", [0, 4, 5, 6])
def test_exp_on_negative_values(lib, integer_bits):
    a = _random(np.random.default_rng(integer_bits), -(2**31), 0)
    np.testing.assert_array_equal(_call(lib.exp_neg, a, integer_bits), gemmlowp.exp_on_negative_values(a, integer_bits))


def test_one_over_one_plus_x(lib):
    a = _random(np.random.default_rng(1), 0, 2**31 - 1)
    np.testing.assert_array_equal(_call(lib.one_over, a), gemmlowp.one_over_one_plus_x_for_x_in_0_1(a))


@pytest.mark.parametrize("integer_bits", [4, 5])
def test_logistic(lib, integer_bits):
    rng = np.random.default_rng(2)
    a = np.concatenate([_random(rng, -(2**31) + 1, 0), _random(rng, 0, 2**31 - 1)])
    np.testing.assert_array_equal(_call(lib.logistic, a, integer_bits), gemmlowp.logistic(a, integer_bits))


def test_get_reciprocal(lib):
    x = _random(np.random.default_rng(3), 1, 2**31 - 1)
    a = np.ascontiguousarray(x, dtype=np.int32)
    out = np.zeros_like(a)
    bits = np.zeros_like(a)
    lib.reciprocal(_pointer(a), _pointer(out), _pointer(bits), ctypes.c_int(a.size), ctypes.c_int(12))
    expected, expected_bits = gemmlowp.get_reciprocal(x, 12)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(bits, expected_bits)


def test_log_x_for_x_greater_than_or_equal_to_1(lib):
    """LOG_SOFTMAX's log of a Q12.19 sum >= 1 (the twin loops in Python: fewer values)."""
    x = _random(np.random.default_rng(4), 1 << 19, 2**31 - 1)[::16]
    np.testing.assert_array_equal(_call(lib.log_ge_1, x, 12), gemmlowp.log_x_for_x_greater_than_or_equal_to_1(x, 12, 5))


def test_inv_sqrt_multiplier_exp(lib):
    """RSQRT's and L2_NORMALIZATION's GetInvSqrtQuantizedMultiplierExp on every kind of int32 >= 0."""
    x = _random(np.random.default_rng(5), 0, 2**31 - 1)[::32]
    a = np.ascontiguousarray(x, dtype=np.int32)
    out, shift = np.zeros_like(a), np.zeros_like(a)
    lib.inv_sqrt(_pointer(a), _pointer(out), _pointer(shift), ctypes.c_int(a.size))
    expected = [gemmlowp.inv_sqrt_multiplier_exp(int(v)) for v in x]
    np.testing.assert_array_equal(out, [m for m, _ in expected])
    np.testing.assert_array_equal(shift, [e for _, e in expected])


def test_known_values():
    """A few values against the real functions, so that twin and header cannot share a typo."""
    q5 = np.round(np.array([-0.5, -1.0, -4.0, -16.0]) * 2**26).astype(np.int64)
    np.testing.assert_allclose(
        gemmlowp.exp_on_negative_values(q5, 5) / 2**31, np.exp([-0.5, -1.0, -4.0, -16.0]), atol=1e-6
    )
    x = np.array([0, 2**29, 2**30, 3 * 2**29], dtype=np.int64)
    np.testing.assert_allclose(gemmlowp.one_over_one_plus_x_for_x_in_0_1(x) / 2**31, 1 / (1 + x / 2**31), atol=2e-9)
    q4 = np.round(np.array([-6.0, -1.0, 0.0, 0.5, 3.0]) * 2**27).astype(np.int64)
    np.testing.assert_allclose(gemmlowp.logistic(q4, 4) / 2**31, 1 / (1 + np.exp(-q4 / 2**27)), atol=1e-6)
