#include "te_transpose_conv.h"

#include <string.h>

#include "te_fixedpoint.h"

static void te_transpose_conv_image(const te_transpose_conv_params* p, const int8_t* input, const int8_t* filter,
                                    const int32_t* bias, const int32_t* multiplier, const int8_t* shift,
                                    int32_t* scratch, int8_t* output) {
  const int oc_count = p->out_c, ic_count = p->in_c;
  const long plane = (long)p->out_h * p->out_w * oc_count;
  memset(scratch, 0, (size_t)plane * sizeof(int32_t));
  for (int in_y = 0; in_y < p->in_h; ++in_y) {
    for (int in_x = 0; in_x < p->in_w; ++in_x) {
      const int8_t* pixel = input + ((long)in_y * p->in_w + in_x) * ic_count;
      const int y0 = in_y * p->stride_h - p->pad_top, x0 = in_x * p->stride_w - p->pad_left;
      for (int fy = 0; fy < p->kernel_h; ++fy) {
        const int out_y = y0 + fy;
        if (out_y < 0 || out_y >= p->out_h) continue;
        for (int fx = 0; fx < p->kernel_w; ++fx) {
          const int out_x = x0 + fx;
          if (out_x < 0 || out_x >= p->out_w) continue;
          int32_t* sums = scratch + ((long)out_y * p->out_w + out_x) * oc_count;
          for (int oc = 0; oc < oc_count; ++oc) {
            const int8_t* taps = filter + (((long)oc * p->kernel_h + fy) * p->kernel_w + fx) * ic_count;
            int32_t acc = 0;
            for (int ic = 0; ic < ic_count; ++ic) acc += ((int32_t)pixel[ic] + p->input_offset) * taps[ic];
            sums[oc] += acc;
          }
        }
      }
    }
  }
  for (long i = 0; i < plane; ++i) {
    const int oc = (int)(i % oc_count);
    int32_t acc = te_requantize(scratch[i] + bias[oc], multiplier[oc], shift[oc]) + p->output_offset;
    acc = acc < p->act_min ? p->act_min : acc;
    acc = acc > p->act_max ? p->act_max : acc;
    output[i] = (int8_t)acc;
  }
}

void te_transpose_conv_s8(const te_transpose_conv_params* p, const int8_t* input, const int8_t* filter,
                          const int32_t* bias, const int32_t* multiplier, const int8_t* shift, int32_t* scratch,
                          int8_t* output) {
  const long image_in = (long)p->in_h * p->in_w * p->in_c, image_out = (long)p->out_h * p->out_w * p->out_c;
  for (int b = 0; b < p->batch; ++b) {
    te_transpose_conv_image(p, input + b * image_in, filter, bias, multiplier, shift, scratch, output + b * image_out);
  }
}
