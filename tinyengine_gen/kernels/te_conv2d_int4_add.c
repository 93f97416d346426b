/* Fused CONV_2D (packed 4-bit weights) + ADD: see te_conv2d_int4_add.h. */
#include "te_conv2d_int4_add.h"

void te_conv2d_int4_add_s8(const te_conv2d_int4_params* p, const te_conv2d_add_params* a, const int8_t* input,
                           const uint8_t* filter, const int32_t* bias, const int32_t* multiplier, const int8_t* shift,
                           const int8_t* residual, int8_t* output, int8_t* pixel) {
  const int out_c = p->out_c;
  for (int b = 0; b < p->batches; ++b) {
    const int8_t* in_batch = input + (long)b * p->in_h * p->in_w * p->in_c;
    for (int oy = 0; oy < p->out_h; ++oy) {
      for (int ox = 0; ox < p->out_w; ++ox) {
        const long at = (((long)b * p->out_h + oy) * p->out_w + ox) * out_c;
        te_conv2d_int4_pixel(p, in_batch, filter, bias, multiplier, shift, oy * p->stride_h - p->pad_top,
                             ox * p->stride_w - p->pad_left, pixel);
        te_conv_add_epilogue(a, pixel, residual + at, output + at, out_c);
      }
    }
  }
}
