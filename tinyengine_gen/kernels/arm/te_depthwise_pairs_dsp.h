/* te_depthwise_pairs_dsp.h: the Armv7E-M instructions of te_depthwise_pairs.h.
 *
 * te_depthwise_pairs.h includes this file at one point of its own text and only where TE_DSP
 * is set (te_fixedpoint.h), in place of its portable helpers (same names, equal results), so
 * the portable file reads without it. Not a header to include on its own. */
#ifndef TE_ARM_TE_DEPTHWISE_PAIRS_DSP_H
#define TE_ARM_TE_DEPTHWISE_PAIRS_DSP_H

/* SXTB16: (b0, b2) of v sign-extended to an int16 pair; with ROR #8 (which GCC does not fold
 * from C) (b1, b3). */
TE_INLINE uint32_t te_dw_pairs_even(uint32_t v) { return (uint32_t)__sxtb16((int32_t)v); }
TE_INLINE uint32_t te_dw_pairs_odd(uint32_t v) {
  uint32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
  return r;
}
/* PKHBT a, b, LSL #16: (lo(a), lo(b)); PKHTB b, a, ASR #16: (hi(a), hi(b)). GCC's own
 * code for the C expressions takes two to three instructions each. */
TE_INLINE uint32_t te_dw_pairs_low_halves(uint32_t a, uint32_t b) {
  uint32_t r;
  __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
TE_INLINE uint32_t te_dw_pairs_high_halves(uint32_t a, uint32_t b) {
  uint32_t r;
  __asm__("pkhtb %0, %2, %1, asr #16" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
/* SMLAD: acc + lo(x) lo(w) + hi(x) hi(w) (te_fixedpoint_dsp.h's). */
#define te_dw_pairs_mac te_smlad
/* The next two words of the tap table, w advanced past them, with one LDRD the compiler may
 * not move: hoisted out of the
 * pixel loop, the taps' weights would push the sums out of the registers. */
#define TE_DW_PAIRS_NEXT(w, lo, hi) \
  __asm__ volatile("ldrd %0, %1, [%2], #8" : "=r"(lo), "=r"(hi), "+r"(w))
/* An int8 output: SSAT where the clamp is the whole int8 range, else the clamp (te_fixedpoint_dsp.h's). */
#define te_dw_pairs_out8 te_out8

#endif /* TE_ARM_TE_DEPTHWISE_PAIRS_DSP_H */
