/* int8 MINIMUM / MAXIMUM: TFLite Micro compares the quantised bytes directly (the converter
 * gives inputs and output one quantisation), so each output is one of the input bytes. */
#include "te_minmax.h"

static void te_maximum_row(const void* params, const int8_t* a, int32_t step_a, const int8_t* b, int32_t step_b,
                           int8_t* out, int32_t n) {
  (void)params;
  for (int32_t i = 0; i < n; ++i) {
    const int8_t x = a[i * step_a], y = b[i * step_b];
    out[i] = x > y ? x : y;
  }
}

static void te_minimum_row(const void* params, const int8_t* a, int32_t step_a, const int8_t* b, int32_t step_b,
                           int8_t* out, int32_t n) {
  (void)params;
  for (int32_t i = 0; i < n; ++i) {
    const int8_t x = a[i * step_a], y = b[i * step_b];
    out[i] = x < y ? x : y;
  }
}

void te_maximum_s8(const te_minmax_params* p, const int8_t* input1, const int8_t* input2, int8_t* output) {
  te_bcast_run(&p->nest, te_maximum_row, p, input1, input2, output);
}

void te_minimum_s8(const te_minmax_params* p, const int8_t* input1, const int8_t* input2, int8_t* output) {
  te_bcast_run(&p->nest, te_minimum_row, p, input1, input2, output);
}
