/* int8 ADD: both inputs are rescaled to a common fixed-point scale (left shift, then a
 * multiplier below one), summed in int32 and requantised to the output, as TFLite's
 * reference AddFunc does. The row loops are specialised for a broadcast (scalar) operand
 * so that its rescaling is done once per row; the arithmetic (te_add_requant.h) is
 * branch-free so that the row loops vectorise. Large same-shape ADDs use te_add_lut.c. */
#include "te_add.h"

#include "te_add_requant.h"

/* The parameters are copied to locals first: the int8 output may alias anything, so reading
 * them through ``p`` inside the loops would keep the compiler from vectorising. */
static void te_add_row(const void* params, const int8_t* a, int32_t step_a, const int8_t* b, int32_t step_b,
                       int8_t* out, int32_t n) {
  const te_add_params* p = (const te_add_params*)params;
  const te_add_input_scale s1 = TE_ADD_INPUT_SCALE(p, 1), s2 = TE_ADD_INPUT_SCALE(p, 2);
  const int32_t m = p->output_multiplier, sh = p->output_shift, zp = p->output_offset;
  const int32_t lo = p->act_min, hi = p->act_max;
  if (step_a == 0) {
    const int32_t sa = te_add_scale(a[0], s1);
    for (int32_t i = 0; i < n; ++i) out[i] = te_add_output(sa + te_add_scale(b[i], s2), m, sh, zp, lo, hi);
  } else if (step_b == 0) {
    const int32_t sb = te_add_scale(b[0], s2);
    for (int32_t i = 0; i < n; ++i) out[i] = te_add_output(te_add_scale(a[i], s1) + sb, m, sh, zp, lo, hi);
  } else {
    for (int32_t i = 0; i < n; ++i) {
      out[i] = te_add_output(te_add_scale(a[i], s1) + te_add_scale(b[i], s2), m, sh, zp, lo, hi);
    }
  }
}

void te_add_s8(const te_add_params* p, const int8_t* input1, const int8_t* input2, int8_t* output) {
  te_bcast_run(&p->nest, te_add_row, p, input1, input2, output);
}
