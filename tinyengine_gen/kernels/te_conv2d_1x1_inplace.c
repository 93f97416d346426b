/* In-place 1x1 convolution: see te_conv2d_1x1_inplace.h for why the tile order makes it exact. */
#include "te_conv2d_1x1_inplace.h"

/* Tile t's first pixel, walking forward (k = 0, 1, ...) or backward from the last tile. */
TE_INLINE long te_inplace_tile(long k, long tiles, int backward) { return (backward ? tiles - 1 - k : k) * TE_GEMM_PIXELS; }

TE_DSP_FN void te_conv2d_1x1_inplace_s8(const te_conv2d_gemm_params* p, const int8_t* input, const int8_t* filter,
                              const int32_t* bias, const int32_t* multiplier, const int8_t* shift, int8_t* output,
                              void* scratch) {
  const long pixels = (long)p->in_h * p->in_w;
  const long tiles = (pixels + TE_GEMM_PIXELS - 1) / TE_GEMM_PIXELS;
  const int backward = p->out_c > p->in_c;
  int16_t* wide = (int16_t*)scratch;
  for (long k = 0; k < tiles; ++k) {
    const long t = te_inplace_tile(k, tiles, backward);
    const int n = pixels - t < TE_GEMM_PIXELS ? (int)(pixels - t) : TE_GEMM_PIXELS;
    const int8_t* rows[TE_GEMM_PIXELS];
    for (int i = 0; i < TE_GEMM_PIXELS; ++i) rows[i] = input + (i < n ? (t + i) * p->in_c : 0);
    te_gemm_widen(p, rows, n, wide); /* the tile's input is consumed here */
    te_gemm_deep_tile_widened(wide, n, filter, bias, multiplier, shift, p, output + t * p->out_c);
  }
}

TE_DSP_FN void te_conv2d_1x1_shallow_inplace_s8(const te_conv2d_gemm_params* p, const int8_t* input, const int8_t* filter,
                                      const int32_t* bias, const int32_t* multiplier, const int8_t* shift,
                                      int8_t* output, void* scratch) {
  const long pixels = (long)p->in_h * p->in_w;
  const long tiles = (pixels + TE_GEMM_PIXELS - 1) / TE_GEMM_PIXELS;
  const int backward = p->out_c > p->in_c;
  const int depth = p->depth;
  int8_t* copy = (int8_t*)scratch;
  for (long k = 0; k < tiles; ++k) {
    const long t = te_inplace_tile(k, tiles, backward);
    const int n = pixels - t < TE_GEMM_PIXELS ? (int)(pixels - t) : TE_GEMM_PIXELS;
    const int8_t* rows[TE_GEMM_PIXELS];
    for (int i = 0; i < TE_GEMM_PIXELS; ++i) {
      rows[i] = copy; /* rows past n repeat row 0 (computed, never stored) */
      if (i < n) {
        const int8_t* src = input + (t + i) * p->in_c;
        int8_t* dst = copy + (long)i * depth;
        for (int c = 0; c < depth; ++c) dst[c] = src[c];
        rows[i] = dst;
      }
    }
    te_gemm_shallow_tile(rows, n, filter, bias, multiplier, shift, p, output + t * p->out_c);
  }
}
