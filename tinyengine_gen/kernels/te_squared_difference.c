/* int8 SQUARED_DIFFERENCE: both inputs rescaled as in ADD (left shift 7), subtracted,
 * squared in int32 (|difference| < 2^15, so the square fits) and requantised. */
#include "te_squared_difference.h"

#include "te_add_requant.h"

static void te_squared_difference_row(const void* params, const int8_t* a, int32_t step_a, const int8_t* b,
                                      int32_t step_b, int8_t* out, int32_t n) {
  const te_squared_difference_params* p = (const te_squared_difference_params*)params;
  const te_add_input_scale s1 = TE_ADD_INPUT_SCALE(p, 1), s2 = TE_ADD_INPUT_SCALE(p, 2);
  const int32_t m = p->output_multiplier, zp = p->output_offset;
  const int32_t ls = p->output_shift > 0 ? p->output_shift : 0, rs = p->output_shift > 0 ? 0 : -p->output_shift;
  for (int32_t i = 0; i < n; ++i) {
    const int32_t difference = te_add_scale(a[i * step_a], s1) - te_add_scale(b[i * step_b], s2);
    out[i] = (int8_t)te_clamp(te_requantize_nonneg(difference * difference, m, ls, rs) + zp, -128, 127);
  }
}

void te_squared_difference_s8(const te_squared_difference_params* p, const int8_t* input1, const int8_t* input2,
                              int8_t* output) {
  te_bcast_run(&p->nest, te_squared_difference_row, p, input1, input2, output);
}
