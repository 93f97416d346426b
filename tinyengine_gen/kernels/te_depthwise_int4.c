/* DEPTHWISE_CONV_2D with packed 4-bit weights.
 *
 * Output channels go in blocks of TE_DW4_BLOCK with the accumulators on the stack; for each
 * tap the block's weights (contiguous in the [k_h][k_w][out_c] filter) are unpacked into a
 * small stack array, two per byte read, and the channel loop then runs over int8 values.
 * Out-of-image taps are skipped, as in TFLite's reference kernel; sums are modulo 2^32. */
#include "te_depthwise_int4.h"

#include "te_fixedpoint.h"
#include "te_int4.h"

#define TE_DW4_BLOCK 64

void te_depthwise_int4_s8(const te_depthwise_int4_params* p, const int8_t* input, const uint8_t* filter,
                          const int32_t* bias, const int32_t* multiplier, const int8_t* shift, int8_t* output) {
  const int in_c = p->in_c;
  const int out_c = p->out_c;
  const int dm = p->depth_multiplier;
  const int32_t input_offset = p->input_offset;
  uint32_t acc[TE_DW4_BLOCK];
  int8_t w[TE_DW4_BLOCK];
  for (int b = 0; b < p->batches; ++b) {
    const int8_t* in_batch = input + (long)b * p->in_h * p->in_w * in_c;
    for (int oy = 0; oy < p->out_h; ++oy) {
      const int y0 = oy * p->stride_h - p->pad_top;
      for (int ox = 0; ox < p->out_w; ++ox) {
        const int x0 = ox * p->stride_w - p->pad_left;
        int8_t* out = output + (((long)b * p->out_h + oy) * p->out_w + ox) * out_c;
        for (int o0 = 0; o0 < out_c; o0 += TE_DW4_BLOCK) {
          const int count = out_c - o0 < TE_DW4_BLOCK ? out_c - o0 : TE_DW4_BLOCK;
          for (int j = 0; j < count; ++j) acc[j] = 0;
          for (int ky = 0; ky < p->k_h; ++ky) {
            const int iy = y0 + ky * p->dil_h;
            if (iy < 0 || iy >= p->in_h) continue;
            for (int kx = 0; kx < p->k_w; ++kx) {
              const int ix = x0 + kx * p->dil_w;
              if (ix < 0 || ix >= p->in_w) continue;
              const int8_t* in_px = in_batch + ((long)iy * p->in_w + ix) * in_c;
              te_int4_unpack(filter, ((long)ky * p->k_w + kx) * out_c + o0, count, w);
              for (int j = 0; j < count; ++j) {
                const int ic = (o0 + j) / dm;
                acc[j] += (uint32_t)(((int32_t)in_px[ic] + input_offset) * (int32_t)w[j]);
              }
            }
          }
          for (int j = 0; j < count; ++j) {
            const int o = o0 + j;
            const int32_t total = (int32_t)(acc[j] + (uint32_t)bias[o]);
            const int32_t scaled = te_requantize(total, multiplier[o], shift[o]) + p->output_offset;
            out[o] = (int8_t)te_clamp(scaled, p->act_min, p->act_max);
          }
        }
      }
    }
  }
}
