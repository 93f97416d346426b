/* int8 L2_NORMALIZATION: per row the int32 sum of squares, its inverse square root as a
 * multiplier and shift (te_gl_inv_sqrt), then every element requantised by it with 7 more
 * bits of left shift (outputs in steps of 1/128). */
#include "te_l2_normalization.h"

#include "te_fixedpoint.h"
#include "te_gemmlowp.h"

void te_l2_normalization_s8(int32_t outer, int32_t depth, int32_t input_zero_point, const int8_t* input,
                            int8_t* output) {
  for (int32_t row = 0; row < outer; ++row) {
    const int8_t* x = input + (int64_t)row * depth;
    int8_t* y = output + (int64_t)row * depth;
    int32_t sum_of_squares = 0;
    for (int32_t c = 0; c < depth; ++c) {
      const int32_t v = (int32_t)x[c] - input_zero_point;
      sum_of_squares += v * v;
    }
    int32_t multiplier, shift;
    te_gl_inv_sqrt(sum_of_squares, &multiplier, &shift);
    for (int32_t c = 0; c < depth; ++c) {
      const int32_t v = (int32_t)x[c] - input_zero_point;
      y[c] = (int8_t)te_clamp(te_requantize(v, multiplier, shift + 7), -128, 127);
    }
  }
}
