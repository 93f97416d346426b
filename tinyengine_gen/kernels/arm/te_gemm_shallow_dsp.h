/* te_gemm_shallow_dsp.h: the shallow core on Armv7E-M: packed pixel pairs times channel
 * pairs of a blocked weight layout (SMLAD), the short and the long (in parts) tiles.
 *
 * Armv7E-M DSP code of te_conv2d_gemm.h (see the DSP notes at its top), kept apart from
 * the portable core: te_conv2d_gemm.h includes this file at the one point where the
 * builds part, only where TE_DSP is set (te_fixedpoint.h), and takes te_gemm_shallow_tile
 * from it in place of its portable one (same name). Not a header to include on its own. */
#ifndef TE_ARM_TE_GEMM_SHALLOW_DSP_H
#define TE_ARM_TE_GEMM_SHALLOW_DSP_H

#define TE_GEMM_SHALLOW_DSP_MAX_DEPTH 64 /* deeper (lean variants): in parts of this many values */

/* The shallow DSP core's inner loop, shared by the two block functions below: from x to
 * x_end, a depth pair at a time, channels j and j + 1's weights of the pair joined into one
 * word (w_k[j], w_k[j+1], w_k+1[j], w_k+1[j+1]) whose SXTB16s multiply the four pixels'
 * packed pairs into sums sPC (pixel P, channel j + C). 14 registers: 8 sums, 2 weight
 * pairs, 1 pixel pair, 3 pointers. Two depth pairs a trip (an odd count's first pair
 * alone): the loop's compare, branch and pointer steps then cost 4 of 40 instructions
 * rather than 4 of 20. */
#define TE_GEMM_SHALLOW_STEP_DSP(K)                                                            \
  do {                                                                                         \
    uint16_t lo, hi;                                                                           \
    memcpy(&lo, w + (K) * 2 * TE_GEMM_BLOCK, 2);                                               \
    memcpy(&hi, w + (K) * 2 * TE_GEMM_BLOCK + TE_GEMM_BLOCK, 2);                               \
    const uint32_t v = (uint32_t)lo | (uint32_t)hi << 16;                                      \
    const uint32_t wa = te_sxtb16_even(v), wb = te_sxtb16_odd(v);                              \
    uint32_t xv = x[(K) * TE_GEMM_PIXELS];                                                     \
    s00 = te_smlad(xv, wa, s00); s01 = te_smlad(xv, wb, s01);                                  \
    xv = x[(K) * TE_GEMM_PIXELS + 1];                                                          \
    s10 = te_smlad(xv, wa, s10); s11 = te_smlad(xv, wb, s11);                                  \
    xv = x[(K) * TE_GEMM_PIXELS + 2];                                                          \
    s20 = te_smlad(xv, wa, s20); s21 = te_smlad(xv, wb, s21);                                  \
    xv = x[(K) * TE_GEMM_PIXELS + 3];                                                          \
    s30 = te_smlad(xv, wa, s30); s31 = te_smlad(xv, wb, s31);                                  \
  } while (0)
#define TE_GEMM_SHALLOW_PAIRS_DSP()                                         \
  if ((x_end - x) & TE_GEMM_PIXELS) { /* an odd number of depth pairs */    \
    TE_GEMM_SHALLOW_STEP_DSP(0);                                            \
    w += 2 * TE_GEMM_BLOCK;                                                 \
    x += TE_GEMM_PIXELS;                                                    \
  }                                                                         \
  while (x != x_end) {                                                      \
    TE_GEMM_SHALLOW_STEP_DSP(0);                                            \
    TE_GEMM_SHALLOW_STEP_DSP(1);                                            \
    w += 4 * TE_GEMM_BLOCK;                                                 \
    x += 2 * TE_GEMM_PIXELS;                                                \
  }
/* Channel j's four outputs, and channel j + 1's where it exists. */
#define TE_GEMM_SHALLOW_OUT_DSP()                                                                       \
  te_gemm_out4_dsp(s00, s10, s20, s30, pixels, te_gemm_channel_dsp(multiplier[j], shift[j], p, fast), p, \
                   out + j, fast, full);                                                                 \
  if (pair) {                                                                                            \
    te_gemm_out4_dsp(s01, s11, s21, s31, pixels, te_gemm_channel_dsp(multiplier[j1], shift[j1], p, fast), \
                     p, out + j1, fast, full);                                                           \
  }

/* One block (see te_gemm_shallow_block) from the pixels' packed pairs xp[depth / 2][4]. */
TE_INLINE void te_gemm_shallow_block_dsp(const uint32_t (*xp)[TE_GEMM_PIXELS], int pixels, const int8_t* block, int n,
                                         const int32_t* bias, const int32_t* multiplier, const int8_t* shift,
                                         const te_conv2d_gemm_params* p, int8_t* out, const int fast,
                                         const int full) {
  const int half = p->depth / 2;
  for (int j = 0; j < n; j += 2) { /* weights of j + 1 < 32 exist: the block is zero padded */
    const int pair = j + 1 < n;
    const int j1 = pair ? j + 1 : j;
    int32_t s00 = te_gemm_bias_dsp(bias[j], fast), s01 = te_gemm_bias_dsp(bias[j1], fast);
    int32_t s10 = s00, s11 = s01, s20 = s00, s21 = s01, s30 = s00, s31 = s01;
    const int8_t* w = block + j;
    const uint32_t* x = xp[0];
    const uint32_t* const x_end = x + half * TE_GEMM_PIXELS;
    TE_GEMM_SHALLOW_PAIRS_DSP();
    TE_GEMM_SHALLOW_OUT_DSP();
  }
}

/* te_gemm_shallow_block_dsp over `half` depth pairs of a longer receptive field: the sums
 * start from the bias (first part) or from acc, and are requantised (last part) or saved
 * in acc. The pairs are not doubled here (te_gemm_shallow_tile_long_dsp): where `fast`,
 * the finished sums are, bias + acc doubled being 2 * bias + 2 * acc modulo 2^32. */
TE_INLINE void te_gemm_shallow_block_part_dsp(const uint32_t (*xp)[TE_GEMM_PIXELS], int half, int pixels,
                                              const int8_t* block, int n, int32_t (*acc)[TE_GEMM_BLOCK],
                                              int first, int last, const int32_t* bias, const int32_t* multiplier,
                                              const int8_t* shift, const te_conv2d_gemm_params* p, int8_t* out,
                                              const int fast, const int full) {
  for (int j = 0; j < n; j += 2) { /* weights of j + 1 < 32 exist: the block is zero padded */
    const int pair = j + 1 < n;
    const int j1 = pair ? j + 1 : j;
    int32_t s00, s01, s10, s11, s20, s21, s30, s31;
    if (first) {
      s00 = bias[j], s01 = bias[j1];
      s10 = s00, s11 = s01, s20 = s00, s21 = s01, s30 = s00, s31 = s01;
    } else {
      s00 = acc[0][j], s01 = acc[0][j + 1], s10 = acc[1][j], s11 = acc[1][j + 1];
      s20 = acc[2][j], s21 = acc[2][j + 1], s30 = acc[3][j], s31 = acc[3][j + 1];
    }
    const int8_t* w = block + j;
    const uint32_t* x = xp[0];
    const uint32_t* const x_end = x + half * TE_GEMM_PIXELS;
    TE_GEMM_SHALLOW_PAIRS_DSP();
    if (!last) {
      acc[0][j] = s00, acc[0][j + 1] = s01, acc[1][j] = s10, acc[1][j + 1] = s11;
      acc[2][j] = s20, acc[2][j + 1] = s21, acc[3][j] = s30, acc[3][j + 1] = s31;
      continue;
    }
    s00 = te_gemm_bias_dsp(s00, fast), s01 = te_gemm_bias_dsp(s01, fast);
    s10 = te_gemm_bias_dsp(s10, fast), s11 = te_gemm_bias_dsp(s11, fast);
    s20 = te_gemm_bias_dsp(s20, fast), s21 = te_gemm_bias_dsp(s21, fast);
    s30 = te_gemm_bias_dsp(s30, fast), s31 = te_gemm_bias_dsp(s31, fast);
    TE_GEMM_SHALLOW_OUT_DSP();
  }
}
#undef TE_GEMM_SHALLOW_PAIRS_DSP
#undef TE_GEMM_SHALLOW_STEP_DSP
#undef TE_GEMM_SHALLOW_OUT_DSP

/* PKHBT / PKHTB with a 16-bit shift: (lo's low half, hi's low half) and (lo's high half,
 * hi's high half) as int16 pairs. Written out: GCC builds them from UXTH, shifts and ORR. */
TE_INLINE uint32_t te_pack_low_halves(uint32_t lo, uint32_t hi) {
  uint32_t r;
  __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(lo), "r"(hi));
  return r;
}
TE_INLINE uint32_t te_pack_high_halves(uint32_t lo, uint32_t hi) {
  uint32_t r;
  __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(hi), "r"(lo));
  return r;
}

/* (x_k, x_k+1) of four int8 values at src as two int16 pairs: (x0, x1) into dst[0] and
 * (x2, x3) into dst[TE_GEMM_PIXELS], doubled where `twice`. */
TE_INLINE void te_gemm_pairs_dsp(const int8_t* src, uint32_t* dst, int twice) {
  const uint32_t v = te_load_u32(src);
  const uint32_t even = te_gemm_twice_dsp(te_sxtb16_even(v), twice); /* (x0, x2) */
  const uint32_t odd = te_gemm_twice_dsp(te_sxtb16_odd(v), twice);   /* (x1, x3) */
  dst[0] = te_pack_low_halves(even, odd);
  dst[TE_GEMM_PIXELS] = te_pack_high_halves(even, odd);
}

/* Each of the 4 pixels' (x_k, x_k+1) packed as an int16 pair: xp[depth / 2][4]. One
 * pointer walks each pixel's column of xp (no index arithmetic), two groups a step. */
TE_INLINE void te_gemm_pack_pairs_dsp(const int8_t* const rows[TE_GEMM_PIXELS], int depth,
                                      uint32_t (*xp)[TE_GEMM_PIXELS], const int fast) {
  for (int i = 0; i < TE_GEMM_PIXELS; ++i) {
    const int8_t* row = rows[i];
    const int8_t* const end8 = row + (depth & ~7);
    uint32_t* dst = &xp[0][i];
    for (; row != end8; row += 8, dst += 4 * TE_GEMM_PIXELS) {
      te_gemm_pairs_dsp(row, dst, fast);
      te_gemm_pairs_dsp(row + 4, dst + 2 * TE_GEMM_PIXELS, fast);
    }
    int k = depth & ~7;
    if (k + 4 <= depth) {
      te_gemm_pairs_dsp(row, dst, fast);
      row += 4, dst += 2 * TE_GEMM_PIXELS, k += 4;
    }
    for (; k < depth; k += 2, row += 2, dst += TE_GEMM_PIXELS) {
      const uint32_t pair = (uint32_t)(uint16_t)row[0] | (uint32_t)(uint16_t)row[1] << 16;
      *dst = te_gemm_twice_dsp(pair, fast);
    }
  }
}

/* The shallow tile: the pixels' pairs packed once, then the blocks. */
TE_INLINE void te_gemm_shallow_tile_dsp(const int8_t* const rows[TE_GEMM_PIXELS], int pixels, const int8_t* filter,
                                        const int32_t* bias, const int32_t* multiplier, const int8_t* shift,
                                        const te_conv2d_gemm_params* p, int8_t* out, const int fast, const int full) {
  uint32_t xp[TE_GEMM_SHALLOW_DSP_MAX_DEPTH / 2][TE_GEMM_PIXELS];
  const int depth = p->depth, out_c = p->out_c;
  te_gemm_pack_pairs_dsp(rows, depth, xp, fast);
  for (int c0 = 0; c0 < out_c; c0 += TE_GEMM_BLOCK) {
    const int n = out_c - c0 < TE_GEMM_BLOCK ? out_c - c0 : TE_GEMM_BLOCK;
    te_gemm_shallow_block_dsp((const uint32_t(*)[TE_GEMM_PIXELS])xp, pixels, filter, n, bias + c0, multiplier + c0,
                              shift + c0, p, out + c0, fast, full);
    filter += (long)TE_GEMM_BLOCK * depth;
  }
}
TE_GEMM_VARIANTS_DSP(te_gemm_shallow_tile_dsp,
                     (const int8_t* const rows[TE_GEMM_PIXELS], int pixels, const int8_t* filter,
                      const int32_t* bias, const int32_t* multiplier, const int8_t* shift,
                      const te_conv2d_gemm_params* p, int8_t* out),
                     rows, pixels, filter, bias, multiplier, shift, p, out)

/* The shallow tile of a receptive field longer than TE_GEMM_SHALLOW_DSP_MAX_DEPTH (a lean
 * variant of a deep layer): the depth in parts of that many values, each part's pairs
 * packed once, the sums of a block carried from part to part in acc. The pairs are packed
 * undoubled even where `fast` (the sums are doubled once, at the end): two SADD16 per four
 * values of every pixel cost more than one shift per output once the depth passes 64. */
TE_INLINE void te_gemm_shallow_tile_long_dsp(const int8_t* const rows[TE_GEMM_PIXELS], int pixels,
                                             const int8_t* filter, const int32_t* bias, const int32_t* multiplier,
                                             const int8_t* shift, const te_conv2d_gemm_params* p, int8_t* out,
                                             const int fast, const int full) {
  uint32_t xp[TE_GEMM_SHALLOW_DSP_MAX_DEPTH / 2][TE_GEMM_PIXELS];
  int32_t acc[TE_GEMM_PIXELS][TE_GEMM_BLOCK];
  const int depth = p->depth, out_c = p->out_c;
  for (int c0 = 0; c0 < out_c; c0 += TE_GEMM_BLOCK, filter += (long)TE_GEMM_BLOCK * depth) {
    const int n = out_c - c0 < TE_GEMM_BLOCK ? out_c - c0 : TE_GEMM_BLOCK;
    for (int k0 = 0; k0 < depth; k0 += TE_GEMM_SHALLOW_DSP_MAX_DEPTH) {
      const int part = depth - k0 < TE_GEMM_SHALLOW_DSP_MAX_DEPTH ? depth - k0 : TE_GEMM_SHALLOW_DSP_MAX_DEPTH;
      const int8_t* part_rows[TE_GEMM_PIXELS];
      for (int i = 0; i < TE_GEMM_PIXELS; ++i) part_rows[i] = rows[i] + k0;
      te_gemm_pack_pairs_dsp(part_rows, part, xp, 0);
      te_gemm_shallow_block_part_dsp((const uint32_t(*)[TE_GEMM_PIXELS])xp, part / 2, pixels,
                                     filter + (long)k0 * TE_GEMM_BLOCK, n, acc, k0 == 0, k0 + part >= depth,
                                     bias + c0, multiplier + c0, shift + c0, p, out + c0, fast, full);
    }
  }
}
TE_GEMM_VARIANTS_DSP(te_gemm_shallow_tile_long_dsp,
                     (const int8_t* const rows[TE_GEMM_PIXELS], int pixels, const int8_t* filter,
                      const int32_t* bias, const int32_t* multiplier, const int8_t* shift,
                      const te_conv2d_gemm_params* p, int8_t* out),
                     rows, pixels, filter, bias, multiplier, shift, p, out)

/* ---- the entry of te_conv2d_gemm.h (the portable one's name) ------------------------ */

/* te_gemm_config.h: TE_GEMM_SHALLOW_TILE 0 where no layer of the project comes here. */
TE_INLINE void te_gemm_shallow_tile(const int8_t* const rows[TE_GEMM_PIXELS], int pixels, const int8_t* filter,
                                    const int32_t* bias, const int32_t* multiplier, const int8_t* shift,
                                    const te_conv2d_gemm_params* p, int8_t* out) {
#if defined(TE_GEMM_SHALLOW_TILE) && !TE_GEMM_SHALLOW_TILE /* no layer comes here */
  (void)rows, (void)pixels, (void)filter, (void)bias, (void)multiplier, (void)shift, (void)p, (void)out;
  __builtin_trap();
#else
  if (p->depth <= TE_GEMM_SHALLOW_DSP_MAX_DEPTH) {
    TE_GEMM_DISPATCH_DSP(p, te_gemm_shallow_tile_dsp, rows, pixels, filter, bias, multiplier, shift, p, out);
  } else {
    TE_GEMM_DISPATCH_DSP(p, te_gemm_shallow_tile_long_dsp, rows, pixels, filter, bias, multiplier, shift, p, out);
  }
#endif
}

#endif /* TE_ARM_TE_GEMM_SHALLOW_DSP_H */
