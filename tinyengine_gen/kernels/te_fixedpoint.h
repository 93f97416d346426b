/* Integer requantisation exactly as TFLite / TFLite Micro's reference kernels do it.
 *
 * The C twin of tinyengine_gen/fixedpoint.py: gemmlowp-style saturating rounding
 * doubling high multiply followed by a rounding right shift ("double rounding", the
 * default TFLite build). Every kernel requantises through te_requantize() so that the
 * generated code gives the same int8 values as TFLite Micro, bit for bit.
 */
#ifndef TE_FIXEDPOINT_H
#define TE_FIXEDPOINT_H

#include <stdint.h>
#include <string.h>

/* TE_DSP: the Armv7E-M DSP instructions (SMLAD, SXTB16, ...) may be used. Set where the
 * compiler targets a core that has them (__ARM_FEATURE_DSP) unless TE_NO_DSP asks for the
 * portable C kernels; the host and every other target keep the portable C. */
#if defined(__ARM_FEATURE_DSP) && !defined(TE_NO_DSP)
#define TE_DSP 1
#endif

#if defined(__GNUC__)
#define TE_INLINE static inline __attribute__((always_inline))
#else
#define TE_INLINE static inline
#endif

TE_INLINE int32_t te_sat_rounding_doubling_high_mul(int32_t a, int32_t b) {
  if (a == b && a == INT32_MIN) return INT32_MAX;
  int64_t ab = (int64_t)a * (int64_t)b;
  int64_t nudge = ab >= 0 ? (1LL << 30) : (1 - (1LL << 30));
  return (int32_t)((ab + nudge) / (1LL << 31));
}

TE_INLINE int32_t te_rounding_divide_by_pot(int32_t x, int exponent) {
  const int32_t mask = (int32_t)((1U << exponent) - 1U); /* exponent is 0..31 */
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLite MultiplyByQuantizedMultiplier. */
TE_INLINE int32_t te_requantize(int32_t x, int32_t multiplier, int32_t shift) {
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  return te_rounding_divide_by_pot(
      te_sat_rounding_doubling_high_mul((int32_t)((uint32_t)x << left_shift), multiplier), right_shift);
}

/* The same function as te_requantize, in fewer instructions on a 32-bit core.
 *
 * The doubling high multiply with TFLite's sign-dependent nudge is, for every product
 * ab = a * b with b != INT32_MIN, floor((ab + 2^30) / 2^31): for ab >= 0 the nudge is 2^30
 * and division truncates down; for ab < 0 the numerator ab + 1 - 2^30 is negative, C's
 * division rounds it up, and ceil(n / 2^31) = floor((n + 2^31 - 1) / 2^31). That is one
 * 32x32->64 multiply-accumulate (SMLAL) and an arithmetic shift; with b <= INT32_MAX the
 * result lies in (INT32_MIN, INT32_MAX], so no saturation is needed.
 * The rounding right shift by e >= 1 (half away from zero) is floor((t + 1) / 2) with
 * t = floor((h - [h < 0]) / 2^(e-1)), i.e. (t >> 1) + (t & 1): nested floors of divisions
 * compose, and nothing overflows (h - 1 >= INT32_MIN + 0 since h > INT32_MIN).
 * Precondition: multiplier != INT32_MIN (TFLite's multipliers are in [0, 2^31); te_requantize
 * itself saturates that one case). tests/tinyengine_gen/firmware/test_dsp_kernels.py checks
 * equality with te_requantize on the host over millions of random and edge values. */
TE_INLINE int32_t te_requantize_fast(int32_t x, int32_t multiplier, int32_t shift) {
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  const int64_t product = (int64_t)(int32_t)((uint32_t)x << left_shift) * multiplier + (1LL << 30);
  const int32_t high = (int32_t)(product >> 31);
  if (right_shift == 0) return high;
  const int32_t t = (high + (high >> 31)) >> (right_shift - 1);
  return (t >> 1) + (t & 1);
}

TE_INLINE int32_t te_clamp(int32_t x, int32_t lo, int32_t hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

/* te_requantize_kernel: what the multiply-accumulate kernels requantise with.
 * te_smmlar: SMMLAR, a + ((x * y + 2^31) >> 32), the high word of a rounded 64-bit product
 * plus a (modulo 2^32).
 * te_sat8: v saturated to int8.
 * TE_DSP_FN, TE_DSP_FN_COPIES: attributes of the DSP kernels' entry points (empty here).
 * Each has an Armv7E-M version (te_requantize_fast; SMMLAR; SSAT; GCC's optimisation
 * attributes) in arm/te_fixedpoint_dsp.h, with the DSP kernels' load/store/widening
 * helpers; the portable versions here are what the host tests run. Equal results. */
#ifdef TE_DSP
#include "arm/te_fixedpoint_dsp.h"
#else
#define TE_DSP_FN
#define TE_DSP_FN_COPIES

TE_INLINE int32_t te_requantize_kernel(int32_t x, int32_t multiplier, int32_t shift) {
  return te_requantize(x, multiplier, shift);
}

TE_INLINE int8_t te_sat8(int32_t v) { return (int8_t)te_clamp(v, -128, 127); }

TE_INLINE int32_t te_smmlar(int32_t x, int32_t y, int32_t a) {
  const int64_t sum = (int64_t)a * 4294967296LL + (int64_t)x * y + 2147483648LL;
  return (int32_t)(uint32_t)((uint64_t)sum >> 32);
}
#endif

/* te_requantize(acc, multiplier, -e) + output_offset in four instructions (add, lsl,
 * SMMLAR, asr), for layers whose planner proved, for every channel, the preconditions
 *   e >= 1, 0 <= multiplier, |acc| < 2^30, and |round| + |acc| + 2 < 2^31
 * where round = te_rq_round(e, output_offset) = 2^(e-1) + output_offset * 2^e
 * (tinyengine_gen/fixedpoint.py: fast_requant_applies).
 * Why it is the same function: the doubling high multiply is h = floor((2 acc m + 2^31) / 2^32)
 * (see te_requantize_fast), which SMMLAR computes from 2 acc (no overflow: |acc| < 2^30) and
 * adds to its accumulator operand. The rounding right shift by e >= 1 (half away from zero)
 * is floor((h + 2^(e-1) - [h < 0]) / 2^e), and [h < 0] may be replaced by [acc < 0]: they
 * differ only where h = 0, and there both give 0. Adding output_offset * 2^e before the
 * floor division adds output_offset after it. So the result is
 *   (h + round - [acc < 0]) >> e,
 * with h + round - [acc < 0] in int32 (|h| <= |acc| + 1). The same test file that checks
 * te_requantize_fast checks this one against te_requantize on the host. */
TE_INLINE int32_t te_rq_round(int32_t e, int32_t output_offset) {
  return (int32_t)((uint32_t)(2 * output_offset + 1) << (e - 1));
}
TE_INLINE int32_t te_requantize_rq(int32_t acc, int32_t multiplier, int32_t round, int32_t e) {
  return te_smmlar((int32_t)((uint32_t)acc << 1), multiplier, round + (acc >> 31)) >> e;
}

#endif /* TE_FIXEDPOINT_H */
