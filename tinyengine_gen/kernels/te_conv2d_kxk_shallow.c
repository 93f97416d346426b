/* Convolution with a short receptive field: im2col of four output pixels (pad taps = input
 * zero point, depth rounded up to even with a zero) into scratch, then the shallow core of
 * te_conv2d_gemm.h. */
#include "te_conv2d_kxk_shallow.h"

TE_DSP_FN_COPIES void te_conv2d_kxk_shallow_s8(const te_conv2d_gemm_params* p, const int8_t* input, const int8_t* filter,
                              const int32_t* bias, const int32_t* multiplier, const int8_t* shift, int8_t* output,
                              void* scratch) {
  const long pixels = (long)p->batches * p->out_h * p->out_w;
  const int depth = p->depth;
  int8_t* cols = (int8_t*)scratch;
  te_gemm_pixel px = {0, 0, 0};
  for (long t = 0; t < pixels; t += TE_GEMM_PIXELS) {
    const int n = pixels - t < TE_GEMM_PIXELS ? (int)(pixels - t) : TE_GEMM_PIXELS;
    const int8_t* rows[TE_GEMM_PIXELS];
    for (int i = 0; i < TE_GEMM_PIXELS; ++i) {
      rows[i] = cols; /* rows past n repeat row 0 */
      if (i < n) {
        rows[i] = cols + (long)i * depth;
        te_gemm_im2col_row(p, input, px.b, px.oy, px.ox, cols + (long)i * depth);
        te_gemm_next_pixel(p, &px);
      }
    }
    te_gemm_shallow_tile(rows, n, filter, bias, multiplier, shift, p, output + t * p->out_c);
  }
}
