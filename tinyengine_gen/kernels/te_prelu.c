/* int8 PRELU: inputs at or above the zero point are requantised as they are, the others
 * multiplied by (alpha - alpha zero point) first, each branch with its own multiplier. */
#include "te_prelu.h"

#include "te_add_requant.h"

TE_INLINE int32_t te_prelu_requantize(int32_t x, int32_t multiplier, int32_t shift) {
  return te_requantize_nonneg(x, multiplier, shift > 0 ? shift : 0, shift > 0 ? 0 : -shift);
}

static void te_prelu_row(const void* params, const int8_t* a, int32_t step_a, const int8_t* b, int32_t step_b,
                         int8_t* out, int32_t n) {
  const te_prelu_params* p = (const te_prelu_params*)params;
  for (int32_t i = 0; i < n; ++i) {
    const int32_t x = (int32_t)a[i * step_a] + p->input_offset;
    const int32_t y = x >= 0 ? te_prelu_requantize(x, p->output_multiplier_1, p->output_shift_1)
                             : te_prelu_requantize(x * ((int32_t)b[i * step_b] + p->alpha_offset),
                                                   p->output_multiplier_2, p->output_shift_2);
    out[i] = (int8_t)te_clamp(y + p->output_offset, -128, 127);
  }
}

void te_prelu_s8(const te_prelu_params* p, const int8_t* input, const int8_t* alpha, int8_t* output) {
  te_bcast_run(&p->nest, te_prelu_row, p, input, alpha, output);
}
