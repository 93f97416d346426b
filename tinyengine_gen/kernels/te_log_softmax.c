/* int8 LOG_SOFTMAX. Per row: the largest byte; the sum of exp(difference) from the planner's
 * table (Q12.19, added as gemmlowp adds, wrapping); its log in Q5.26 (te_gl_log_x_ge_1); the
 * threshold below which outputs are -128; and each output (d_q5 - log_sum) in Q4 steps + 127. */
#include "te_log_softmax.h"

#include "te_fixedpoint.h"
#include "te_gemmlowp.h"

void te_log_softmax_s8(const te_log_softmax_params* p, const int32_t* exp_table, const int8_t* input,
                       int8_t* output) {
  for (int32_t row = 0; row < p->outer; ++row) {
    const int8_t* x = input + (int64_t)row * p->depth;
    int8_t* y = output + (int64_t)row * p->depth;
    int32_t max_in_row = -128;
    for (int32_t c = 0; c < p->depth; ++c) max_in_row = x[c] > max_in_row ? x[c] : max_in_row;
    int32_t sum_of_exps = 0;
    for (int32_t c = 0; c < p->depth; ++c) sum_of_exps = te_gl_add(sum_of_exps, exp_table[max_in_row - x[c]]);
    const int32_t log_sum = te_gl_log_x_ge_1(sum_of_exps, 12, 5);
    const int32_t scaled_threshold =
        te_requantize(te_gl_add(log_sum, INT32_MIN), p->reverse_scaling_divisor, p->reverse_scaling_shift);
    const int32_t adjusted_diff_min = p->diff_min - 1 > scaled_threshold ? p->diff_min - 1 : scaled_threshold;
    for (int32_t c = 0; c < p->depth; ++c) {
      const int32_t diff = (int32_t)x[c] - max_in_row;
      if (diff > adjusted_diff_min) {
        const int32_t diff_q5 = te_requantize(diff, p->input_multiplier, p->input_left_shift);
        const int32_t value = te_rounding_divide_by_pot(te_gl_sub(diff_q5, log_sum), 31 - 5 - 4) + 127;
        y[c] = (int8_t)te_clamp(value, -128, 127);
      } else {
        y[c] = -128;
      }
    }
  }
}
