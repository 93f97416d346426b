/* te_int4_dsp.h: the Armv7E-M steps of te_int4.h's dot products on packed 4-bit weights.
 *
 * te_int4.h includes this file at one point of its own text and only where TE_DSP is set
 * (te_fixedpoint.h), in place of its portable te_int4_dot_s8_by4, te_int4_dot2_s8_by4 and
 * te_int4_dot_s16_by4 (same names; the portable ones take no step). Not a header to
 * include on its own. */
#ifndef TE_ARM_TE_INT4_DSP_H
#define TE_ARM_TE_INT4_DSP_H

/* The four weights of two packed bytes as sign-extended int16 pairs, (w0, w2) in `even`
 * and (w1, w3) in `odd` (the pairing SXTAB16 gives the inputs), or (w0, w1) and (w2, w3) in
 * `even` and `odd` where `adjacent` (int16 inputs read as pairs). Each nibble v becomes
 * (v ^ 8) - 8 in its halfword (SSUB16): exact, as the portable te_int4_low/high. */
/* (a + b1, a + b3) per halfword: SXTAB16 with its ROR #8 operand (GCC does not fold it from C). */
TE_INLINE int32_t te_int4_sxtab16_odd(int32_t a, uint32_t v) {
  int32_t r;
  __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(v));
  return r;
}

TE_INLINE void te_int4_pairs_dsp(const uint8_t* p, uint32_t* even, uint32_t* odd, const int adjacent) {
  uint16_t h;
  memcpy(&h, p, 2);
  const uint32_t w = h; /* nibbles w0 | w1 << 4 | w2 << 8 | w3 << 12 */
  const uint32_t e = adjacent ? (w & 0x000Fu) | ((w & 0x00F0u) << 12) : (w & 0x000Fu) | ((w & 0x0F00u) << 8);
  const uint32_t o = adjacent ? ((w >> 8) & 0x000Fu) | ((w & 0xF000u) << 4) : ((w >> 4) & 0x000Fu) | ((w & 0xF000u) << 4);
  *even = (uint32_t)__ssub16((int32_t)(e ^ 0x00080008u), 0x00080008);
  *odd = (uint32_t)__ssub16((int32_t)(o ^ 0x00080008u), 0x00080008);
}

/* Four int8 inputs a step, the offset added to two at once by SXTAB16, two SMLAD. */
TE_INLINE void te_int4_dot_s8_by4(const int8_t* x, int32_t x_offset, const uint8_t** p, int* j, int n,
                                   int32_t* sum) {
  const int32_t offsets = (int32_t)(((uint32_t)x_offset & 0xFFFFu) | ((uint32_t)x_offset << 16));
  for (; *j + 4 <= n; *j += 4, *p += 2) {
    uint32_t u, even, odd;
    memcpy(&u, x + *j, 4);
    te_int4_pairs_dsp(*p, &even, &odd, 0);
    *sum = __smlad(__sxtab16(offsets, (int32_t)u), (int32_t)even, *sum);
    *sum = __smlad(te_int4_sxtab16_odd(offsets, u), (int32_t)odd, *sum);
  }
}

/* The same for two inputs on the same weights, each weight pair unpacked once for both. */
TE_INLINE void te_int4_dot2_s8_by4(const int8_t* xa, const int8_t* xb, int32_t x_offset, const uint8_t** p, int* j,
                                    int n, int32_t* a, int32_t* b) {
  const int32_t offsets = (int32_t)(((uint32_t)x_offset & 0xFFFFu) | ((uint32_t)x_offset << 16));
  for (; *j + 4 <= n; *j += 4, *p += 2) {
    uint32_t u, v, even, odd;
    memcpy(&u, xa + *j, 4);
    memcpy(&v, xb + *j, 4);
    te_int4_pairs_dsp(*p, &even, &odd, 0);
    *a = __smlad(__sxtab16(offsets, (int32_t)u), (int32_t)even, *a);
    *a = __smlad(te_int4_sxtab16_odd(offsets, u), (int32_t)odd, *a);
    *b = __smlad(__sxtab16(offsets, (int32_t)v), (int32_t)even, *b);
    *b = __smlad(te_int4_sxtab16_odd(offsets, v), (int32_t)odd, *b);
  }
}

/* int16 inputs: SMLAD on (x0, x1) and (x2, x3). */
TE_INLINE void te_int4_dot_s16_by4(const int16_t* x, const uint8_t** p, int* j, int n, int32_t* sum) {
  for (; *j + 4 <= n; *j += 4, *p += 2) {
    uint32_t x01, x23, w01, w23;
    memcpy(&x01, x + *j, 4);
    memcpy(&x23, x + *j + 2, 4);
    te_int4_pairs_dsp(*p, &w01, &w23, 1);
    *sum = __smlad((int32_t)x01, (int32_t)w01, *sum);
    *sum = __smlad((int32_t)x23, (int32_t)w23, *sum);
  }
}

#endif /* TE_ARM_TE_INT4_DSP_H */
