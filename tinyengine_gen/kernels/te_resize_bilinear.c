/* int8 bilinear resize: per output pixel, the four neighbours' weights (products of 1/1024
 * steps, summing to 2^20) from the planner's row and column tables; per channel an int64
 * weighted sum, rounded half away from zero and divided by 2^20 as TFLite Micro does. */
#include "te_resize_bilinear.h"

void te_resize_bilinear_s8(const te_resize_bilinear_params* p, const int32_t* rows, const int32_t* cols,
                           const int8_t* input, int8_t* output) {
  const int32_t depth = p->depth, row_stride = p->in_w * depth;
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t* image = input + (int64_t)b * p->in_h * row_stride;
    for (int32_t y = 0; y < p->out_h; ++y) {
      const int32_t y0 = rows[3 * y], y1 = rows[3 * y + 1], dy = rows[3 * y + 2] - (y0 << 10);
      for (int32_t x = 0; x < p->out_w; ++x) {
        const int32_t x0 = cols[3 * x], x1 = cols[3 * x + 1], dx = cols[3 * x + 2] - (x0 << 10);
        const int64_t w_ll = (int64_t)(1024 - dy) * (1024 - dx), w_lu = (int64_t)dy * (1024 - dx);
        const int64_t w_rl = (int64_t)(1024 - dy) * dx, w_ru = (int64_t)dy * dx;
        const int8_t* ll = image + y0 * row_stride + x0 * depth;
        const int8_t* lu = image + y1 * row_stride + x0 * depth;
        const int8_t* rl = image + y0 * row_stride + x1 * depth;
        const int8_t* ru = image + y1 * row_stride + x1 * depth;
        for (int32_t c = 0; c < depth; ++c) {
          const int64_t total = ll[c] * w_ll + lu[c] * w_lu + rl[c] * w_rl + ru[c] * w_ru;
          const int64_t rounded = total + (total > 0 ? ((int64_t)1 << 19) : -((int64_t)1 << 19));
          *output++ = (int8_t)(rounded / ((int64_t)1 << 20));
        }
      }
    }
  }
}
