/* 1x1 convolution with few input channels: rows point straight at the input pixels (no
 * copy), four output pixels at a time through the shallow core of te_conv2d_gemm.h, unless
 * the build has a whole-layer kernel for the layer (DSP builds: te_gemm_shallow_1x1_layer,
 * group by group). This file holds the DSP group code's one copy, which te_conv2d_add.c
 * calls too (arm/te_gemm_1x1_dsp.h). */
#define TE_GEMM_GROUPS_DEFINE
#include "te_conv2d_1x1_shallow.h"

TE_DSP_FN void te_conv2d_1x1_shallow_s8(const te_conv2d_gemm_params* p, const int8_t* input, const int8_t* filter,
                              const int32_t* bias, const int32_t* multiplier, const int8_t* shift, int8_t* output) {
  if (te_gemm_shallow_1x1_layer(input, filter, bias, multiplier, shift, p, output)) return;
  const long pixels = (long)p->batches * p->out_h * p->out_w;
  te_gemm_pixel px = {0, 0, 0};
  for (long t = 0; t < pixels; t += TE_GEMM_PIXELS) {
    const int n = pixels - t < TE_GEMM_PIXELS ? (int)(pixels - t) : TE_GEMM_PIXELS;
    const int8_t* rows[TE_GEMM_PIXELS];
    te_gemm_1x1_rows(p, input, n, &px, rows);
    te_gemm_shallow_tile(rows, n, filter, bias, multiplier, shift, p, output + t * p->out_c);
  }
}
