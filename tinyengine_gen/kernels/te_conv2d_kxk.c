/* General convolution as a GEMM: the receptive fields of four output pixels are copied
 * (im2col, pad taps = input zero point) into scratch as int16 and multiplied on the deep
 * core of te_conv2d_gemm.h. */
#include "te_conv2d_kxk.h"

TE_DSP_FN_COPIES void te_conv2d_kxk_s8(const te_conv2d_gemm_params* p, const int8_t* input, const int8_t* filter, const int32_t* bias,
                      const int32_t* multiplier, const int32_t* shift, int8_t* output, void* scratch) {
  const long pixels = (long)p->batches * p->out_h * p->out_w;
  const int depth = p->depth;
  int16_t* wide = (int16_t*)scratch;
  te_gemm_pixel px = {0, 0, 0};
  for (long t = 0; t < pixels; t += TE_GEMM_PIXELS) {
    const int n = pixels - t < TE_GEMM_PIXELS ? (int)(pixels - t) : TE_GEMM_PIXELS;
    for (int i = 0; i < TE_GEMM_PIXELS; ++i) {
      int16_t* row = wide + (long)i * depth;
      if (i < n) {
        te_gemm_im2col_row_wide(p, input, px.b, px.oy, px.ox, row);
        te_gemm_next_pixel(p, &px);
      } else {
        for (int k = 0; k < depth; ++k) row[k] = 0;
      }
    }
    te_gemm_deep_tile(wide, n, filter, bias, multiplier, shift, p, output + t * p->out_c);
  }
}
