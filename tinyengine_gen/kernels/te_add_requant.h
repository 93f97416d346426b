/* Requantisation for the int8 ADD kernels (also used by MUL and MEAN), written so that
 * compilers vectorise it.
 *
 * TFLite's ADD requantises with MultiplyByQuantizedMultiplierSmallerThanOneExp: a
 * saturating rounding doubling high multiply, then a rounding right shift (every ADD
 * shift is <= 0, checked at planning time). The multipliers come from QuantizeMultiplier
 * and are non-negative, so the only saturating case of the high multiply (both operands
 * INT32_MIN) cannot occur, and its "nudge, then divide rounding toward zero" is exactly
 * floor((x * m + 2^30) / 2^31):
 *   x * m >= 0:  (xm + 2^30) / 2^31 truncates like floor, the numerator being >= 0;
 *   x * m <  0:  trunc((xm + 1 - 2^30) / 2^31) = floor((xm + 1 - 2^30 + 2^31 - 1) / 2^31).
 * The result fits int32, so only the low 32 bits of the shifted 64-bit value matter, and
 * those can be had from an unsigned 32 x 32 -> 64 bit multiply (the one SSE2 has, unlike a
 * signed or a full 64-bit one): reading a negative x as unsigned adds 2^32 * m to the
 * product, which after the shift by 31 is 2 * m to subtract, modulo 2^32.
 * te_add_requantize(x, m, shift) therefore equals te_requantize(x, m, shift) for every int32
 * x, m >= 0 and shift <= 0, and te_requantize_nonneg does for any shift (a test compares
 * them on random and extreme values).
 */
#ifndef TE_ADD_REQUANT_H
#define TE_ADD_REQUANT_H

#include <stdint.h>

#include "te_fixedpoint.h"

/* SaturatingRoundingDoublingHighMul(x, multiplier) for multiplier >= 0. */
TE_INLINE int32_t te_add_high_mul(int32_t x, int32_t multiplier) {
  const uint64_t rounded = (uint64_t)(uint32_t)x * (uint32_t)multiplier + ((uint64_t)1 << 30);
  const uint32_t high = (uint32_t)(rounded >> 31) - (x < 0 ? (uint32_t)multiplier << 1 : 0u);
  return (int32_t)high;
}

/* MultiplyByQuantizedMultiplierSmallerThanOneExp(x, multiplier, shift), multiplier >= 0, shift <= 0. */
TE_INLINE int32_t te_add_requantize(int32_t x, int32_t multiplier, int32_t shift) {
  return te_rounding_divide_by_pot(te_add_high_mul(x, multiplier), -shift);
}

/* te_requantize(x, multiplier, shift) for multiplier >= 0 (QuantizeMultiplier never gives less),
 * with the shift split as te_requantize splits it: left_shift = max(shift, 0),
 * right_shift = max(-shift, 0). */
TE_INLINE int32_t te_requantize_nonneg(int32_t x, int32_t multiplier, int32_t left_shift, int32_t right_shift) {
  const int32_t shifted = (int32_t)((uint32_t)x << left_shift);
  return te_rounding_divide_by_pot(te_add_high_mul(shifted, multiplier), right_shift);
}

/* One input's rescaling in ADD, SUB and SQUARED_DIFFERENCE: (x + offset) << left_shift,
 * times a multiplier below one (MultiplyByQuantizedMultiplierSmallerThanOneExp). */
typedef struct {
  int32_t offset, left_shift, multiplier, shift;
} te_add_input_scale;

/* Input N's (1 or 2) rescaling, read from a parameter struct with ADD's field names: the
 * structs of ADD, SUB and SQUARED_DIFFERENCE all have them. */
#define TE_ADD_INPUT_SCALE(p, N) \
  ((te_add_input_scale){(p)->input##N##_offset, (p)->left_shift, (p)->input##N##_multiplier, (p)->input##N##_shift})

TE_INLINE int32_t te_add_scale(int32_t x, te_add_input_scale s) {
  return te_add_requantize((x + s.offset) * ((int32_t)1 << s.left_shift), s.multiplier, s.shift);
}

/* Requantised output: rescale the sum of the two rescaled inputs, add the zero point, clamp. */
TE_INLINE int8_t te_add_output(int32_t sum, int32_t multiplier, int32_t shift, int32_t offset, int32_t act_min,
                               int32_t act_max) {
  return (int8_t)te_clamp(te_add_requantize(sum, multiplier, shift) + offset, act_min, act_max);
}

#endif /* TE_ADD_REQUANT_H */
