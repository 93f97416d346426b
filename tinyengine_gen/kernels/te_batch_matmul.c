#include "te_batch_matmul.h"

#include "te_fixedpoint.h"

void te_batch_matmul_s8(const te_batch_matmul_params* p, const int8_t* lhs, const int8_t* rhs, int8_t* output) {
  for (int b = 0; b < p->batches; ++b) {
    const int8_t* a = lhs + p->lhs_batch_offset[b];
    const int8_t* m = rhs + p->rhs_batch_offset[b];
    for (int i = 0; i < p->rows; ++i) {
      for (int j = 0; j < p->cols; ++j) {
        int32_t total = 0;
        for (int k = 0; k < p->depth; ++k) {
          const int32_t x = (int32_t)a[i * p->lhs_row_stride + k * p->lhs_depth_stride] + p->lhs_offset;
          const int32_t y = (int32_t)m[k * p->rhs_depth_stride + j * p->rhs_col_stride] + p->rhs_offset;
          total += x * y;
        }
        int32_t value = te_requantize(total, p->multiplier, p->shift) + p->output_offset;
        value = value < -128 ? -128 : value;
        value = value > 127 ? 127 : value;
        *output++ = (int8_t)value;
      }
    }
  }
}
