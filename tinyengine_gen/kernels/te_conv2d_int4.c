/* CONV_2D with packed 4-bit weights. Out-of-image taps are skipped (they contribute zero), as
 * in TFLite's reference kernel; the sum over a tap's channels is te_int4_dot_s8, which reads
 * two weights per byte, and taps are added modulo 2^32 (the int32 result wherever TFLite's
 * does not overflow, never undefined behaviour). */
#include "te_conv2d_int4.h"

#include <string.h>

#include "te_fixedpoint.h"
#include "te_int4.h"

void te_conv2d_int4_s8(const te_conv2d_int4_params* p, const int8_t* input, const uint8_t* filter,
                       const int32_t* bias, const int32_t* multiplier, const int8_t* shift, int8_t* output) {
  const int in_c = p->in_c;
  const long filter_row = (long)p->k_h * p->k_w * in_c;
  for (int b = 0; b < p->batches; ++b) {
    const int8_t* in_batch = input + (long)b * p->in_h * p->in_w * in_c;
    for (int oy = 0; oy < p->out_h; ++oy) {
      const int y0 = oy * p->stride_h - p->pad_top;
      for (int ox = 0; ox < p->out_w; ++ox) {
        const int x0 = ox * p->stride_w - p->pad_left;
        int8_t* out = output + (((long)b * p->out_h + oy) * p->out_w + ox) * p->out_c;
        for (int oc = 0; oc < p->out_c; ++oc) {
          uint32_t acc = 0;
          for (int ky = 0; ky < p->k_h; ++ky) {
            const int iy = y0 + ky * p->dil_h;
            if (iy < 0 || iy >= p->in_h) continue;
            for (int kx = 0; kx < p->k_w; ++kx) {
              const int ix = x0 + kx * p->dil_w;
              if (ix < 0 || ix >= p->in_w) continue;
              const int8_t* in_px = in_batch + ((long)iy * p->in_w + ix) * in_c;
              const long start = oc * filter_row + ((long)ky * p->k_w + kx) * in_c;
              acc += (uint32_t)te_int4_dot_s8(in_px, p->input_offset, filter, start, in_c);
            }
          }
          const int32_t total = (int32_t)(acc + (uint32_t)bias[oc]);
          const int32_t scaled = te_requantize(total, multiplier[oc], shift[oc]) + p->output_offset;
          out[oc] = (int8_t)te_clamp(scaled, p->act_min, p->act_max);
        }
      }
    }
  }
}

/* The 1x1, stride-1, unpadded layer writing its output over its input (batch 1): each input
 * pixel is copied into `pixel` (in_c bytes of scratch) before its outputs are written. Walking
 * forward when out_c <= in_c, backward otherwise, an output pixel only overlaps input pixels
 * already copied (as te_conv2d_1x1_inplace.c argues for its tiles). */
void te_conv2d_int4_1x1_inplace_s8(const te_conv2d_int4_params* p, int8_t* data, const uint8_t* filter,
                                   const int32_t* bias, const int32_t* multiplier, const int8_t* shift,
                                   int8_t* pixel) {
  const int in_c = p->in_c;
  const int out_c = p->out_c;
  const long pixels = (long)p->out_h * p->out_w;
  const int forward = out_c <= in_c;
  for (long step = 0; step < pixels; ++step) {
    const long px = forward ? step : pixels - 1 - step;
    memcpy(pixel, data + px * in_c, (size_t)in_c);
    int8_t* out = data + px * out_c;
    for (int oc = 0; oc < out_c; ++oc) {
      const uint32_t acc = (uint32_t)te_int4_dot_s8(pixel, p->input_offset, filter, (long)oc * in_c, in_c);
      const int32_t total = (int32_t)(acc + (uint32_t)bias[oc]);
      const int32_t scaled = te_requantize(total, multiplier[oc], shift[oc]) + p->output_offset;
      out[oc] = (int8_t)te_clamp(scaled, p->act_min, p->act_max);
    }
  }
}
