/* CONV_2D with 4-bit weights packed two per byte (te_int4.h), int8 activations, per-channel
 * requantisation: TFLite Micro's ConvPerChannel on the same values, bit for bit. One loop nest
 * for 1x1 and KxK filters; each tap's in_c weights are read as a packed run, two per byte. */
#ifndef TE_CONV2D_INT4_H
#define TE_CONV2D_INT4_H

#include <stdint.h>

#include "te_fixedpoint.h"
#include "te_int4.h"

typedef struct {
  int batches, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w;
  int stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
  int32_t input_offset, output_offset, act_min, act_max;
} te_conv2d_int4_params;

/* The out_c outputs of one pixel whose window starts at (y0, x0) of image `in_batch`
 * (also the convolution of te_conv2d_int4_add.c). Where a filter row lies wholly inside
 * the image (dil_w 1), its k_w taps are one run of k_w * in_c inputs and of weights, so one
 * dot product covers them (a 10x4 filter on one channel: 10 dot products of 4, not 40 of 1). */
TE_INLINE void te_conv2d_int4_pixel(const te_conv2d_int4_params* p, const int8_t* in_batch, const uint8_t* filter,
                                    const int32_t* bias, const int32_t* multiplier, const int8_t* shift, int y0,
                                    int x0, int8_t* out) {
  const int in_c = p->in_c;
  const long filter_row = (long)p->k_h * p->k_w * in_c;
  const int whole_rows = p->dil_w == 1 && x0 >= 0 && x0 + p->k_w <= p->in_w;
  for (int oc = 0; oc < p->out_c; ++oc) {
    uint32_t acc = 0;
    for (int ky = 0; ky < p->k_h; ++ky) {
      const int iy = y0 + ky * p->dil_h;
      if (iy < 0 || iy >= p->in_h) continue;
      if (whole_rows) {
        const int8_t* in_row = in_batch + ((long)iy * p->in_w + x0) * in_c;
        const long start = oc * filter_row + (long)ky * p->k_w * in_c;
        acc += (uint32_t)te_int4_dot_s8(in_row, p->input_offset, filter, start, p->k_w * in_c);
        continue;
      }
      for (int kx = 0; kx < p->k_w; ++kx) {
        const int ix = x0 + kx * p->dil_w;
        if (ix < 0 || ix >= p->in_w) continue;
        const int8_t* in_px = in_batch + ((long)iy * p->in_w + ix) * in_c;
        const long start = oc * filter_row + ((long)ky * p->k_w + kx) * in_c;
        acc += (uint32_t)te_int4_dot_s8(in_px, p->input_offset, filter, start, in_c);
      }
    }
    const int32_t total = (int32_t)(acc + (uint32_t)bias[oc]);
    const int32_t scaled = te_requantize_kernel(total, multiplier[oc], shift[oc]) + p->output_offset;
    out[oc] = (int8_t)te_clamp(scaled, p->act_min, p->act_max);
  }
}

/* Two pixels of one output row whose windows, starting at (y0, xa) and (y0, xb), both lie
 * wholly inside the image horizontally (dil_w 1): each weight unpacked once for both. */
TE_INLINE void te_conv2d_int4_pixel2(const te_conv2d_int4_params* p, const int8_t* in_batch, const uint8_t* filter,
                                     const int32_t* bias, const int32_t* multiplier, const int8_t* shift, int y0,
                                     int xa, int xb, int8_t* out_a, int8_t* out_b) {
  const int in_c = p->in_c;
  const int run = p->k_w * in_c;
  const long filter_row = (long)p->k_h * run;
  for (int oc = 0; oc < p->out_c; ++oc) {
    uint32_t acc_a = 0, acc_b = 0;
    for (int ky = 0; ky < p->k_h; ++ky) {
      const int iy = y0 + ky * p->dil_h;
      if (iy < 0 || iy >= p->in_h) continue;
      const int8_t* row = in_batch + (long)iy * p->in_w * in_c;
      int32_t a, b;
      te_int4_dot2_s8(row + (long)xa * in_c, row + (long)xb * in_c, p->input_offset, filter,
                      oc * filter_row + (long)ky * run, run, &a, &b);
      acc_a += (uint32_t)a;
      acc_b += (uint32_t)b;
    }
    const int32_t ta = (int32_t)(acc_a + (uint32_t)bias[oc]), tb = (int32_t)(acc_b + (uint32_t)bias[oc]);
    const int32_t sa = te_requantize_kernel(ta, multiplier[oc], shift[oc]) + p->output_offset;
    const int32_t sb = te_requantize_kernel(tb, multiplier[oc], shift[oc]) + p->output_offset;
    out_a[oc] = (int8_t)te_clamp(sa, p->act_min, p->act_max);
    out_b[oc] = (int8_t)te_clamp(sb, p->act_min, p->act_max);
  }
}

/* filter: [out_c][k_h][k_w][in_c] packed (element index o*k_h*k_w*in_c + ...); bias, multiplier: [out_c];
 * shift: [out_c] int8 (shifts lie in [-31, 30]: a quarter of the int32 table's Flash). */
void te_conv2d_int4_s8(const te_conv2d_int4_params* p, const int8_t* input, const uint8_t* filter,
                       const int32_t* bias, const int32_t* multiplier, const int8_t* shift, int8_t* output);

/* 1x1, stride 1, no padding, batch 1, output over the input `data`; pixel: in_c bytes of scratch. */
void te_conv2d_int4_1x1_inplace_s8(const te_conv2d_int4_params* p, int8_t* data, const uint8_t* filter,
                                   const int32_t* bias, const int32_t* multiplier, const int8_t* shift,
                                   int8_t* pixel);

#endif
