/* DEPTHWISE_CONV_2D with depth multiplier 1 through a channel-major row ring.
 *
 * te_depthwise_rows.h's ring and order (zero-point padded input rows, the input offset
 * folded into the bias, each input row copied into the ring before any output byte that
 * overlaps it is written: the layer may run in place), with two differences that let the
 * DSP code multiply-accumulate two taps of one channel per instruction (SMLAD):
 *   - a ring slot holds its row channel by channel: channel ch's ring_width padded pixels
 *     are adjacent bytes (slot + ch * ring_width), transposed from the HWC image row as it
 *     is loaded; the ring is as large as te_depthwise_rows.h's plus TE_DW_CM_SLACK bytes
 *     (word loads past the last needed byte of the last channel row stay inside it);
 *   - the filter is channel-major, [channels][k_h][k_w] int8 (transposed at compile time,
 *     the same bytes plus TE_DW_CM_SLACK trailing zeros for the same word loads), so a
 *     channel's row of taps is also adjacent bytes.
 * A word of four adjacent int8 (inputs or taps) widened by SXTB16 gives the pairs
 * (x0, x2) and (x1, x3) that SMLAD consumes directly, for inputs and weights alike.
 *
 * Only int8 weights, square 3x3/5x5/7x7 filters, no dilation, stride 1 or 2 (the plan
 * checks): model.c instantiates TE_DW_CM_DEFINE(name, k, stride) per size and stride, one
 * function each (noclone: GCC would otherwise clone it per layer for its constant params).
 * The portable build runs the same ring with plain loops (bit-exact, slow).
 */
#ifndef TE_DEPTHWISE_CM_H
#define TE_DEPTHWISE_CM_H

#include <stdint.h>
#include <string.h>

#include "te_depthwise_rows.h" /* te_dw_rows_params */
#include "te_fixedpoint.h"

#define TE_DW_CM_SLACK 4

/* Zero-point columns left and right of every channel row of every slot, once per call. */
static inline void te_dw_cm_pad(const te_dw_rows_params* p, int8_t* ring) {
  const int c = p->channels, rw = p->ring_width;
  const int8_t pad = (int8_t)p->pad_value;
  for (int slot = 0; slot < p->ring_rows; ++slot) {
    int8_t* dst = ring + (long)slot * rw * c;
    for (int ch = 0; ch < c; ++ch, dst += rw) { /* a few bytes each: stores, not calls */
      for (int x = 0; x < p->pad_left; ++x) dst[x] = pad;
      for (int x = p->pad_left + p->in_w; x < rw; ++x) dst[x] = pad;
    }
  }
}

#ifdef TE_DSP
/* PKHBT / PKHTB / UXTB16 ROR #8 (not in GCC's arm_acle.h). */
TE_INLINE uint32_t te_dw_cm_pkhbt(uint32_t lo, uint32_t hi, const int lsl) {
  uint32_t r;
  if (lsl) __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(lo), "r"(hi));
  else __asm__("pkhbt %0, %1, %2" : "=r"(r) : "r"(lo), "r"(hi));
  return r;
}
TE_INLINE uint32_t te_dw_cm_pkhtb_asr16(uint32_t hi, uint32_t lo) {
  uint32_t r;
  __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(hi), "r"(lo));
  return r;
}
TE_INLINE uint32_t te_dw_cm_uxtb16_odd(uint32_t v) {
  uint32_t r;
  __asm__("uxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
  return r;
}

/* Four pixels of four channels: rows a..d (pixels) of four bytes (channels) become four
 * words of one channel each, stored at dst, dst + rw, dst + 2 rw, dst + 3 rw. */
TE_INLINE void te_dw_cm_transpose4(uint32_t a, uint32_t b, uint32_t c, uint32_t d, int8_t* dst, int rw) {
  const uint32_t ab02 = __uxtb16(a) | (__uxtb16(b) << 8); /* a0 b0 a2 b2 */
  const uint32_t ab13 = te_dw_cm_uxtb16_odd(a) | (te_dw_cm_uxtb16_odd(b) << 8); /* a1 b1 a3 b3 */
  const uint32_t cd02 = __uxtb16(c) | (__uxtb16(d) << 8);
  const uint32_t cd13 = te_dw_cm_uxtb16_odd(c) | (te_dw_cm_uxtb16_odd(d) << 8);
  te_store_u32(dst, te_dw_cm_pkhbt(ab02, cd02, 1));
  te_store_u32(dst + rw, te_dw_cm_pkhbt(ab13, cd13, 1));
  te_store_u32(dst + 2 * rw, te_dw_cm_pkhtb_asr16(cd02, ab02));
  te_store_u32(dst + 3 * rw, te_dw_cm_pkhtb_asr16(cd13, ab13));
}
#endif

/* Fill ring slot `slot` with image row `row` transposed (its pad columns hold the zero
 * point already, te_dw_cm_pad), or all zero points. */
static inline void te_dw_cm_load(const te_dw_rows_params* p, const int8_t* image, int row, int8_t* ring, int slot) {
  const int c = p->channels, rw = p->ring_width, w = p->in_w;
  int8_t* dst = ring + (long)slot * rw * c;
  if (row < 0 || row >= p->in_h) {
    memset(dst, (int8_t)p->pad_value, (size_t)rw * c);
    return;
  }
  const int8_t* src = image + (long)row * w * c;
  dst += p->pad_left;
  int ch = 0;
#ifdef TE_DSP
  for (; ch + 4 <= c; ch += 4, dst += 4 * rw) {
    const int8_t* s = src + ch;
    int x = 0;
    for (; x + 4 <= w; x += 4, s += 4 * c) {
      te_dw_cm_transpose4(te_load_u32(s), te_load_u32(s + c), te_load_u32(s + 2 * c), te_load_u32(s + 3 * c), dst + x, rw);
    }
    for (; x < w; ++x, s += c) {
      const uint32_t v = te_load_u32(s);
      dst[x] = (int8_t)v;
      dst[rw + x] = (int8_t)(v >> 8);
      dst[2 * rw + x] = (int8_t)(v >> 16);
      dst[3 * rw + x] = (int8_t)(v >> 24);
    }
  }
#endif
  for (; ch < c; ++ch, dst += rw) {
    for (int x = 0; x < w; ++x) dst[x] = src[(long)x * c + ch];
  }
}

/* The arguments of a row function (te_dw_cm_row_fn). */
#define TE_DW_CM_ROW_PARAMS                                                                                  \
  const te_dw_rows_params *p, const int8_t *const *rows, const int8_t *filter, const int32_t *folded_bias,    \
      const int32_t *multiplier, const int32_t *shift, int8_t *out_row
typedef void (*te_dw_cm_row_fn)(TE_DW_CM_ROW_PARAMS);

#ifdef TE_DSP
/* The per-channel constants of the requantisation (te_requantize_rq where `fast`). */
typedef struct {
  int32_t bias, multiplier, shift, round;
} te_dw_cm_channel;

TE_INLINE int8_t te_dw_cm_out(int32_t acc, const te_dw_cm_channel* k, const te_dw_rows_params* p, const int fast,
                              const int full) {
  const int32_t v = fast ? te_requantize_rq(acc, k->multiplier, k->round, k->shift)
                         : te_requantize_fast(acc, k->multiplier, k->shift) + p->output_offset;
  return te_out8(v, full, p->act_min, p->act_max);
}

/* One output pixel's taps of one filter row: x the pixel's first input, we/wo the row's
 * weight pairs per group of four taps (we (w0, w2), wo (w1, w3)). */
TE_INLINE int32_t te_dw_cm_taps1(const int8_t* x, const uint32_t* we, const uint32_t* wo, int32_t a, const int kw) {
  for (int g = 0; g + 4 <= kw; g += 4) {
    const uint32_t u = te_load_u32(x + g);
    a = te_smlad(te_sxtb16_even(u), we[g / 4], a);
    a = te_smlad(te_sxtb16_odd(u), wo[g / 4], a);
  }
  const int g = kw & ~3, r = kw & 3;
  if (r) {
    const uint32_t u = te_load_u32(x + g);
    const int32_t e = (int32_t)te_sxtb16_even(u), o = (int32_t)te_sxtb16_odd(u);
    if (r == 3) a = te_smlad((uint32_t)e, we[g / 4], a);
    else a = __smlabb(e, (int32_t)we[g / 4], a);
    if (r >= 2) a = __smlabb(o, (int32_t)wo[g / 4], a);
  }
  return a;
}

/* Two adjacent output pixels' taps of one filter row (stride 1): x the first pixel's first input. */
#define TE_DW_CM_TAPS2(x, we, wo, a, b, kw)                                                 \
  do {                                                                                      \
    uint32_t e_ = te_sxtb16_even(te_load_u32(x)), o_ = te_sxtb16_odd(te_load_u32(x));       \
    for (int g_ = 0; g_ + 4 <= (kw); g_ += 4) {                                             \
      const uint32_t u_ = te_load_u32((x) + g_ + 4);                                        \
      const uint32_t en_ = te_sxtb16_even(u_), on_ = te_sxtb16_odd(u_);                     \
      a = te_smlad(e_, (we)[g_ / 4], a);                                                    \
      a = te_smlad(o_, (wo)[g_ / 4], a);                                                    \
      b = te_smlad(o_, (we)[g_ / 4], b);                                                    \
      b = __smladx((int32_t)te_dw_cm_pkhbt(en_, e_, 0), (int32_t)(wo)[g_ / 4], b);        \
      e_ = en_;                                                                             \
      o_ = on_;                                                                             \
    }                                                                                       \
    {                                                                                       \
      const int g_ = (kw) & ~3, r_ = (kw) & 3;                                              \
      if (r_ == 3) {                                                                        \
        a = te_smlad(e_, (we)[g_ / 4], a);                                                  \
        a = __smlabb((int32_t)o_, (int32_t)(wo)[g_ / 4], a);                                \
        b = te_smlad(o_, (we)[g_ / 4], b);                                                  \
        b = __smlatb((int32_t)e_, (int32_t)(wo)[g_ / 4], b);                                \
      } else if (r_ == 2) {                                                                 \
        a = __smlabb((int32_t)e_, (int32_t)(we)[g_ / 4], a);                                \
        a = __smlabb((int32_t)o_, (int32_t)(wo)[g_ / 4], a);                                \
        b = __smlabb((int32_t)o_, (int32_t)(we)[g_ / 4], b);                                \
        b = __smlatb((int32_t)e_, (int32_t)(wo)[g_ / 4], b);                                \
      } else if (r_ == 1) {                                                                 \
        a = __smlabb((int32_t)e_, (int32_t)(we)[g_ / 4], a);                                \
        b = __smlabb((int32_t)o_, (int32_t)(we)[g_ / 4], b);                                \
      }                                                                                     \
    }                                                                                       \
  } while (0)

#define TE_DW_CM_GROUPS(kw) (((kw) + 3) / 4)

/* Every channel of output row `out_row`: per channel, its weight pairs in registers, then
 * its pixels (pairs where the stride is 1). */
TE_INLINE void te_dw_cm_row_dsp(const te_dw_rows_params* p, const int8_t* const* rows, const int8_t* filter,
                                const int32_t* folded_bias, const int32_t* multiplier, const int32_t* shift,
                                int8_t* out_row, const int kh, const int kw, const int sw, const int fast,
                                const int full) {
  const int c = p->channels, rw = p->ring_width, out_w = p->out_w;
  for (int ch = 0; ch < c; ++ch) {
    uint32_t we[7][TE_DW_CM_GROUPS(7)], wo[7][TE_DW_CM_GROUPS(7)];
    const int8_t* f = filter + (long)ch * kh * kw;
    for (int ky = 0; ky < kh; ++ky) {
      for (int g = 0; g < TE_DW_CM_GROUPS(kw); ++g) {
        const uint32_t u = te_load_u32(f + ky * kw + 4 * g);
        we[ky][g] = te_sxtb16_even(u);
        wo[ky][g] = te_sxtb16_odd(u);
      }
    }
    te_dw_cm_channel k;
    k.bias = folded_bias[ch];
    k.multiplier = multiplier[ch];
    k.shift = fast ? -shift[ch] : shift[ch];
    k.round = fast ? te_rq_round(-shift[ch], p->output_offset) : 0;
    const long base = (long)ch * rw;
    const int8_t* r[7]; /* the channel's rows (locals: an int8 store may alias rows[]) */
    for (int ky = 0; ky < kh; ++ky) r[ky] = rows[ky] + base;
    int8_t* out = out_row + ch;
    int ox = 0;
    /* Stride 1: four pixels a step, two per word of inputs (TE_DW_CM_TAPS2), then a pair. */
    for (; sw == 1 && ox + 4 <= out_w; ox += 4, out += 4 * c) {
      int32_t a0 = k.bias, a1 = k.bias, a2 = k.bias, a3 = k.bias;
      for (int ky = 0; ky < kh; ++ky) {
        TE_DW_CM_TAPS2(r[ky] + ox, we[ky], wo[ky], a0, a1, kw);
        TE_DW_CM_TAPS2(r[ky] + ox + 2, we[ky], wo[ky], a2, a3, kw);
      }
      const int8_t v0 = te_dw_cm_out(a0, &k, p, fast, full), v1 = te_dw_cm_out(a1, &k, p, fast, full);
      const int8_t v2 = te_dw_cm_out(a2, &k, p, fast, full), v3 = te_dw_cm_out(a3, &k, p, fast, full);
      out[0] = v0;
      out[c] = v1;
      out[2 * c] = v2;
      out[3 * c] = v3;
    }
    for (; sw == 1 && ox + 2 <= out_w; ox += 2, out += 2 * c) {
      int32_t a = k.bias, b = k.bias;
      for (int ky = 0; ky < kh; ++ky) TE_DW_CM_TAPS2(r[ky] + ox, we[ky], wo[ky], a, b, kw);
      const int8_t va = te_dw_cm_out(a, &k, p, fast, full), vb = te_dw_cm_out(b, &k, p, fast, full);
      out[0] = va;
      out[c] = vb;
    }
    /* Stride 2: two pixels a step. */
    for (; sw == 2 && ox + 2 <= out_w; ox += 2, out += 2 * c) {
      int32_t a = k.bias, b = k.bias;
      for (int ky = 0; ky < kh; ++ky) {
        a = te_dw_cm_taps1(r[ky] + 2 * ox, we[ky], wo[ky], a, kw);
        b = te_dw_cm_taps1(r[ky] + 2 * ox + 2, we[ky], wo[ky], b, kw);
      }
      const int8_t va = te_dw_cm_out(a, &k, p, fast, full), vb = te_dw_cm_out(b, &k, p, fast, full);
      out[0] = va;
      out[c] = vb;
    }
    for (; ox < out_w; ++ox, out += c) {
      int32_t a = k.bias;
      for (int ky = 0; ky < kh; ++ky) a = te_dw_cm_taps1(r[ky] + (long)ox * sw, we[ky], wo[ky], a, kw);
      *out = te_dw_cm_out(a, &k, p, fast, full);
    }
  }
}

/* The row functions of one instantiation (fast requantisation and full int8 range, fast
 * only, neither): each a function of its own, so that its loops see constants. */
#define TE_DW_CM_ROWS_DEFINE(name, k, s)                                                                      \
  static TE_DSP_FN __attribute__((noinline)) void name##_row_ff(TE_DW_CM_ROW_PARAMS) {                        \
    te_dw_cm_row_dsp(p, rows, filter, folded_bias, multiplier, shift, out_row, k, k, s, 1, 1);                \
  }                                                                                                           \
  static TE_DSP_FN __attribute__((noinline)) void name##_row_f(TE_DW_CM_ROW_PARAMS) {                         \
    te_dw_cm_row_dsp(p, rows, filter, folded_bias, multiplier, shift, out_row, k, k, s, 1, 0);                \
  }                                                                                                           \
  static TE_DSP_FN __attribute__((noinline)) void name##_row(TE_DW_CM_ROW_PARAMS) {                           \
    te_dw_cm_row_dsp(p, rows, filter, folded_bias, multiplier, shift, out_row, k, k, s, 0, 0);                \
  }
#define TE_DW_CM_ROW_FNS(name) name##_row_ff, name##_row_f, name##_row
#else
/* Portable: the same sums in plain loops. */
TE_INLINE void te_dw_cm_row_c(const te_dw_rows_params* p, const int8_t* const* rows, const int8_t* filter,
                              const int32_t* folded_bias, const int32_t* multiplier, const int32_t* shift,
                              int8_t* out_row, const int kh, const int kw, const int sw) {
  const int c = p->channels, rw = p->ring_width;
  for (int ch = 0; ch < c; ++ch) {
    const int8_t* f = filter + (long)ch * kh * kw;
    for (int ox = 0; ox < p->out_w; ++ox) {
      int32_t acc = folded_bias[ch];
      for (int ky = 0; ky < kh; ++ky) {
        const int8_t* x = rows[ky] + (long)ch * rw + (long)ox * sw;
        for (int kx = 0; kx < kw; ++kx) acc += (int16_t)x[kx] * (int16_t)f[ky * kw + kx];
      }
      const int32_t scaled = te_requantize_kernel(acc, multiplier[ch], shift[ch]) + p->output_offset;
      out_row[(long)ox * c + ch] = (int8_t)te_clamp(scaled, p->act_min, p->act_max);
    }
  }
}
#define TE_DW_CM_ROWS_DEFINE(name, k, s)                                                                      \
  static void name##_row(TE_DW_CM_ROW_PARAMS) {                                                               \
    te_dw_cm_row_c(p, rows, filter, folded_bias, multiplier, shift, out_row, k, k, s);                        \
  }
#define TE_DW_CM_ROW_FNS(name) name##_row, name##_row, name##_row
#endif

TE_INLINE void te_dw_cm_core(const te_dw_rows_params* p, const int8_t* input, const int8_t* filter,
                             const int32_t* folded_bias, const int32_t* multiplier, const int32_t* shift,
                             int8_t* output, int8_t* ring, const int k, const int s, te_dw_cm_row_fn row_ff,
                             te_dw_cm_row_fn row_f, te_dw_cm_row_fn row_0) {
  /* row_ff: fast requantisation and the full int8 range; row_f: fast only; row_0: neither
   * (constants here: direct calls, which the stack analysis can bound) */
  const int fast = p->fast_requant, full = p->act_min == -128 && p->act_max == 127;
  const int c = p->channels;
  const long ring_row = (long)p->ring_width * c;
  const int8_t* rows[7];
  te_dw_cm_pad(p, ring);
  for (int b = 0; b < p->batches; ++b) {
    const int8_t* image = input + (long)b * p->in_h * p->in_w * c;
    int8_t* out_image = output + (long)b * p->out_h * p->out_w * c;
    int next_row = -p->pad_top;
    for (int oy = 0; oy < p->out_h; ++oy) {
      const int top = oy * s - p->pad_top;
      for (; next_row <= top + k - 1; ++next_row) te_dw_cm_load(p, image, next_row, ring, (next_row + p->pad_top) % p->ring_rows);
      for (int ky = 0; ky < k; ++ky) rows[ky] = ring + (long)((top + ky + p->pad_top) % p->ring_rows) * ring_row;
      int8_t* out_row = out_image + (long)oy * p->out_w * c;
      if (fast && full) row_ff(p, rows, filter, folded_bias, multiplier, shift, out_row);
      else if (fast) row_f(p, rows, filter, folded_bias, multiplier, shift, out_row);
      else row_0(p, rows, filter, folded_bias, multiplier, shift, out_row);
    }
  }
}

/* filter: [channels][k][k] int8 + TE_DW_CM_SLACK zeros; folded_bias = bias + input_offset * sum of the
 * channel's taps; ring: ring_rows * ring_width * channels + TE_DW_CM_SLACK bytes. */
#define TE_DW_CM_DEFINE(name, k, s)                                                                         \
  TE_DW_CM_ROWS_DEFINE(name, k, s)                                                                          \
  static TE_DSP_FN_COPIES __attribute__((noinline, noclone)) void name(const te_dw_rows_params* p, const int8_t* input, const int8_t* filter,          \
                             const int32_t* folded_bias, const int32_t* multiplier, const int32_t* shift,   \
                             int8_t* output, int8_t* ring) {                                                \
    te_dw_cm_core(p, input, filter, folded_bias, multiplier, shift, output, ring, k, s,                     \
                  TE_DW_CM_ROW_FNS(name));                                                            \
  }

#endif
