/* DEPTHWISE_CONV_2D with depth multiplier 1, row by row through a ring of padded input rows.
 *
 * The ring holds the (k_h - 1) * dil_h + 1 input rows the current output row needs, each
 * padded left and right with the input zero point (and whole zero-point rows above and
 * below the image). A pad tap then contributes (zero_point + input_offset) * w = 0, exactly
 * what TFLite's skipped tap contributes, so the inner loops need no bounds checks and the
 * input offset folds into the bias: acc = bias + input_offset * sum(w) + sum(x * w).
 *
 * Because every input row is copied into the ring before any output byte that overlaps it is
 * written, the output may be the input buffer itself (in-place depthwise, as in MCUNet): the
 * layer then needs max(input, output) plus the ring instead of input + output. The compiler
 * checks that ordering row by row before it aliases the two tensors.
 *
 * Only the specialisations a model uses are compiled: model.c instantiates each one with
 * TE_DW_ROWS_DEFINE(name, k_h, k_w, stride_h, stride_w), constants that let the compiler
 * unroll the tap loops and vectorise the channel loop. Pass 0 for any of them to read it
 * from the parameters at run time instead.
 *
 * TE_DW_ROWS_INT4_DEFINE instantiates the same loops for 4-bit weights packed two per byte
 * (te_int4.h) with an int8 shift table: the one difference is where a tap's weights come
 * from (te_weights_at: a pointer into the int8 filter, or the block unpacked into a
 * stack array), so the packed layer runs in place and with the same ring as its int8 twin.
 * `bits` is a constant of each instantiation; the int8 code is what it was without it.
 */
#ifndef TE_DEPTHWISE_ROWS_H
#define TE_DEPTHWISE_ROWS_H

#include <stdint.h>
#include <string.h>

#include "te_fixedpoint.h"
#include "te_int4.h"

typedef struct {
  int batches, in_h, in_w, channels, out_h, out_w;
  int k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
  int ring_rows, ring_width; /* ring: ring_rows x ring_width pixels x channels int8 */
  int32_t pad_value;         /* the input zero point */
  int32_t output_offset, act_min, act_max;
  int fast_requant; /* 1: te_requantize_rq is exact for every channel (DSP kernels only) */
} te_dw_rows_params;

#define TE_DW_ROWS_BLOCK 64
#define TE_DW_ROWS_MAX_K 16

/* The DSP code for every channel quad of one output row (see te_dw_quads_dsp). filter and
 * shift: int8 filter (bits 8) or packed int4 filter (bits 4), int8 shifts either way. */
typedef void (*te_dw_quads_fn)(const te_dw_rows_params* p, const int8_t* const* rows, const void* filter,
                               const int32_t* folded_bias, const int32_t* multiplier, const void* shift,
                               int8_t* out_row);

#ifdef TE_DSP
#include "arm/te_depthwise_rows_dsp.h" /* te_dw_rows_quads, TE_DW_QUADS_DEFINE, TE_DW_QUADS on Armv7E-M */
#else
/* Portable builds have no quad code: the channel loop of te_dw_rows_core does every channel. */
#define TE_DW_QUADS_DEFINE(name, kh, kw, sw, bits)
#define TE_DW_QUADS(name) ((te_dw_quads_fn)0)
#define te_dw_rows_quads(quads, p, rows, filter, folded_bias, multiplier, shift, out_row, c, kh, kw, dil_w) \
  ((void)(quads), 0)
#endif

/* The zero-point columns left and right of every ring slot, once per call: an image row
 * loaded later only overwrites the columns between them. */
static inline void te_dw_rows_pad(const te_dw_rows_params* p, int8_t* ring) {
  const int c = p->channels;
  const int8_t pad = (int8_t)p->pad_value;
  const int right = p->ring_width - p->pad_left - p->in_w;
  for (int slot = 0; slot < p->ring_rows; ++slot) {
    int8_t* dst = ring + (long)slot * p->ring_width * c;
    memset(dst, pad, (size_t)p->pad_left * c);
    if (right > 0) memset(dst + (long)(p->pad_left + p->in_w) * c, pad, (size_t)right * c);
  }
}

/* Fill ring slot `slot` with image row `row` (its pad columns hold the zero point already,
 * te_dw_rows_pad), or all zero points. */
static inline void te_dw_rows_load(const te_dw_rows_params* p, const int8_t* image, int row, int8_t* ring, int slot) {
  const int c = p->channels;
  int8_t* dst = ring + (long)slot * p->ring_width * c;
  if (row < 0 || row >= p->in_h) {
    memset(dst, (int8_t)p->pad_value, (size_t)p->ring_width * c);
    return;
  }
  memcpy(dst + (long)p->pad_left * c, image + (long)row * p->in_w * c, (size_t)p->in_w * c);
}

TE_INLINE void te_dw_rows_core(const te_dw_rows_params* p, const int8_t* input, const void* filter,
                               const int32_t* folded_bias, const int32_t* multiplier, const void* shift,
                               int8_t* output, int8_t* ring, const int kh, const int kw, const int sh,
                               const int sw, te_dw_quads_fn quads, const int bits) {
  const int c = p->channels;
  const long ring_row = (long)p->ring_width * c;
  const int dil_h = p->dil_h, dil_w = p->dil_w;
  int32_t acc[TE_DW_ROWS_BLOCK];
  int8_t unpacked[TE_DW_ROWS_BLOCK]; /* a tap's packed weights, for bits 4 */
  const int8_t* rows[TE_DW_ROWS_MAX_K];
  te_dw_rows_pad(p, ring);
  for (int b = 0; b < p->batches; ++b) {
    const int8_t* image = input + (long)b * p->in_h * p->in_w * c;
    int8_t* out_image = output + (long)b * p->out_h * p->out_w * c;
    int next_row = -p->pad_top;
    for (int oy = 0; oy < p->out_h; ++oy) {
      const int top = oy * sh - p->pad_top;
      const int last = top + (kh - 1) * dil_h;
      for (; next_row <= last; ++next_row) te_dw_rows_load(p, image, next_row, ring, (next_row + p->pad_top) % p->ring_rows);
      for (int ky = 0; ky < kh; ++ky) rows[ky] = ring + (long)((top + ky * dil_h + p->pad_top) % p->ring_rows) * ring_row;
      int8_t* out_row = out_image + (long)oy * p->out_w * c;
      /* the channels the loop below computes from: those the DSP quads leave, or all */
      const int first = te_dw_rows_quads(quads, p, rows, filter, folded_bias, multiplier, shift, out_row, c, kh, kw, dil_w);
      for (int ox = 0; ox < p->out_w && first < c; ++ox) {
        const long col = (long)ox * sw * c;
        int8_t* out = out_row + (long)ox * c;
        for (int c0 = first; c0 < c; c0 += TE_DW_ROWS_BLOCK) {
          const int n = c - c0 < TE_DW_ROWS_BLOCK ? c - c0 : TE_DW_ROWS_BLOCK;
          for (int j = 0; j < n; ++j) acc[j] = folded_bias[c0 + j];
          for (int ky = 0; ky < kh; ++ky) {
            const int8_t* row = rows[ky] + col + c0;
            const int8_t* w_row = (const int8_t*)filter + (long)ky * kw * c + c0; /* bits 8 */
            for (int kx = 0; kx < kw; ++kx) {
              const int8_t* x = row + (long)kx * dil_w * c;
              const int8_t* w = bits == 4 ? te_weights_at(filter, (long)(ky * kw + kx) * c + c0, n, unpacked, bits)
                                          : w_row + (long)kx * c;
              for (int j = 0; j < n && j < TE_DW_ROWS_BLOCK; ++j) acc[j] += (int16_t)x[j] * (int16_t)w[j];
            }
          }
          for (int j = 0; j < n; ++j) {
            const int32_t scaled =
                te_requantize_kernel(acc[j], multiplier[c0 + j], te_shift_at(shift, c0 + j, bits)) + p->output_offset;
            out[c0 + j] = (int8_t)te_clamp(scaled, p->act_min, p->act_max);
          }
        }
      }
    }
  }
}

/* filter: [k_h][k_w][channels]; folded_bias = bias + input_offset * sum over taps of filter. */
#define TE_DW_ROWS_DEFINE(name, kh, kw, sh, sw)                                                              \
  TE_DW_QUADS_DEFINE(name##_quads, kh, kw, sw, 8)                                                            \
  static TE_DSP_FN void name(const te_dw_rows_params* p, const int8_t* input, const int8_t* filter,           \
                             const int32_t* folded_bias, const int32_t* multiplier, const int8_t* shift,    \
                             int8_t* output, int8_t* ring) {                                                 \
    te_dw_rows_core(p, input, filter, folded_bias, multiplier, shift, output, ring, (kh) ? (kh) : p->k_h,      \
                    (kw) ? (kw) : p->k_w, (sh) ? (sh) : p->stride_h, (sw) ? (sw) : p->stride_w,              \
                    TE_DW_QUADS(name##_quads), 8);                                                           \
  }

/* The same with the filter packed two weights per byte (te_int4.h) and an int8 shift table. */
#define TE_DW_ROWS_INT4_DEFINE(name, kh, kw, sh, sw)                                                         \
  TE_DW_QUADS_DEFINE(name##_quads, kh, kw, sw, 4)                                                            \
  static TE_DSP_FN void name(const te_dw_rows_params* p, const int8_t* input, const uint8_t* filter,          \
                             const int32_t* folded_bias, const int32_t* multiplier, const int8_t* shift,     \
                             int8_t* output, int8_t* ring) {                                                 \
    te_dw_rows_core(p, input, filter, folded_bias, multiplier, shift, output, ring, (kh) ? (kh) : p->k_h,      \
                    (kw) ? (kw) : p->k_w, (sh) ? (sh) : p->stride_h, (sw) ? (sw) : p->stride_w,              \
                    TE_DW_QUADS(name##_quads), 4);                                                           \
  }

#endif
