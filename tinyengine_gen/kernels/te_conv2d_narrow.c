/* Few output channels: 32 output pixels per tile as vector lanes (see te_conv2d_narrow.h).
 * The weights are doubled int16 (the DSP kernel's layout): the int32 sums are 2 * acc,
 * exactly halved before the bias (|2 * acc| <= 2 * 48 * 128 * 128, far from overflow). */
#include "te_conv2d_narrow.h"

/* DSP builds take te_conv2d_narrow_s8 from arm/te_conv2d_narrow_dsp.h (16 pixels a tile
 * in pixel pairs, 2 x 2 outputs a step); every other build the portable one here. */
#ifdef TE_DSP
#include "arm/te_conv2d_narrow_dsp.h"
#else
void te_conv2d_narrow_s8(const te_conv2d_gemm_params* p, const int8_t* input, const int16_t* filter,
                         const int32_t* bias, const int32_t* multiplier, const int8_t* shift, int8_t* output,
                         void* scratch) {
  static const int8_t order[4] = {0, 2, 1, 3}; /* the filter's place of value k % 4 in its group */
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
      const int16_t* w = filter + (long)(o >> 1) * 2 * depth + (o & 1) * 4;
      int32_t acc[TE_NARROW_PIXELS];
      for (int j = 0; j < TE_NARROW_PIXELS; ++j) acc[j] = 0;
      for (int k = 0; k < depth; ++k) {
        const int32_t x = w[(k >> 2) * 8 + order[k & 3]];
        const int8_t* c = cols + k * TE_NARROW_PIXELS;
        for (int j = 0; j < TE_NARROW_PIXELS; ++j) acc[j] += x * c[j];
      }
      const int32_t b = bias[o], m = multiplier[o], s = shift[o];
      for (int j = 0; j < n; ++j) {
        int32_t v = te_requantize_kernel((int32_t)((uint32_t)(acc[j] >> 1) + (uint32_t)b), m, s) + offset;
        v = v > lo ? v : lo;
        v = v < hi ? v : hi;
        out[(long)j * out_c + o] = (int8_t)v;
      }
    }
  }
}
#endif /* TE_DSP */
