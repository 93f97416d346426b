/* General convolution as a GEMM: the receptive fields of four output pixels are copied
 * (im2col, pad taps = input zero point) into scratch as int8, widened into one int16 tile
 * (interleaved for the DSP 4x1 kernel: a weight word widened once serves four pixels) and
 * multiplied on the deep core of te_conv2d_gemm.h. Scratch: the tile (8 * depth bytes)
 * and the four int8 rows (4 * depth). */
#include "te_conv2d_kxk.h"

TE_DSP_FN_COPIES void te_conv2d_kxk_s8(const te_conv2d_gemm_params* p, const int8_t* input, const int8_t* filter, const int32_t* bias,
                      const int32_t* multiplier, const int8_t* shift, int8_t* output, void* scratch) {
  const long pixels = (long)p->batches * p->out_h * p->out_w;
  int16_t* wide = (int16_t*)scratch;
  int8_t* cols = (int8_t*)scratch + 2L * TE_GEMM_PIXELS * p->depth;
  te_gemm_pixel px = {0, 0, 0};
  for (long t = 0; t < pixels; t += TE_GEMM_PIXELS) {
    const int n = pixels - t < TE_GEMM_PIXELS ? (int)(pixels - t) : TE_GEMM_PIXELS;
    const int8_t* rows[TE_GEMM_PIXELS];
    te_gemm_im2col_rows(p, input, n, &px, cols, rows);
    te_gemm_widen(p, rows, n, wide);
    te_gemm_deep_tile_widened(wide, n, filter, bias, multiplier, shift, p, output + t * p->out_c);
  }
}
