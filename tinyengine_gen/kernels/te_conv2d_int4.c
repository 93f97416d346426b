/* CONV_2D with packed 4-bit weights. Out-of-image taps are skipped (they contribute zero), as
 * in TFLite's reference kernel; the sum over a tap's channels is te_int4_dot_s8, which reads
 * two weights per byte, and taps are added modulo 2^32 (the int32 result wherever TFLite's
 * does not overflow, never undefined behaviour). */
#include "te_conv2d_int4.h"

#include <string.h>


void te_conv2d_int4_s8(const te_conv2d_int4_params* p, const int8_t* input, const uint8_t* filter,
                       const int32_t* bias, const int32_t* multiplier, const int8_t* shift, int8_t* output) {
  const int in_c = p->in_c;
  for (int b = 0; b < p->batches; ++b) {
    const int8_t* in_batch = input + (long)b * p->in_h * p->in_w * in_c;
    for (int oy = 0; oy < p->out_h; ++oy) {
      const int y0 = oy * p->stride_h - p->pad_top;
      int8_t* out_row = output + ((long)b * p->out_h + oy) * p->out_w * p->out_c;
      for (int ox = 0; ox < p->out_w; ++ox) {
        const int x0 = ox * p->stride_w - p->pad_left;
        const int x1 = x0 + p->stride_w;
        int8_t* out = out_row + (long)ox * p->out_c;
        if (ox + 1 < p->out_w && p->dil_w == 1 && x0 >= 0 && x1 + p->k_w <= p->in_w) { /* a pixel pair */
          te_conv2d_int4_pixel2(p, in_batch, filter, bias, multiplier, shift, y0, x0, x1, out, out + p->out_c);
          ++ox;
          continue;
        }
        te_conv2d_int4_pixel(p, in_batch, filter, bias, multiplier, shift, y0, x0, out);
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
      const int32_t scaled = te_requantize_kernel(total, multiplier[oc], shift[oc]) + p->output_offset;
      out[oc] = (int8_t)te_clamp(scaled, p->act_min, p->act_max);
    }
  }
}
