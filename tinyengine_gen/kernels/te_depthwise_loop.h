/* The generic depthwise loop nest, one for int8 weights (te_depthwise_conv2d.c) and for 4-bit
 * weights packed two per byte (te_depthwise_int4.c): `bits` is a constant of each caller, and
 * the only thing it changes is where a tap's block of weights comes from (te_weights_at: a
 * pointer into the int8 filter, or the block unpacked onto the stack) and the width of the
 * shift table (int32, or int8 for the packed kernels).
 *
 * For each output pixel the output channels are processed in blocks of TE_DW_BLOCK with the
 * accumulators on the stack, so the innermost loops run over contiguous channels of the
 * input pixel and of the filter tap (and vectorise). Out-of-image taps are skipped, as in
 * TFLite's reference kernel. Accumulation is modulo 2^32 in uint32_t: the same result as
 * TFLite's int32 accumulator whenever that one does not overflow, and never undefined. */
#ifndef TE_DEPTHWISE_LOOP_H
#define TE_DEPTHWISE_LOOP_H

#include <stdint.h>

#include "te_depthwise_conv2d.h"
#include "te_fixedpoint.h"
#include "te_int4.h"

#define TE_DW_BLOCK 64

/* acc[j] += (input channel of output o0 + j) * wo[j] for one tap, any depth multiplier
 * (wo: the tap's weights of outputs o0 ..). */
static void te_dw_tap_generic(uint32_t* acc, const int8_t* in_px, const int8_t* wo, int o0, int count, int dm,
                              int32_t input_offset) {
  int ic = o0 / dm;
  int m = o0 - ic * dm;
  for (int j = 0; j < count; ++j) {
    acc[j] += (uint32_t)(((int32_t)in_px[ic] + input_offset) * (int32_t)wo[j]);
    if (++m == dm) {
      m = 0;
      ++ic;
    }
  }
}

/* filter: [k_h][k_w][out_c], int8 (bits 8) or packed (bits 4); shift: int32 (bits 8) or int8 (bits 4). */
TE_INLINE void te_depthwise_loop(const te_depthwise_conv2d_params* p, const int8_t* input, const void* filter,
                                 const int32_t* bias, const int32_t* multiplier, const void* shift, int8_t* output,
                                 const int bits) {
  const int in_c = p->in_c;
  const int out_c = p->out_c;
  const int dm = p->depth_multiplier;
  const int32_t input_offset = p->input_offset;
  uint32_t acc[TE_DW_BLOCK];
  for (int b = 0; b < p->batches; ++b) {
    const int8_t* in_batch = input + (long)b * p->in_h * p->in_w * in_c;
    for (int oy = 0; oy < p->out_h; ++oy) {
      const int y0 = oy * p->stride_h - p->pad_top;
      for (int ox = 0; ox < p->out_w; ++ox) {
        const int x0 = ox * p->stride_w - p->pad_left;
        int8_t* out = output + (((long)b * p->out_h + oy) * p->out_w + ox) * out_c;
        for (int o0 = 0; o0 < out_c; o0 += TE_DW_BLOCK) {
          const int count = out_c - o0 < TE_DW_BLOCK ? out_c - o0 : TE_DW_BLOCK;
          for (int j = 0; j < count; ++j) acc[j] = 0;
          for (int ky = 0; ky < p->k_h; ++ky) {
            const int iy = y0 + ky * p->dil_h;
            if (iy < 0 || iy >= p->in_h) continue;
            for (int kx = 0; kx < p->k_w; ++kx) {
              const int ix = x0 + kx * p->dil_w;
              if (ix < 0 || ix >= p->in_w) continue;
              const int8_t* in_px = in_batch + ((long)iy * p->in_w + ix) * in_c;
              int8_t unpacked[TE_DW_BLOCK]; /* the tap's block of packed weights (bits 4) */
              const int8_t* w = (const int8_t*)filter + ((long)ky * p->k_w + kx) * out_c; /* bits 8 */
              const int8_t* wo = bits == 4 ? te_weights_at(filter, ((long)ky * p->k_w + kx) * out_c + o0, count,
                                                           unpacked, bits)
                                           : w + o0;
              if (dm == 1) {
                const int8_t* x = in_px + o0;
                for (int j = 0; j < count; ++j) acc[j] += (uint32_t)(((int32_t)x[j] + input_offset) * (int32_t)wo[j]);
              } else {
                te_dw_tap_generic(acc, in_px, wo, o0, count, dm, input_offset);
              }
            }
          }
          for (int j = 0; j < count; ++j) {
            const int o = o0 + j;
            const int32_t total = (int32_t)(acc[j] + (uint32_t)bias[o]);
            const int32_t scaled = te_requantize(total, multiplier[o], te_shift_at(shift, o, bits)) + p->output_offset;
            out[o] = (int8_t)te_clamp(scaled, p->act_min, p->act_max);
          }
        }
      }
    }
  }
}

#endif
