/* te_depthwise_rows_dsp.h: the Armv7E-M DSP code of te_depthwise_rows.h, four channels (a quad) at a time.
 *
 * Kept apart from the portable core: te_depthwise_rows.h includes this file at one point of
 * its own text and only where TE_DSP is set (te_fixedpoint.h), so the portable file reads
 * without it. Not a header to include on its own. It defines what te_depthwise_rows.h
 * names in both builds: te_dw_rows_quads (the core's DSP step) and the two macros its
 * TE_DW_ROWS_DEFINE instantiates the quad code with per specialisation (TE_DW_QUADS_DEFINE,
 * TE_DW_QUADS); the portable build defines them as no step, nothing and a null function. */
#ifndef TE_ARM_TE_DEPTHWISE_ROWS_DSP_H
#define TE_ARM_TE_DEPTHWISE_ROWS_DSP_H

/* DSP: one output row at a time, four channels (a quad) by two output pixels a step (where
 * the stride is 1; one pixel otherwise), all the sums in registers. The quad's weights are
 * widened once per output row into a table on the stack, as (2 w_c0, 2 w_c2), (2 w_c1,
 * 2 w_c3) int16 pairs: doubled where fast_requant holds, so that the sums come out as
 * 2 * acc, the operand te_requantize_rq doubles anyway. Each tap then takes one word of
 * four inputs per pixel, widened by SXTB16 into (c0, c2) and (c1, c3), one LDRD of the
 * weights (at a constant offset from the stack pointer) and SMLABB / SMLATT for the
 * products. Exact: int32 sums of int16 products, |2 acc| < 2^31 where fast_requant holds
 * (without it nothing is doubled and te_requantize_fast requantises). Filters of up to
 * TE_DW_DSP_MAX_TAPS taps; channels past the last quad take the portable loop. */
#define TE_DW_DSP_MAX_TAPS 49

typedef struct {
  int32_t bias, multiplier, shift, round; /* bias doubled and shift = -e where `fast` */
} te_dw_channel_dsp;

/* The weights of a tap, read with one LDRD the compiler may not move (kept in registers
 * across pixels, the taps' weights would push the sums out of them). */
typedef struct {
  uint32_t w[2];
} te_dw_dword;
#define TE_DW_LDRD(m, lo, hi) __asm__ volatile("ldrd %0, %1, %2" : "=r"(lo), "=r"(hi) : "m"(m))

TE_INLINE int8_t te_dw_out_dsp(int32_t acc, const te_dw_channel_dsp* ch, const te_dw_rows_params* p, const int fast,
                               const int full) {
  const int32_t v = fast ? te_smmlar(acc, ch->multiplier, ch->round + (acc >> 31)) >> ch->shift
                         : te_requantize_fast(acc, ch->multiplier, ch->shift) + p->output_offset;
  return te_out8(v, full, p->act_min, p->act_max);
}

/* A channel's outputs of two pixels, c apart. */
TE_INLINE void te_dw_out2_dsp(int32_t a, int32_t b, const te_dw_channel_dsp* ch, const te_dw_rows_params* p,
                              int8_t* out, int c, const int fast, const int full) {
  const te_dw_channel_dsp k = *ch;
  const int8_t va = te_dw_out_dsp(a, &k, p, fast, full), vb = te_dw_out_dsp(b, &k, p, fast, full);
  out[0] = va;
  out[c] = vb;
}

/* The four products of a tap: inputs u (four int8), weights we = (w_c0, w_c2), wo = (w_c1, w_c3). */
#define TE_DW_TAP(u, we, wo, a0, a1, a2, a3)                  \
  do {                                                        \
    const int32_t e_ = (int32_t)te_sxtb16_even(u);            \
    const int32_t o_ = (int32_t)te_sxtb16_odd(u);             \
    a0 = __smlabb(e_, (int32_t)(we), a0);                     \
    a2 = __smlatt(e_, (int32_t)(we), a2);                     \
    a1 = __smlabb(o_, (int32_t)(wo), a1);                     \
    a3 = __smlatt(o_, (int32_t)(wo), a3);                     \
  } while (0)

/* Channels c0 .. c0 + 3 of output row `out_row` from the ring rows `rows` (dil_w == 1). */
TE_INLINE void te_dw_quad_row_dsp(const te_dw_rows_params* p, const int8_t* const* rows, const void* filter,
                                  const int32_t* folded_bias, const int32_t* multiplier, const void* shift_table,
                                  int8_t* out_row, int c0, const int kh, const int kw, const int sw, const int fast,
                                  const int full, const int bits) {
  const int c = p->channels, out_w = p->out_w;
  te_dw_dword wq[TE_DW_DSP_MAX_TAPS];
  te_dw_channel_dsp ch[4];
  const int8_t* f = (const int8_t*)filter + c0;
  te_dw_dword* t = wq;
  for (int ky = 0; ky < kh; ++ky) {
    for (int kx = 0; kx < kw; ++kx, ++t, f += c) { /* kw a constant: unrolled */
      const uint32_t w = bits == 4 ? te_int4_word((const uint8_t*)filter, (long)(ky * kw + kx) * c + c0)
                                   : te_load_u32(f);
      const uint32_t even = te_sxtb16_even(w), odd = te_sxtb16_odd(w);
      te_dw_dword pair;
      pair.w[0] = fast ? (uint32_t)__sadd16((int32_t)even, (int32_t)even) : even;
      pair.w[1] = fast ? (uint32_t)__sadd16((int32_t)odd, (int32_t)odd) : odd;
      *t = pair;
    }
  }
  for (int j = 0; j < 4; ++j) {
    ch[j].bias = fast ? (int32_t)((uint32_t)folded_bias[c0 + j] << 1) : folded_bias[c0 + j];
    ch[j].multiplier = multiplier[c0 + j];
    ch[j].shift = fast ? -te_shift_at(shift_table, c0 + j, bits) : te_shift_at(shift_table, c0 + j, bits);
    ch[j].round = fast ? te_rq_round(-te_shift_at(shift_table, c0 + j, bits), p->output_offset) : 0;
  }
  long col = c0; /* the first input column of the output pixels at ox, in bytes */
  int8_t* out = out_row + c0;
  const long d1 = (long)sw * c; /* pixel ox + 1's columns after pixel ox's */
  int ox = 0;
  /* Pixel pairs where the stride is 1: the second pixel's column is the first's next tap,
   * loaded once. With a larger stride the pair needs more registers than there are (both
   * pixels' inputs stay live), so each pixel is done alone. */
  for (; sw == 1 && ox + 2 <= out_w; ox += 2, col += 2 * d1, out += 2 * c) {
    int32_t a0 = ch[0].bias, a1 = ch[1].bias, a2 = ch[2].bias, a3 = ch[3].bias;
    int32_t b0 = a0, b1 = a1, b2 = a2, b3 = a3;
    const te_dw_dword* w = wq;
    for (int ky = 0; ky < kh; ++ky) {
      const int8_t* x = rows[ky] + col;
      for (int kx = 0; kx < kw; ++kx, ++w, x += c) {
        uint32_t we, wo;
        TE_DW_LDRD(*w, we, wo);
        TE_DW_TAP(te_load_u32(x), we, wo, a0, a1, a2, a3);
        TE_DW_TAP(te_load_u32(x + d1), we, wo, b0, b1, b2, b3);
      }
    }
    /* Channel by channel, both pixels on one load of its constants (an int8 store may alias
     * anything: a load of ch[j] after a store would be repeated). */
    te_dw_out2_dsp(a0, b0, &ch[0], p, out, c, fast, full);
    te_dw_out2_dsp(a1, b1, &ch[1], p, out + 1, c, fast, full);
    te_dw_out2_dsp(a2, b2, &ch[2], p, out + 2, c, fast, full);
    te_dw_out2_dsp(a3, b3, &ch[3], p, out + 3, c, fast, full);
  }
  for (; ox < out_w; ++ox, col += d1, out += c) { /* the last pixel of an odd row, or every pixel */
    int32_t a0 = ch[0].bias, a1 = ch[1].bias, a2 = ch[2].bias, a3 = ch[3].bias;
    const te_dw_dword* w = wq;
    for (int ky = 0; ky < kh; ++ky) {
      const int8_t* x = rows[ky] + col;
      for (int kx = 0; kx < kw; ++kx, ++w, x += c) {
        uint32_t we, wo;
        TE_DW_LDRD(*w, we, wo);
        TE_DW_TAP(te_load_u32(x), we, wo, a0, a1, a2, a3);
      }
    }
    out[0] = te_dw_out_dsp(a0, &ch[0], p, fast, full);
    out[1] = te_dw_out_dsp(a1, &ch[1], p, fast, full);
    out[2] = te_dw_out_dsp(a2, &ch[2], p, fast, full);
    out[3] = te_dw_out_dsp(a3, &ch[3], p, fast, full);
  }
}

/* Every quad of channels of output row `out_row` (what TE_DW_ROWS_DEFINE's name##_quads
 * runs, with the filter size and stride as constants). Called, not inlined, once per
 * output row: with the loops around it out of sight the allocator keeps the eight sums,
 * the widened inputs and the weights of the pixel pair loop in registers. */
TE_INLINE void te_dw_quads_dsp(const te_dw_rows_params* p, const int8_t* const* rows, const void* filter,
                               const int32_t* folded_bias, const int32_t* multiplier, const void* shift,
                               int8_t* out_row, const int kh, const int kw, const int sw, const int bits) {
  const int full = p->act_min == -128 && p->act_max == 127;
  for (int c0 = 0; c0 + 4 <= p->channels; c0 += 4) {
    if (p->fast_requant && full) {
      te_dw_quad_row_dsp(p, rows, filter, folded_bias, multiplier, shift, out_row, c0, kh, kw, sw, 1, 1, bits);
    } else {
      te_dw_quad_row_dsp(p, rows, filter, folded_bias, multiplier, shift, out_row, c0, kh, kw, sw, p->fast_requant,
                         0, bits);
    }
  }
}

/* te_dw_rows_core's first step on an output row: every whole quad of channels by the DSP
 * code, where the filter has few enough taps and no column dilation. Returns the first
 * of the c channels left to the portable loop. */
TE_INLINE int te_dw_rows_quads(te_dw_quads_fn quads, const te_dw_rows_params* p, const int8_t* const* rows,
                               const void* filter, const int32_t* folded_bias, const int32_t* multiplier,
                               const void* shift, int8_t* out_row, const int c, const int kh, const int kw,
                               const int dil_w) {
  int first = 0;
  if (kh * kw <= TE_DW_DSP_MAX_TAPS && dil_w == 1) {
    quads(p, rows, filter, folded_bias, multiplier, shift, out_row);
    first = c & ~3;
  }
  return first;
}

#define TE_DW_QUADS_DEFINE(name, kh, kw, sw, bits)                                                             \
  static TE_DSP_FN __attribute__((noinline)) void name(                                                       \
      const te_dw_rows_params* p, const int8_t* const* rows, const void* filter, const int32_t* folded_bias,    \
      const int32_t* multiplier, const void* shift, int8_t* out_row) {                                        \
    te_dw_quads_dsp(p, rows, filter, folded_bias, multiplier, shift, out_row, (kh) ? (kh) : p->k_h,            \
                    (kw) ? (kw) : p->k_w, (sw) ? (sw) : p->stride_w, bits);                                   \
  }
#define TE_DW_QUADS(name) name

#endif /* TE_ARM_TE_DEPTHWISE_ROWS_DSP_H */
