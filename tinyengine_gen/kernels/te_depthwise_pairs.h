/* DEPTHWISE_CONV_2D with depth multiplier 1, an even channel count, an odd filter width and
 * no column dilation: the row-ring kernel of te_depthwise_rows.h (same ring, same bytes, same
 * in-place order) with the ring rows stored in channel-pair order and the products taken two
 * taps at a time, as SMLAD does on Armv7E-M.
 *
 * Ring layout. A ring row holds, for each channel pair q (channels 2q, 2q + 1), its
 * ring_width pixels one after the other, two bytes per pixel (channel 2q, then 2q + 1). So
 * the word at pixel x of pair q is (c@x, c'@x, c@x+1, c'@x+1): sign-extending its even and
 * odd bytes gives the int16 pairs (c@x, c@x+1) and (c'@x, c'@x+1), two horizontally adjacent
 * inputs of one channel, what a dual multiply-accumulate wants. The ring holds
 * ring_rows x ring_width x channels bytes as before; rows are copied in with the channel
 * pairs unzipped (te_dw_pairs_load), pad columns and pad rows hold the input zero point.
 *
 * Taps. Output pixel x (stride s) of channel c is sum over rows and j of
 * D(s x + 2 j) . P_j, with D(y) the pair (v(y), v(y + 1)) and P_j = (w_2j, w_2j+1)
 * (w_kw = 0), j < J = (kw + 1) / 2. Two output pixels a step: with stride 1 the second one,
 * x + 1, reads the same words as the first, D(x + 2 j) . Q_j with Q_j = (w_2j-1, w_2j)
 * (w_-1 = 0); with a larger stride it reads its own words (with stride 2 those overlap the
 * first pixel's). The compiler writes P (and Q) as int16 pairs in the order the loop reads
 * them (tinyengine_gen/ops/depthwise_conv2d.py: _pair_taps), doubled where fast_requant
 * holds so that the sums come out as 2 * acc, the operand te_requantize_rq doubles anyway.
 * Per channel pair, per row: [j][channel 2q, 2q + 1][P, Q] (stride 1) or [j][2q, 2q + 1][P]
 * (other strides); pairs after pairs.
 *
 * The portable build runs the same loops with the pair product written in C (te_dw_pairs_mac),
 * so host tests check the layout and the tap tables; on Armv7E-M
 * arm/te_depthwise_pairs_dsp.h gives it SMLAD, SXTB16 and an LDRD the compiler may not hoist.
 * Exact: int32 sums (modulo 2^32, as the other kernels) of int16 products.
 */
#ifndef TE_DEPTHWISE_PAIRS_H
#define TE_DEPTHWISE_PAIRS_H

#include <stdint.h>
#include <string.h>

#include "te_depthwise_rows.h"
#include "te_fixedpoint.h"

/* Two words of the tap table (P and Q of one channel, or P of both channels). */
typedef struct {
  uint32_t w[2];
} te_dw_pairs_dword;

TE_INLINE uint32_t te_dw_pairs_load32(const int8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
/* The last word of a lone pixel, whose upper input has weight 0: two bytes, so that the
 * read ends inside the ring. */
TE_INLINE uint32_t te_dw_pairs_load16(const int8_t* p) {
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
}
TE_INLINE void te_dw_pairs_store32(int8_t* p, uint32_t v) { memcpy(p, &v, 4); }

#ifdef TE_DSP
/* te_dw_pairs_even/odd/low_halves/high_halves/mac/out8 and TE_DW_PAIRS_NEXT with SXTB16,
 * PKHBT/PKHTB, SMLAD, SSAT and LDRD: */
#include "arm/te_depthwise_pairs_dsp.h"
#else
/* (b0, b2) and (b1, b3) of the four int8 in v, each sign-extended to an int16 pair. */
TE_INLINE uint32_t te_dw_pairs_even(uint32_t v) {
  return (uint32_t)(uint16_t)(int16_t)(int8_t)v | (uint32_t)(uint16_t)(int16_t)(int8_t)(v >> 16) << 16;
}
TE_INLINE uint32_t te_dw_pairs_odd(uint32_t v) { return te_dw_pairs_even(v >> 8); }
/* The low halves of a and b (PKHBT), the high halves (PKHTB). */
TE_INLINE uint32_t te_dw_pairs_low_halves(uint32_t a, uint32_t b) { return (a & 0xFFFFu) | (b << 16); }
TE_INLINE uint32_t te_dw_pairs_high_halves(uint32_t a, uint32_t b) { return (b & 0xFFFF0000u) | (a >> 16); }
/* acc + lo(x) lo(w) + hi(x) hi(w), modulo 2^32 (SMLAD). */
TE_INLINE int32_t te_dw_pairs_mac(uint32_t x, uint32_t w, int32_t acc) {
  const int32_t lo = (int32_t)(int16_t)x * (int16_t)w, hi = (int32_t)(int16_t)(x >> 16) * (int16_t)(w >> 16);
  return (int32_t)((uint32_t)acc + (uint32_t)lo + (uint32_t)hi);
}
/* The next two words of the tap table, advancing w past them. */
#define TE_DW_PAIRS_NEXT(w, lo, hi) \
  do {                              \
    (lo) = (w)->w[0];               \
    (hi) = (w)->w[1];               \
    ++(w);                          \
  } while (0)
TE_INLINE int8_t te_dw_pairs_out8(int32_t v, int full, int32_t lo, int32_t hi) {
  (void)full;
  return (int8_t)te_clamp(v, lo, hi);
}
#endif

typedef struct {
  int32_t bias, multiplier, shift, round; /* bias doubled and shift = -e where `fast` */
} te_dw_pairs_channel;

/* The zero-point pad columns of every pair of every ring slot, once per call. */
static inline void te_dw_pairs_pad(const te_dw_rows_params* p, int8_t* ring) {
  const long block = 2L * p->ring_width;
  const int right = p->ring_width - p->pad_left - p->in_w;
  const int8_t pad = (int8_t)p->pad_value;
  for (long q = 0; q < (long)p->ring_rows * (p->channels / 2); ++q) {
    int8_t* dst = ring + q * block;
    memset(dst, pad, 2 * (size_t)p->pad_left);
    if (right > 0) memset(dst + 2L * (p->pad_left + p->in_w), pad, 2 * (size_t)right);
  }
}

/* Ring slot `slot` := image row `row` unzipped into channel pairs (or all zero points). Four
 * channels of two pixels at a time: (c0 c1 c2 c3 @x), (.. @x+1) -> pair words
 * (c0 c1 @x, c0 c1 @x+1) and (c2 c3 @x, c2 c3 @x+1). */
static inline void te_dw_pairs_load(const te_dw_rows_params* p, const int8_t* image, int row, int8_t* ring, int slot) {
  const int c = p->channels, in_w = p->in_w;
  const long block = 2L * p->ring_width;
  int8_t* dst = ring + (long)slot * p->ring_width * c;
  if (row < 0 || row >= p->in_h) {
    memset(dst, (int8_t)p->pad_value, (size_t)p->ring_width * c);
    return;
  }
  const int8_t* src_row = image + (long)row * in_w * c;
  dst += 2L * p->pad_left;
  int q = 0;
  for (; q + 4 <= c; q += 4) {
    const int8_t* s = src_row + q;
    int8_t* d0 = dst + (q / 2) * block;
    int8_t* d1 = d0 + block;
    int x = 0;
    for (; x + 2 <= in_w; x += 2, s += 2L * c, d0 += 4, d1 += 4) {
      const uint32_t a = te_dw_pairs_load32(s), b = te_dw_pairs_load32(s + c);
      te_dw_pairs_store32(d0, te_dw_pairs_low_halves(a, b));
      te_dw_pairs_store32(d1, te_dw_pairs_high_halves(a, b));
    }
    if (x < in_w) {
      memcpy(d0, s, 2);
      memcpy(d1, s + 2, 2);
    }
  }
  if (q < c) { /* the last pair where c % 4 == 2 */
    const int8_t* s = src_row + q;
    int8_t* d0 = dst + (q / 2) * block;
    for (int x = 0; x < in_w; ++x, s += c, d0 += 2) memcpy(d0, s, 2);
  }
}

TE_INLINE int8_t te_dw_pairs_out(int32_t acc, const te_dw_pairs_channel* ch, const te_dw_rows_params* p,
                                 const int fast, const int full) {
  const int32_t v = fast ? te_smmlar(acc, ch->multiplier, ch->round + (acc >> 31)) >> ch->shift
                         : te_requantize_kernel(acc, ch->multiplier, ch->shift) + p->output_offset;
  return te_dw_pairs_out8(v, full, p->act_min, p->act_max);
}

/* Channels c0, c0 + 1 of output row `out_row`; taps: this pair's part of the tap table. */
TE_INLINE void te_dw_pairs_row(const te_dw_rows_params* p, const int8_t* const* rows, const te_dw_pairs_dword* taps,
                               const int32_t* folded_bias, const int32_t* multiplier, const int8_t* shift,
                               int8_t* out_row, const int c0, const int kh, const int kw, const int sw, const int fast,
                               const int full) {
  const int c = p->channels, out_w = p->out_w, nj = (kw + 1) / 2;
  const long block = (long)c0 * p->ring_width; /* byte offset of the pair in a ring row */
  te_dw_pairs_channel ch[2];
  for (int k = 0; k < 2; ++k) {
    ch[k].bias = fast ? (int32_t)((uint32_t)folded_bias[c0 + k] << 1) : folded_bias[c0 + k];
    ch[k].multiplier = multiplier[c0 + k];
    ch[k].shift = fast ? -shift[c0 + k] : shift[c0 + k];
    ch[k].round = fast ? te_rq_round(-shift[c0 + k], p->output_offset) : 0;
  }
  const int8_t* pair_rows[TE_DW_ROWS_MAX_K]; /* the pair's block in each ring row (kh a constant: registers) */
  for (int ky = 0; ky < kh; ++ky) pair_rows[ky] = rows[ky] + block;
  int8_t* out = out_row + c0;
  int ox = 0;
  for (; ox + 2 <= out_w; ox += 2, out += 2 * c) {
    int32_t a0 = ch[0].bias, a1 = ch[1].bias;
    int32_t b0 = a0, b1 = a1;
    const te_dw_pairs_dword* w = taps; /* read in order */
    for (int ky = 0; ky < kh; ++ky) {
      const int8_t* x = pair_rows[ky] + 2L * ox * sw;
      if (sw == 1) {
        for (int j = 0; j < nj; ++j) { /* nj a constant: unrolled */
          const uint32_t u = te_dw_pairs_load32(x + 4 * j);
          const uint32_t e = te_dw_pairs_even(u), o = te_dw_pairs_odd(u);
          uint32_t pw, qw;
          TE_DW_PAIRS_NEXT(w, pw, qw);
          a0 = te_dw_pairs_mac(e, pw, a0);
          b0 = te_dw_pairs_mac(e, qw, b0);
          TE_DW_PAIRS_NEXT(w, pw, qw);
          a1 = te_dw_pairs_mac(o, pw, a1);
          b1 = te_dw_pairs_mac(o, qw, b1);
        }
      } else {
        const int8_t* y = x + 2 * sw;
        for (int j = 0; j < nj; ++j) {
          const uint32_t u = te_dw_pairs_load32(x + 4 * j);
          /* the second pixel's last word: its upper input has weight 0 and may lie past the ring row */
          const uint32_t v = j + 1 < nj ? te_dw_pairs_load32(y + 4 * j) : te_dw_pairs_load16(y + 4 * j);
          uint32_t pc, pd;
          TE_DW_PAIRS_NEXT(w, pc, pd);
          a0 = te_dw_pairs_mac(te_dw_pairs_even(u), pc, a0);
          a1 = te_dw_pairs_mac(te_dw_pairs_odd(u), pd, a1);
          b0 = te_dw_pairs_mac(te_dw_pairs_even(v), pc, b0);
          b1 = te_dw_pairs_mac(te_dw_pairs_odd(v), pd, b1);
        }
      }
    }
    const int8_t ya = te_dw_pairs_out(a0, &ch[0], p, fast, full), yb = te_dw_pairs_out(b0, &ch[0], p, fast, full);
    const int8_t za = te_dw_pairs_out(a1, &ch[1], p, fast, full), zb = te_dw_pairs_out(b1, &ch[1], p, fast, full);
    out[0] = ya;
    out[1] = za;
    out[c] = yb;
    out[c + 1] = zb;
  }
  if (ox < out_w) { /* the last pixel of an odd row */
    int32_t a0 = ch[0].bias, a1 = ch[1].bias;
    const te_dw_pairs_dword* w = taps;
    const int step = sw == 1 ? 2 : 1; /* dwords per j */
    for (int ky = 0; ky < kh; ++ky) {
      const int8_t* x = pair_rows[ky] + 2L * ox * sw;
      for (int j = 0; j < nj; ++j, w += step) {
        const uint32_t u = j + 1 < nj ? te_dw_pairs_load32(x + 4 * j) : te_dw_pairs_load16(x + 4 * j);
        const uint32_t pc = w[0].w[0];
        const uint32_t pd = sw == 1 ? w[1].w[0] : w[0].w[1];
        a0 = te_dw_pairs_mac(te_dw_pairs_even(u), pc, a0);
        a1 = te_dw_pairs_mac(te_dw_pairs_odd(u), pd, a1);
      }
    }
    out[0] = te_dw_pairs_out(a0, &ch[0], p, fast, full);
    out[1] = te_dw_pairs_out(a1, &ch[1], p, fast, full);
  }
}

/* Every channel pair of output row `out_row` (called, not inlined, once per output row: with
 * the loops around it out of sight the allocator keeps the four sums in registers). */
TE_INLINE void te_dw_pairs_rows(const te_dw_rows_params* p, const int8_t* const* rows, const te_dw_pairs_dword* taps,
                                const int32_t* folded_bias, const int32_t* multiplier, const int8_t* shift,
                                int8_t* out_row, const int kh, const int kw, const int sw) {
  const int full = p->act_min == -128 && p->act_max == 127;
  const long pair_dwords = (long)kh * ((kw + 1) / 2) * (sw == 1 ? 2 : 1);
  for (int c0 = 0; c0 < p->channels; c0 += 2, taps += pair_dwords) {
    if (p->fast_requant && full) {
      te_dw_pairs_row(p, rows, taps, folded_bias, multiplier, shift, out_row, c0, kh, kw, sw, 1, 1);
    } else {
      te_dw_pairs_row(p, rows, taps, folded_bias, multiplier, shift, out_row, c0, kh, kw, sw, p->fast_requant, 0);
    }
  }
}

/* The ring's walk over the image, as te_dw_rows_core, with `row_fn` for each output row. */
typedef void (*te_dw_pairs_row_fn)(const te_dw_rows_params* p, const int8_t* const* rows, const te_dw_pairs_dword* taps,
                                   const int32_t* folded_bias, const int32_t* multiplier, const int8_t* shift,
                                   int8_t* out_row);

TE_INLINE void te_dw_pairs_core(const te_dw_rows_params* p, const int8_t* input, const te_dw_pairs_dword* taps,
                                const int32_t* folded_bias, const int32_t* multiplier, const int8_t* shift,
                                int8_t* output, int8_t* ring, const int kh, const int sh, te_dw_pairs_row_fn row_fn) {
  const int c = p->channels;
  const long ring_row = (long)p->ring_width * c;
  const int8_t* rows[TE_DW_ROWS_MAX_K];
  te_dw_pairs_pad(p, ring);
  for (int b = 0; b < p->batches; ++b) {
    const int8_t* image = input + (long)b * p->in_h * p->in_w * c;
    int8_t* out_image = output + (long)b * p->out_h * p->out_w * c;
    int next_row = -p->pad_top;
    for (int oy = 0; oy < p->out_h; ++oy) {
      const int top = oy * sh - p->pad_top;
      const int last = top + (kh - 1) * p->dil_h;
      for (; next_row <= last; ++next_row) {
        te_dw_pairs_load(p, image, next_row, ring, (next_row + p->pad_top) % p->ring_rows);
      }
      for (int ky = 0; ky < kh; ++ky) {
        rows[ky] = ring + (long)((top + ky * p->dil_h + p->pad_top) % p->ring_rows) * ring_row;
      }
      row_fn(p, rows, taps, folded_bias, multiplier, shift, out_image + (long)oy * p->out_w * c);
    }
  }
}

/* model.c instantiates each specialisation it uses: filter size and strides as constants.
 * taps: the tap table (int16 pairs, see above); folded_bias = bias + input_offset * sum of
 * the filter over its taps; shift: int32. */
#define TE_DW_PAIRS_DEFINE(name, kh, kw, sh, sw)                                                                 \
  static TE_DSP_FN __attribute__((noinline)) void name##_row(                                                    \
      const te_dw_rows_params* p, const int8_t* const* rows, const te_dw_pairs_dword* taps,                      \
      const int32_t* folded_bias, const int32_t* multiplier, const int8_t* shift, int8_t* out_row) {            \
    te_dw_pairs_rows(p, rows, taps, folded_bias, multiplier, shift, out_row, kh, kw, sw);                        \
  }                                                                                                              \
  static void name(const te_dw_rows_params* p, const int8_t* input, const int16_t* taps,                         \
                   const int32_t* folded_bias, const int32_t* multiplier, const int8_t* shift, int8_t* output,   \
                   int8_t* ring) {                                                                               \
    te_dw_pairs_core(p, input, (const te_dw_pairs_dword*)(const void*)taps, folded_bias, multiplier, shift, output, \
                     ring, kh, sh, name##_row);                                                                  \
  }

#endif
