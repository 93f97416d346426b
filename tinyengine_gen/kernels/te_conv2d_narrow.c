/* Few output channels: 32 output pixels per tile as vector lanes (see te_conv2d_narrow.h).
 * The arithmetic is the shallow core's (te_conv2d_gemm.h) with the roles of pixels and
 * channels swapped: two products of a depth pair summed in int16 (|sum| <= 32512), then
 * added to int32 accumulators. */
#include "te_conv2d_narrow.h"

/* DSP builds take te_conv2d_narrow_s8 from arm/te_conv2d_narrow_dsp.h (16 pixels a tile
 * through the deep core's interleaved tiles); every other build the portable one here. */
#ifdef TE_DSP
#include "arm/te_conv2d_narrow_dsp.h"
#else
void te_conv2d_narrow_s8(const te_conv2d_gemm_params* p, const int8_t* input, const int8_t* filter,
                         const int32_t* bias, const int32_t* multiplier, const int8_t* shift, int8_t* output,
                         void* scratch) {
  const long pixels = (long)p->batches * p->out_h * p->out_w;
  const int depth = p->depth, out_c = p->out_c;
  const int32_t offset = p->output_offset, lo = p->act_min, hi = p->act_max;
  int8_t* cols = (int8_t*)scratch;                   /* [depth][TE_NARROW_PIXELS] */
  int8_t* row = cols + (long)TE_NARROW_PIXELS * depth; /* one pixel's receptive field */
  te_gemm_pixel px = {0, 0, 0};
  for (long t = 0; t < pixels; t += TE_NARROW_PIXELS) {
    const int n = pixels - t < TE_NARROW_PIXELS ? (int)(pixels - t) : TE_NARROW_PIXELS;
    for (int i = 0; i < TE_NARROW_PIXELS; ++i) {
      if (i < n) {
        te_gemm_im2col_row(p, input, px.b, px.oy, px.ox, row);
        te_gemm_next_pixel(p, &px);
      } else {
        for (int k = 0; k < depth; ++k) row[k] = 0; /* lanes past n: computed, never stored */
      }
      for (int k = 0; k < depth; ++k) cols[k * TE_NARROW_PIXELS + i] = row[k];
    }
    int8_t* out = output + t * out_c;
    for (int o = 0; o < out_c; ++o) {
      const int8_t* w = filter + (long)o * depth;
      int32_t acc[TE_NARROW_PIXELS];
      for (int j = 0; j < TE_NARROW_PIXELS; ++j) acc[j] = 0;
      for (int k = 0; k < depth; k += 2) {
        const int16_t x = w[k], y = w[k + 1];
        const int8_t* c0 = cols + k * TE_NARROW_PIXELS;
        const int8_t* c1 = c0 + TE_NARROW_PIXELS;
        for (int j = 0; j < TE_NARROW_PIXELS; ++j) acc[j] += (int16_t)(x * c0[j] + y * c1[j]);
      }
      const int32_t b = bias[o], m = multiplier[o], s = shift[o];
      for (int j = 0; j < n; ++j) {
        int32_t v = te_requantize_kernel((int32_t)((uint32_t)acc[j] + (uint32_t)b), m, s) + offset;
        v = v > lo ? v : lo;
        v = v < hi ? v : hi;
        out[(long)j * out_c + o] = (int8_t)v;
      }
    }
  }
}
#endif /* TE_DSP */
