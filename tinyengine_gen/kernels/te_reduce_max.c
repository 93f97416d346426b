/* int8 REDUCE_MAX: each output row of k2 values starts at -128 and takes the running
 * maximum of the r1 * r2 input rows that reduce into it (contiguous rows, inner loop over k2). */
#include "te_reduce_max.h"

void te_reduce_max_s8(const te_reduce_max_params* p, const int8_t* input, int8_t* output) {
  const int32_t k2 = p->k2, row_stride2 = k2, row_stride1 = p->k1 * p->r2 * k2;
  for (int32_t a = 0; a < p->k0; ++a) {
    const int8_t* block = input + (int64_t)a * p->r1 * row_stride1;
    for (int32_t c = 0; c < p->k1; ++c) {
      int8_t* out = output + ((int64_t)a * p->k1 + c) * k2;
      for (int32_t e = 0; e < k2; ++e) out[e] = -128;
      for (int32_t i = 0; i < p->r1; ++i) {
        const int8_t* rows = block + (int64_t)i * row_stride1 + (int64_t)c * p->r2 * k2;
        for (int32_t j = 0; j < p->r2; ++j) {
          const int8_t* row = rows + (int64_t)j * row_stride2;
          for (int32_t e = 0; e < k2; ++e) out[e] = row[e] > out[e] ? row[e] : out[e];
        }
      }
    }
  }
}
