/* DEPTHWISE_CONV_2D with depth multiplier 1, one channel at a time through a zero-point padded plane.
 *
 * For each channel the kernel copies that channel's whole input plane into the scratch
 * (padded with the input zero point around it, as te_depthwise_rows.h pads its ring: a pad
 * tap then contributes nothing and the input offset folds into the bias), then computes
 * all of that channel's outputs. As in MIT TinyEngine's in-place depthwise, the output may
 * be the input buffer itself: an output byte of channel ch lands where an input byte of
 * channel ch was (same channel count, offsets equal modulo the channel count), and that
 * channel is already in the plane; the other channels' bytes are untouched.
 *
 * Why planes: a channel's horizontally adjacent inputs are adjacent bytes, and so are its
 * taps (the filter is stored channel-major, [channels][k][k], transposed at compile time,
 * plus TE_DW_PLANE_SLACK zero bytes). A word of four int8, widened by SXTB16 into (x0, x2)
 * and (x1, x3), feeds SMLAD directly for inputs and weights alike: two taps a
 * multiply-accumulate. The channel's weights and requantisation constants are set up once
 * for all its outputs. The scratch is plane_rows x plane_width + TE_DW_PLANE_SLACK bytes
 * (word loads past the last needed byte stay inside it); the plan takes this kernel only
 * where that is no more than te_depthwise_rows.h's ring.
 *
 * Square 3x3/5x5/7x7 filters, no dilation, equal strides 1 or 2 (the plan checks): model.c
 * instantiates TE_DW_PLANE_DEFINE(name, k, stride, full) (int8 weights) or
 * TE_DW_PLANE_INT4_DEFINE (4-bit weights packed two per byte) once per size, stride and clamp
 * (full: the int8 range, SSAT; else the layer's act_min/act_max). te_dw_rows_params'
 * ring_rows and ring_width are the plane's rows and width.
 */
#ifndef TE_DEPTHWISE_PLANE_H
#define TE_DEPTHWISE_PLANE_H

#include <stdint.h>
#include <string.h>

#include "te_depthwise_rows.h" /* te_dw_rows_params */
#include "te_fixedpoint.h"
#include "te_int4.h"

#define TE_DW_PLANE_SLACK 4

/* Channel ch of the image into the plane's interior (the border holds the zero point from
 * the memset at the start of the call; the interior is rewritten for every channel). */
static inline void te_dw_plane_load(const te_dw_rows_params* p, const int8_t* image, int ch, int8_t* plane) {
  const int c = p->channels, w = p->in_w, pw = p->ring_width;
  const int rows = p->in_h < p->ring_rows - p->pad_top ? p->in_h : p->ring_rows - p->pad_top;
  const long c2 = 2L * c, c3 = 3L * c, c4 = 4L * c;
  const uint8_t* src = (const uint8_t*)image + ch;
  int8_t* dst = plane + (long)p->pad_top * pw + p->pad_left;
  for (int y = 0; y < rows; ++y, dst += pw) {
    int x = 0;
    for (; x + 4 <= w; x += 4, src += c4) { /* four bytes a store */
      const uint32_t v = (uint32_t)src[0] | ((uint32_t)src[c] << 8) | ((uint32_t)src[c2] << 16) | ((uint32_t)src[c3] << 24);
      memcpy(dst + x, &v, 4);
    }
    for (; x < w; ++x, src += c) dst[x] = (int8_t)*src;
  }
}

/* The portable channel: plain loops (also the DSP build's path for parameters the
 * instantiation was not made for, see TE_DW_PLANE_CHANNEL_CALL). */
TE_INLINE void te_dw_plane_channel_c(const te_dw_rows_params* p, const int8_t* plane, const int8_t* f, int32_t bias,
                                     int32_t multiplier, int32_t shift, int8_t* out, const int k, const int s) {
  const int c = p->channels, pw = p->ring_width;
  for (int oy = 0; oy < p->out_h; ++oy) {
    for (int ox = 0; ox < p->out_w; ++ox, out += c) {
      int32_t acc = bias;
      for (int ky = 0; ky < k; ++ky) {
        const int8_t* x = plane + (long)(oy * s + ky) * pw + (long)ox * s;
        for (int kx = 0; kx < k; ++kx) acc += (int16_t)x[kx] * (int16_t)f[ky * k + kx];
      }
      const int32_t scaled = te_requantize_kernel(acc, multiplier, shift) + p->output_offset;
      *out = (int8_t)te_clamp(scaled, p->act_min, p->act_max);
    }
  }
}

#ifdef TE_DSP
/* PKHBT: lo's bottom half, hi's top half (not in GCC's arm_acle.h). */
TE_INLINE uint32_t te_dw_plane_pkhbt(uint32_t lo, uint32_t hi) {
  uint32_t r;
  __asm__("pkhbt %0, %1, %2" : "=r"(r) : "r"(lo), "r"(hi));
  return r;
}

/* The per-channel constants of the requantisation (te_requantize_rq where `fast`). */
typedef struct {
  int32_t bias, multiplier, shift, round;
} te_dw_plane_channel;

TE_INLINE int8_t te_dw_plane_out(int32_t acc, const te_dw_plane_channel* k, const te_dw_rows_params* p, const int fast,
                              const int full) {
  const int32_t v = fast ? te_requantize_rq(acc, k->multiplier, k->round, k->shift)
                         : te_requantize_fast(acc, k->multiplier, k->shift) + p->output_offset;
  return te_out8(v, full, p->act_min, p->act_max);
}

/* One output pixel's taps of one filter row: x the pixel's first input, we/wo the row's
 * weight pairs per group of four taps (we (w0, w2), wo (w1, w3)). */
TE_INLINE int32_t te_dw_plane_taps1(const int8_t* x, const uint32_t* we, const uint32_t* wo, int32_t a, const int kw) {
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
#define TE_DW_PLANE_TAPS2(x, we, wo, a, b, kw)                                                 \
  do {                                                                                      \
    uint32_t e_ = te_sxtb16_even(te_load_u32(x)), o_ = te_sxtb16_odd(te_load_u32(x));       \
    for (int g_ = 0; g_ + 4 <= (kw); g_ += 4) {                                             \
      const uint32_t u_ = te_load_u32((x) + g_ + 4);                                        \
      const uint32_t en_ = te_sxtb16_even(u_), on_ = te_sxtb16_odd(u_);                     \
      a = te_smlad(e_, (we)[g_ / 4], a);                                                    \
      a = te_smlad(o_, (wo)[g_ / 4], a);                                                    \
      b = te_smlad(o_, (we)[g_ / 4], b);                                                    \
      b = __smladx((int32_t)te_dw_plane_pkhbt(en_, e_), (int32_t)(wo)[g_ / 4], b);        \
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


#define TE_DW_PLANE_GROUPS(kw) (((kw) + 3) / 4)

/* All outputs of one channel (fast requantisation; the full int8 range where `full`, else
 * the layer's clamp): its weight pairs and constants once, then row by row four pixels a step (stride 1) or two (stride 2). */
TE_INLINE void te_dw_plane_channel_dsp(const te_dw_rows_params* p, const int8_t* plane, const int8_t* f,
                                       const te_dw_plane_channel* kc, int8_t* out, const int kh, const int kw,
                                       const int sw, const int full) {
  const int c = p->channels, pw = p->ring_width, out_w = p->out_w, out_h = p->out_h;
  const int fast = 1;
  uint32_t we[7][TE_DW_PLANE_GROUPS(7)], wo[7][TE_DW_PLANE_GROUPS(7)];
  for (int ky = 0; ky < kh; ++ky) {
    for (int g = 0; g < TE_DW_PLANE_GROUPS(kw); ++g) {
      const uint32_t u = te_load_u32(f + ky * kw + 4 * g);
      we[ky][g] = te_sxtb16_even(u);
      wo[ky][g] = te_sxtb16_odd(u);
    }
  }
  const te_dw_plane_channel k = *kc;
  for (int oy = 0; oy < out_h; ++oy) {
    const int8_t* r[7];
    for (int ky = 0; ky < kh; ++ky) r[ky] = plane + (long)(oy * sw + ky) * pw;
    int ox = 0;
    for (; sw == 1 && ox + 4 <= out_w; ox += 4, out += 4 * c) {
      int32_t a0 = k.bias, a1 = k.bias, a2 = k.bias, a3 = k.bias;
      for (int ky = 0; ky < kh; ++ky) {
        TE_DW_PLANE_TAPS2(r[ky] + ox, we[ky], wo[ky], a0, a1, kw);
        TE_DW_PLANE_TAPS2(r[ky] + ox + 2, we[ky], wo[ky], a2, a3, kw);
      }
      const int8_t v0 = te_dw_plane_out(a0, &k, p, fast, full), v1 = te_dw_plane_out(a1, &k, p, fast, full);
      const int8_t v2 = te_dw_plane_out(a2, &k, p, fast, full), v3 = te_dw_plane_out(a3, &k, p, fast, full);
      out[0] = v0;
      out[c] = v1;
      out[2 * c] = v2;
      out[3 * c] = v3;
    }
    for (; sw == 1 && ox + 2 <= out_w; ox += 2, out += 2 * c) {
      int32_t a = k.bias, b = k.bias;
      for (int ky = 0; ky < kh; ++ky) TE_DW_PLANE_TAPS2(r[ky] + ox, we[ky], wo[ky], a, b, kw);
      const int8_t va = te_dw_plane_out(a, &k, p, fast, full), vb = te_dw_plane_out(b, &k, p, fast, full);
      out[0] = va;
      out[c] = vb;
    }
    for (; sw == 2 && ox + 2 <= out_w; ox += 2, out += 2 * c) {
      int32_t a = k.bias, b = k.bias;
      for (int ky = 0; ky < kh; ++ky) {
        a = te_dw_plane_taps1(r[ky] + 2 * ox, we[ky], wo[ky], a, kw);
        b = te_dw_plane_taps1(r[ky] + 2 * ox + 2, we[ky], wo[ky], b, kw);
      }
      const int8_t va = te_dw_plane_out(a, &k, p, fast, full), vb = te_dw_plane_out(b, &k, p, fast, full);
      out[0] = va;
      out[c] = vb;
    }
    for (; ox < out_w; ++ox, out += c) {
      int32_t a = k.bias;
      for (int ky = 0; ky < kh; ++ky) a = te_dw_plane_taps1(r[ky] + (long)ox * sw, we[ky], wo[ky], a, kw);
      *out = te_dw_plane_out(a, &k, p, fast, full);
    }
  }
}

/* The DSP channel code of one instantiation: a function of its own, called once per
 * channel, so that its loops see the filter size, stride and clamp as constants. */
#define TE_DW_PLANE_CHANNEL_DEFINE(name, k, s, full)                                                          \
  static TE_DSP_FN __attribute__((noinline)) void name##_channel(const te_dw_rows_params* p,                  \
                                                                 const int8_t* plane, const int8_t* f,        \
                                                                 const te_dw_plane_channel* kc, int8_t* out) { \
    te_dw_plane_channel_dsp(p, plane, f, kc, out, k, k, s, full);                                             \
  }
/* The DSP code where the layer's parameters are those the instantiation was made for (the
 * plan chooses it for fast-requantised layers, `full` where the clamp is the int8 range);
 * the portable loops otherwise. */
#define TE_DW_PLANE_CHANNEL_CALL(name, p, plane, f, bias_, mult_, shift_, out, k, s, full)                    \
  do {                                                                                                        \
    if ((p)->fast_requant && (!(full) || ((p)->act_min == -128 && (p)->act_max == 127))) {                    \
      te_dw_plane_channel kc_;                                                                                \
      kc_.bias = (bias_);                                                                                     \
      kc_.multiplier = (mult_);                                                                               \
      kc_.shift = -(shift_);                                                                                  \
      kc_.round = te_rq_round(-(shift_), (p)->output_offset);                                                 \
      name##_channel(p, plane, f, &kc_, out);                                                                 \
    } else {                                                                                                  \
      te_dw_plane_channel_c(p, plane, f, bias_, mult_, shift_, out, k, s);                                    \
    }                                                                                                         \
  } while (0)
#else
#define TE_DW_PLANE_CHANNEL_DEFINE(name, k, s, full)
#define TE_DW_PLANE_CHANNEL_CALL(name, p, plane, f, bias, multiplier, shift, out, k, s, full) \
  te_dw_plane_channel_c(p, plane, f, bias, multiplier, shift, out, k, s)
#endif

/* The loops of one call: every batch, every channel's plane, that channel's outputs;
 * channel_filter names channel ch's [k][k] taps (followed by TE_DW_PLANE_SLACK zeros). */
#define TE_DW_PLANE_LOOPS(name, k, s, full, channel_filter)                                                   \
  const int c = p->channels;                                                                                  \
  for (int b = 0; b < p->batches; ++b) {                                                                      \
    const int8_t* image = input + (long)b * p->in_h * p->in_w * c;                                            \
    int8_t* out = output + (long)b * p->out_h * p->out_w * c;                                                 \
    memset(plane, (int8_t)p->pad_value, (size_t)p->ring_rows * p->ring_width);                               \
    for (int ch = 0; ch < c; ++ch) {                                                                          \
      te_dw_plane_load(p, image, ch, plane);                                                                  \
      TE_DW_PLANE_CHANNEL_CALL(name, p, plane, channel_filter, folded_bias[ch], multiplier[ch],                \
                               (int32_t)shift[ch], out + ch, k, s, full);                                     \
    }                                                                                                         \
  }

/* filter: [channels][k][k] int8 + TE_DW_PLANE_SLACK zeros; shift: int8; folded_bias = bias +
 * input_offset * sum of the channel's taps; plane: ring_rows * ring_width + TE_DW_PLANE_SLACK bytes. One
 * function per size and stride (noclone: GCC would clone it per layer for its constant params). */
#define TE_DW_PLANE_DEFINE(name, k, s, full)                                                                  \
  TE_DW_PLANE_CHANNEL_DEFINE(name, k, s, full)                                                                \
  static TE_DSP_FN __attribute__((noinline, noclone)) void name(                                              \
      const te_dw_rows_params* p, const int8_t* input, const int8_t* filter, const int32_t* folded_bias,       \
      const int32_t* multiplier, const int8_t* shift, int8_t* output, int8_t* plane) {                        \
    TE_DW_PLANE_LOOPS(name, k, s, full, filter + (long)ch * (k) * (k))                                        \
  }

/* Channel ch's k x k taps of a channel-major filter packed two per byte (te_int4.h order),
 * unpacked into taps (whose TE_DW_PLANE_SLACK bytes after them stay zero). */
static inline const int8_t* te_dw_plane_unpack4(const uint8_t* filter, long first, int n, int8_t* taps) {
  for (int i = 0; i < n; ++i) taps[i] = (int8_t)te_int4_at(filter, first + i);
  return taps;
}

/* The same with 4-bit weights: filter is [channels][k][k] packed two per byte (no slack);
 * each channel's taps are unpacked once, for all of that channel's outputs, so the loops
 * and the plane scratch are the int8 kernel's. */
#define TE_DW_PLANE_INT4_DEFINE(name, k, s, full)                                                             \
  TE_DW_PLANE_CHANNEL_DEFINE(name, k, s, full)                                                                \
  static TE_DSP_FN __attribute__((noinline, noclone)) void name(                                              \
      const te_dw_rows_params* p, const int8_t* input, const uint8_t* filter, const int32_t* folded_bias,      \
      const int32_t* multiplier, const int8_t* shift, int8_t* output, int8_t* plane) {                        \
    int8_t taps[(k) * (k) + TE_DW_PLANE_SLACK];                                                               \
    memset(taps, 0, sizeof taps);                                                                             \
    TE_DW_PLANE_LOOPS(name, k, s, full, te_dw_plane_unpack4(filter, (long)ch * (k) * (k), (k) * (k), taps))   \
  }

#endif
