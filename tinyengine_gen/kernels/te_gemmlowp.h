/* gemmlowp-style fixed-point math: exp, 1/(1+x), logistic, a reciprocal, log and 1/sqrt on int32 values.
 *
 * The C twin of tinyengine_gen/ops/gemmlowp.py. TFLite Micro's int8 SOFTMAX and LOGISTIC
 * evaluate these functions on gemmlowp FixedPoint<int32_t, N> numbers; every multiply is a
 * saturating rounding doubling high multiply, so we repeat the same steps in the same order
 * to give the same bits. A value is its raw int32: Q(integer_bits).(31 - integer_bits).
 *
 * Additions go through uint32 so that no input can cause signed-overflow undefined
 * behaviour; on the ranges the kernels use they never wrap, and then equal plain adds.
 */
#ifndef TE_GEMMLOWP_H
#define TE_GEMMLOWP_H

#include <stdint.h>

#include "te_fixedpoint.h"

TE_INLINE int32_t te_gl_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

TE_INLINE int32_t te_gl_sub(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }

/* FixedPoint multiply: the integer bits of the operands add up. */
TE_INLINE int32_t te_gl_mul(int32_t a, int32_t b) { return te_sat_rounding_doubling_high_mul(a, b); }

/* SaturatingRoundingMultiplyByPOT with exponent >= 0 (Rescale to fewer integer bits). */
TE_INLINE int32_t te_gl_shift_left_sat(int32_t x, int exponent) {
  if (exponent == 0) return x;
  const int32_t threshold = ((int32_t)1 << (31 - exponent)) - 1;
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return (int32_t)((uint32_t)x << exponent);
}

/* (a + b) / 2, rounded half away from zero. */
TE_INLINE int32_t te_gl_rounding_half_sum(int32_t a, int32_t b) {
  const int64_t sum = (int64_t)a + (int64_t)b;
  return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

TE_INLINE int te_gl_count_leading_zeros(uint32_t x) {
  if (x == 0) return 32;
#if defined(__GNUC__)
  return __builtin_clz(x);
#else
  int n = 0;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    ++n;
  }
  return n;
#endif
}

/* exp(a) for Q0.31 a in [-1/4, 0): Taylor expansion to x^4 around -1/8. */
TE_INLINE int32_t te_gl_exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a) {
  const int32_t exp_minus_one_eighth = 1895147668;
  const int32_t one_third = 715827883;
  const int32_t x = te_gl_add(a, (int32_t)1 << 28);
  const int32_t x2 = te_gl_mul(x, x);
  const int32_t x3 = te_gl_mul(x2, x);
  const int32_t x4 = te_gl_mul(x2, x2);
  const int32_t x4_over_4 = te_rounding_divide_by_pot(x4, 2);
  const int32_t inner = te_gl_add(te_gl_mul(te_gl_add(x4_over_4, x3), one_third), x2);
  const int32_t x4_over_24_plus_x3_over_6_plus_x2_over_2 = te_rounding_divide_by_pot(inner, 1);
  return te_gl_add(exp_minus_one_eighth,
                   te_gl_mul(exp_minus_one_eighth, te_gl_add(x, x4_over_24_plus_x3_over_6_plus_x2_over_2)));
}

/* exp(a) as Q0.31 for a <= 0 in Q(integer_bits): the interval polynomial on a mod 1/4, times
 * exp(-2^k) for every bit k of the remaining multiple of 1/4 (a barrel shifter). */
TE_INLINE int32_t te_gl_exp_on_negative_values(int32_t a, int integer_bits) {
  static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
  const int fractional_bits = 31 - integer_bits;
  const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
  const int32_t a_mod_quarter_minus_one_quarter = te_gl_sub(a & (one_quarter - 1), one_quarter);
  int32_t result = te_gl_exp_on_interval_between_negative_one_quarter_and_0_excl(
      te_gl_shift_left_sat(a_mod_quarter_minus_one_quarter, integer_bits));
  const int32_t remainder = te_gl_sub(a_mod_quarter_minus_one_quarter, a);
  for (int k = 0; k < 7; ++k) {
    const int exponent = k - 2; /* this step multiplies by exp(-2^exponent) */
    if (integer_bits > exponent && (remainder & ((int32_t)1 << (fractional_bits + exponent)))) {
      result = te_gl_mul(result, barrel[k]);
    }
  }
  if (integer_bits > 5 && a < -((int32_t)1 << (36 - integer_bits))) result = 0; /* exp(< -32) is 0 */
  return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + a) as Q0.31 for Q0.31 a in [0, 1): Newton-Raphson division, three steps in Q2.29. */
TE_INLINE int32_t te_gl_one_over_one_plus_x_for_x_in_0_1(int32_t a) {
  const int32_t half_denominator = te_gl_rounding_half_sum(a, INT32_MAX);
  int32_t x = te_gl_add(1515870810, te_gl_mul(half_denominator, -1010580540)); /* 48/17 - 32/17 d */
  for (int i = 0; i < 3; ++i) {
    const int32_t half_denominator_times_x = te_gl_mul(half_denominator, x);
    const int32_t one_minus_half_denominator_times_x = te_gl_sub((int32_t)1 << 29, half_denominator_times_x);
    x = te_gl_add(x, te_gl_shift_left_sat(te_gl_mul(x, one_minus_half_denominator_times_x), 2));
  }
  return te_gl_shift_left_sat(x, 1);
}

/* 1 / (1 + exp(-a)) as Q0.31 for a in Q(integer_bits), from exp(-|a|) and symmetry. */
TE_INLINE int32_t te_gl_logistic(int32_t a, int integer_bits) {
  if (a == 0) return (int32_t)1 << 30;
  const int32_t minus_abs = a > 0 ? te_gl_sub(0, a) : a;
  const int32_t result_if_positive =
      te_gl_one_over_one_plus_x_for_x_in_0_1(te_gl_exp_on_negative_values(minus_abs, integer_bits));
  return a > 0 ? result_if_positive : te_gl_sub(INT32_MAX, result_if_positive);
}

/* TFLite GetReciprocal: for positive x in Q(x_integer_digits), 1/x = result * 2^-(*num_bits_over_unit). */
TE_INLINE int32_t te_gl_get_reciprocal(int32_t x, int x_integer_digits, int* num_bits_over_unit) {
  const int headroom_plus_one = te_gl_count_leading_zeros((uint32_t)x);
  *num_bits_over_unit = x_integer_digits - headroom_plus_one;
  const int32_t shifted_sum_minus_one =
      (int32_t)(((uint32_t)x << (headroom_plus_one & 31)) - ((uint32_t)1 << 31));
  return te_gl_one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one);
}

/* int32 addition clamped to the int32 range (SaturatingAddNonGemmlowp). */
TE_INLINE int32_t te_gl_add_sat(int32_t a, int32_t b) {
  const int64_t sum = (int64_t)a + (int64_t)b;
  return sum > INT32_MAX ? INT32_MAX : sum < INT32_MIN ? INT32_MIN : (int32_t)sum;
}

/* log(x) in Q(output_bits) for x >= 1 in Q(input_bits): TFLite's
 * log_x_for_x_greater_than_or_equal_to_1_impl. The mantissa is normalised twice (as is and
 * times sqrt(1/2)) and the one nearer 1 kept, a rational approximation gives the log of
 * the mantissa, and the exponent times log 2 is added, with one bit of headroom. */
TE_INLINE int32_t te_gl_log_x_ge_1(int32_t x, int input_bits, int output_bits) {
  const int accum_bits = output_bits + 1;
  const int32_t log_2 = 1488522236, sqrt_sqrt_half = 1805811301, sqrt_half = 1518500250;
  const int32_t alpha_n = 117049297, alpha_d = 127690142, alpha_i = 1057819769, alpha_f = 638450708;
  const int32_t shifted_quarter = te_rounding_divide_by_pot(536870912, accum_bits);
  const int z_a_headroom_plus_1 = te_gl_count_leading_zeros((uint32_t)x);
  const int32_t r_a_tmp = te_gl_shift_left_sat(x, z_a_headroom_plus_1 - 1);
  const int32_t r_a = te_gl_shift_left_sat(te_gl_mul(r_a_tmp, sqrt_half), 1);
  const int32_t z_a_pow_2_adj =
      te_gl_add_sat(te_gl_shift_left_sat(input_bits - z_a_headroom_plus_1, 31 - accum_bits), shifted_quarter);
  const int32_t z_b = te_gl_mul(x, sqrt_half);
  const int z_b_headroom = te_gl_count_leading_zeros((uint32_t)z_b) - 1;
  const int32_t r_b = te_gl_shift_left_sat(x, z_b_headroom);
  const int32_t z_b_pow_2_adj =
      te_gl_add_sat(te_gl_shift_left_sat(input_bits - z_b_headroom, 31 - accum_bits), -shifted_quarter);
  const int32_t r = r_a < r_b ? r_a : r_b;
  const int32_t z_pow_2_adj = z_a_pow_2_adj > z_b_pow_2_adj ? z_a_pow_2_adj : z_b_pow_2_adj;
  const int32_t p = te_gl_rounding_half_sum(r, sqrt_sqrt_half);
  int32_t q = te_gl_sub(r, sqrt_sqrt_half);
  q = te_gl_add(q, q);
  const int32_t common_sq = te_gl_mul(q, q);
  const int32_t num = te_gl_add(te_gl_mul(q, r), te_gl_mul(te_gl_mul(q, common_sq), alpha_n));
  const int32_t denom_minus_one = te_gl_add(
      te_gl_mul(p, te_gl_add(te_gl_add(alpha_i, q), te_gl_mul(alpha_d, common_sq))), te_gl_mul(alpha_f, q));
  const int32_t recip_denom = te_gl_one_over_one_plus_x_for_x_in_0_1(denom_minus_one);
  const int32_t num_scaled = te_rounding_divide_by_pot(num, accum_bits);
  const int32_t total = te_gl_add(te_gl_mul(z_pow_2_adj, log_2), te_gl_mul(num_scaled, recip_denom));
  return te_gl_shift_left_sat(total, accum_bits - output_bits);
}

/* TFLite's GetInvSqrtQuantizedMultiplierExp(x, kReverseShift = -1): 1/sqrt(x) for x >= 0 as
 * a Q0.31 multiplier and a shift for te_requantize. x is normalised by pairs of bits, then
 * five Newton-Raphson steps in Q3.28 from 1, times sqrt(2)/2. */
TE_INLINE void te_gl_inv_sqrt(int32_t x, int32_t* multiplier, int32_t* shift) {
  if (x <= 1) {
    *multiplier = INT32_MAX;
    *shift = 0;
    return;
  }
  int32_t s = 11;
  while (x >= ((int32_t)1 << 29)) {
    x /= 4;
    ++s;
  }
  const int left_shift_bit_pairs = (te_gl_count_leading_zeros((uint32_t)x) - 1) / 2 - 1;
  s -= left_shift_bit_pairs;
  x <<= 2 * left_shift_bit_pairs;
  const int32_t half_input = te_rounding_divide_by_pot(x >> 1, 1);
  const int32_t half_three = ((int32_t)1 << 28) + ((int32_t)1 << 27);
  int32_t r = (int32_t)1 << 28;
  for (int i = 0; i < 5; ++i) {
    const int32_t r3 = te_gl_shift_left_sat(te_gl_mul(te_gl_mul(r, r), r), 6);
    r = te_gl_shift_left_sat(te_gl_sub(te_gl_mul(half_three, r), te_gl_mul(half_input, r3)), 3);
  }
  r = te_gl_mul(r, 1518500250);
  if (s < 0) {
    r = (int32_t)((uint32_t)r << -s);
    s = 0;
  }
  *multiplier = r;
  *shift = -s;
}

#endif /* TE_GEMMLOWP_H */
