/* Fused CONV_2D + ADD: see te_conv2d_add.h. The convolution of each tile is the code of the
 * kernel its core belongs to (te_conv2d_1x1*.c, te_conv2d_kxk*.c) with the tile of y as
 * its output. */
#include "te_conv2d_add.h"

#include "te_add_requant.h"

/* te_conv_add_shallow_1x1_layer: a whole 1x1 shallow layer with its ADD, where the build
 * has a kernel for one (returns 1), else 0. te_conv_add_epilogue_fast: the ADD of a tile of
 * y by a faster formulation, where the build has one and its preconditions hold (returns
 * 1), else 0 (te_conv_add_epilogue then does it). DSP builds take both from
 * arm/te_conv2d_add_dsp.h (the same names); in portable builds both are the constant 0. */
#ifdef TE_DSP
#include "arm/te_conv2d_add_dsp.h"
#else
/* Constants, not functions: see te_gemm_shallow_1x1_layer in te_conv2d_gemm.h. */
#define te_conv_add_shallow_1x1_layer(p, a, input, filter, bias, multiplier, shift, residual, output, y) 0
#define te_conv_add_epilogue_fast(a, y, residual, out, n) 0
#endif

/* The convolution's int8 output of the n pixels from px on, into y ([n][out_c]); advances px. */
static TE_DSP_FN_COPIES void te_conv_add_tile(const te_conv2d_gemm_params* p, int core, const int8_t* input, const int8_t* filter,
                             const int32_t* bias, const int32_t* multiplier, const int8_t* shift, int n,
                             te_gemm_pixel* px, int8_t* y, void* rows_scratch) {
  const int depth = p->depth;
  const int8_t* rows[TE_GEMM_PIXELS];
  if (core == TE_CONV_ADD_1X1_DEEP) {
    te_gemm_1x1_rows(p, input, n, px, rows);
    te_gemm_widen(p, rows, n, (int16_t*)rows_scratch);
    te_gemm_deep_tile_widened((const int16_t*)rows_scratch, n, filter, bias, multiplier, shift, p, y);
    return;
  }
  if (core == TE_CONV_ADD_KXK_DEEP) { /* as te_conv2d_kxk_s8: int8 rows after the int16 tile */
    int16_t* wide = (int16_t*)rows_scratch;
    te_gemm_im2col_rows(p, input, n, px, (int8_t*)rows_scratch + 2L * TE_GEMM_PIXELS * depth, rows);
    te_gemm_widen(p, rows, n, wide);
    te_gemm_deep_tile_widened(wide, n, filter, bias, multiplier, shift, p, y);
    return;
  }
  if (core == TE_CONV_ADD_1X1_SHALLOW) {
    te_gemm_1x1_rows(p, input, n, px, rows);
  } else {
    int8_t* cols = (int8_t*)rows_scratch;
    for (int i = 0; i < TE_GEMM_PIXELS; ++i) {
      rows[i] = cols; /* rows past n repeat row 0 */
      if (i < n) {
        rows[i] = cols + (long)i * depth;
        te_gemm_im2col_row(p, input, px->b, px->oy, px->ox, cols + (long)i * depth);
        te_gemm_next_pixel(p, px);
      }
    }
  }
  te_gemm_shallow_tile(rows, n, filter, bias, multiplier, shift, p, y);
}

TE_DSP_FN void te_conv2d_add_s8(const te_conv2d_gemm_params* p, const te_conv2d_add_params* a, const int8_t* input,
                      const int8_t* filter, const int32_t* bias, const int32_t* multiplier, const int8_t* shift,
                      const int8_t* residual, int8_t* output, void* scratch) {
  const long pixels = (long)p->batches * p->out_h * p->out_w;
  int8_t* y = (int8_t*)scratch;
  void* rows_scratch = (int8_t*)scratch + TE_CONV_ADD_TILE_BYTES(p->out_c);
  if (te_conv_add_shallow_1x1_layer(p, a, input, filter, bias, multiplier, shift, residual, output, y)) return;
  te_gemm_pixel px = {0, 0, 0};
  for (long t = 0; t < pixels; t += TE_GEMM_PIXELS) {
    const int n = pixels - t < TE_GEMM_PIXELS ? (int)(pixels - t) : TE_GEMM_PIXELS;
    const long first = t * p->out_c;
    te_conv_add_tile(p, a->core, input, filter, bias, multiplier, shift, n, &px, y, rows_scratch);
    if (te_conv_add_epilogue_fast(a, y, residual + first, output + first, (long)n * p->out_c)) continue;
    te_conv_add_epilogue(a, y, residual + first, output + first, (long)n * p->out_c);
  }
}
