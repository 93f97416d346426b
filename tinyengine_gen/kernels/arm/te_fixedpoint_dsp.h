/* te_fixedpoint_dsp.h: the Armv7E-M versions of te_fixedpoint.h's kernel arithmetic, and the
 * helpers of the DSP kernels.
 *
 * te_fixedpoint.h includes this file at one point of its own text and only where TE_DSP is
 * set, in place of its portable te_requantize_kernel, te_sat8, te_smmlar, TE_DSP_FN and
 * TE_DSP_FN_COPIES (same names, equal results), so the portable file reads without it. Not
 * a header to include on its own. */
#ifndef TE_ARM_TE_FIXEDPOINT_DSP_H
#define TE_ARM_TE_FIXEDPOINT_DSP_H

#include <arm_acle.h>

/* On the entry points of the DSP kernels: GCC's pre-allocation scheduling hoists their
 * loads ahead of the multiply-accumulates that consume them and runs out of the core's 14
 * registers (spilling sums to the stack inside the loops); without it the loops keep
 * every sum in a register. */
#if defined(__GNUC__) && !defined(__clang__)
#define TE_DSP_FN __attribute__((optimize("no-schedule-insns")))
/* The same, for kernels that copy runs of a few bytes (im2col): GCC would turn those loops
 * into calls of memmove, which cost more than the copy. */
#define TE_DSP_FN_COPIES __attribute__((optimize("no-schedule-insns", "no-tree-loop-distribute-patterns")))
#else
#define TE_DSP_FN
#define TE_DSP_FN_COPIES
#endif

/* te_requantize_fast: equal to te_requantize in fewer instructions on a 32-bit core. */
TE_INLINE int32_t te_requantize_kernel(int32_t x, int32_t multiplier, int32_t shift) {
  return te_requantize_fast(x, multiplier, shift);
}

/* SSAT: one instruction. */
TE_INLINE int8_t te_sat8(int32_t v) { return (int8_t)__ssat(v, 8); }

/* SMMLAR: one instruction. */
TE_INLINE int32_t te_smmlar(int32_t x, int32_t y, int32_t a) {
  int32_t r;
  __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(x), "r"(y), "r"(a));
  return r;
}

/* Helpers of the DSP kernels: unaligned word loads and stores (LDR/STR, which Armv7E-M
 * allows unaligned). */
TE_INLINE uint32_t te_load_u32(const void* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
TE_INLINE void te_store_u32(void* p, uint32_t v) { memcpy(p, &v, 4); }
/* (b0, b2) and (b1, b3) of the four int8 in v, each sign-extended to an int16 pair. The odd
 * one is SXTB16 with its ROR #8 operand, which GCC does not fold from C. */
TE_INLINE uint32_t te_sxtb16_even(uint32_t v) { return (uint32_t)__sxtb16((int32_t)v); }
TE_INLINE uint32_t te_sxtb16_odd(uint32_t v) {
  uint32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
  return r;
}
TE_INLINE int32_t te_smlad(uint32_t a, uint32_t b, int32_t acc) { return __smlad((int32_t)a, (int32_t)b, acc); }
/* An int8 output: SSAT where the clamp is the whole int8 range, else the clamp. */
TE_INLINE int8_t te_out8(int32_t v, int full, int32_t lo, int32_t hi) {
  if (full) return (int8_t)__ssat(v, 8);
  v = v > lo ? v : lo;
  v = v < hi ? v : hi;
  return (int8_t)v;
}

#endif /* TE_ARM_TE_FIXEDPOINT_DSP_H */
