/* int8 MUL: (x1 + offset1) * (x2 + offset2) in int32, requantised by one multiplier
 * (s1 * s2 / s_out), plus the output offset and the activation clamp.
 *
 * A broadcast (scalar) operand is offset once per row; the squeeze-and-excitation case
 * [1, H, W, C] * [1, 1, 1, C] is a row of C channels per pixel with both operands
 * contiguous, the channel loop innermost. The row loops read their parameters from locals
 * (the int8 output may alias anything, so reads through ``p`` would block vectorising) and
 * requantise with branch-free arithmetic equal to te_requantize (see te_add_requant.h). */
#include "te_mul.h"

#include "te_add_requant.h"
#include "te_fixedpoint.h"

static void te_mul_row(const void* params, const int8_t* a, int32_t step_a, const int8_t* b, int32_t step_b,
                       int8_t* out, int32_t n) {
  const te_mul_params* p = (const te_mul_params*)params;
  const int32_t o1 = p->input1_offset, o2 = p->input2_offset, zp = p->output_offset;
  const int32_t m = p->output_multiplier;
  const int32_t ls = p->output_shift > 0 ? p->output_shift : 0, rs = p->output_shift > 0 ? 0 : -p->output_shift;
  const int32_t lo = p->act_min, hi = p->act_max;
  if (step_a == 0) {
    const int32_t va = (int32_t)a[0] + o1;
    for (int32_t i = 0; i < n; ++i) {
      out[i] = (int8_t)te_clamp(te_requantize_nonneg(va * ((int32_t)b[i] + o2), m, ls, rs) + zp, lo, hi);
    }
  } else if (step_b == 0) {
    const int32_t vb = (int32_t)b[0] + o2;
    for (int32_t i = 0; i < n; ++i) {
      out[i] = (int8_t)te_clamp(te_requantize_nonneg(((int32_t)a[i] + o1) * vb, m, ls, rs) + zp, lo, hi);
    }
  } else {
    for (int32_t i = 0; i < n; ++i) {
      const int32_t product = ((int32_t)a[i] + o1) * ((int32_t)b[i] + o2);
      out[i] = (int8_t)te_clamp(te_requantize_nonneg(product, m, ls, rs) + zp, lo, hi);
    }
  }
}

void te_mul_s8(const te_mul_params* p, const int8_t* input1, const int8_t* input2, int8_t* output) {
  te_bcast_run(&p->nest, te_mul_row, p, input1, input2, output);
}
