/* 1x1 convolution as a GEMM: each output pixel's row is the input pixel it reads
 * (strided when stride > 1); rows are widened four at a time and multiplied on the deep
 * core of te_conv2d_gemm.h. */
#define TE_GEMM_TILE_DEFINE /* the deep tile's one copy (arm/te_gemm_deep_dsp.h) */
#include "te_conv2d_1x1.h"

TE_DSP_FN void te_conv2d_1x1_s8(const te_conv2d_gemm_params* p, const int8_t* input, const int8_t* filter, const int32_t* bias,
                      const int32_t* multiplier, const int8_t* shift, int8_t* output, void* scratch) {
  const long pixels = (long)p->batches * p->out_h * p->out_w;
  int16_t* wide = (int16_t*)scratch;
  te_gemm_pixel px = {0, 0, 0};
  for (long t = 0; t < pixels; t += TE_GEMM_PIXELS) {
    const int n = pixels - t < TE_GEMM_PIXELS ? (int)(pixels - t) : TE_GEMM_PIXELS;
    const int8_t* rows[TE_GEMM_PIXELS];
    te_gemm_1x1_rows(p, input, n, &px, rows);
    te_gemm_widen(p, rows, n, wide);
    te_gemm_deep_tile_widened(wide, n, filter, bias, multiplier, shift, p, output + t * p->out_c);
  }
}
