/* int8 SUB: TFLite Micro's SUB rescales both inputs exactly as ADD does (te_add_params) and
 * subtracts the second from the first before the output requantisation. A large same-shape
 * SUB does not come here: it runs te_add_lut_s8 with input 2's table negated. */
#include "te_sub.h"

#include "te_add_requant.h"

static void te_sub_row(const void* params, const int8_t* a, int32_t step_a, const int8_t* b, int32_t step_b,
                       int8_t* out, int32_t n) {
  const te_add_params* p = (const te_add_params*)params;
  const te_add_input_scale s1 = TE_ADD_INPUT_SCALE(p, 1), s2 = TE_ADD_INPUT_SCALE(p, 2);
  const int32_t m = p->output_multiplier, sh = p->output_shift, zp = p->output_offset;
  const int32_t lo = p->act_min, hi = p->act_max;
  for (int32_t i = 0; i < n; ++i) {
    const int32_t difference = te_add_scale(a[i * step_a], s1) - te_add_scale(b[i * step_b], s2);
    out[i] = te_add_output(difference, m, sh, zp, lo, hi);
  }
}

void te_sub_s8(const te_add_params* p, const int8_t* input1, const int8_t* input2, int8_t* output) {
  te_bcast_run(&p->nest, te_sub_row, p, input1, input2, output);
}
