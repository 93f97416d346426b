/* Generic int8 convolution. Out-of-image taps are skipped (they contribute zero), which
 * is what TFLite's reference kernel does; accumulation is in int32. */
#include "te_conv2d.h"

#include "te_fixedpoint.h"

void te_conv2d_s8(const te_conv2d_params* p, const int8_t* input, const int8_t* filter, const int32_t* bias,
                  const int32_t* multiplier, const int8_t* shift, int8_t* output) {
  const int in_c = p->in_c;
  for (int b = 0; b < p->batches; ++b) {
    const int8_t* in_batch = input + (long)b * p->in_h * p->in_w * in_c;
    for (int oy = 0; oy < p->out_h; ++oy) {
      const int y0 = oy * p->stride_h - p->pad_top;
      for (int ox = 0; ox < p->out_w; ++ox) {
        const int x0 = ox * p->stride_w - p->pad_left;
        int8_t* out = output + (((long)b * p->out_h + oy) * p->out_w + ox) * p->out_c;
        for (int oc = 0; oc < p->out_c; ++oc) {
          const int8_t* w_oc = filter + (long)oc * p->k_h * p->k_w * in_c;
          int32_t acc = 0;
          for (int ky = 0; ky < p->k_h; ++ky) {
            const int iy = y0 + ky * p->dil_h;
            if (iy < 0 || iy >= p->in_h) continue;
            for (int kx = 0; kx < p->k_w; ++kx) {
              const int ix = x0 + kx * p->dil_w;
              if (ix < 0 || ix >= p->in_w) continue;
              const int8_t* in_px = in_batch + ((long)iy * p->in_w + ix) * in_c;
              const int8_t* w = w_oc + ((long)ky * p->k_w + kx) * in_c;
              int32_t sum = 0;
              for (int ic = 0; ic < in_c; ++ic) sum += ((int32_t)in_px[ic] + p->input_offset) * w[ic];
              acc += sum;
            }
          }
          acc += bias[oc];
          acc = te_requantize(acc, multiplier[oc], shift[oc]) + p->output_offset;
          out[oc] = (int8_t)te_clamp(acc, p->act_min, p->act_max);
        }
      }
    }
  }
}
