/* int8 SVDF with an int16 state. Per invoke: the state buffer moves one element left; each
 * filter's feature dot product, requantised and clamped to int16, goes into its newest
 * memory slot; each filter's memory is dotted with its time weights; the bias plus the
 * rank filters of each unit are requantised to int8. Sums wrap like TFLite's int32 ones
 * (through uint32, so never undefined behaviour). */
#include "te_svdf.h"

#include "te_fixedpoint.h"

TE_INLINE int32_t te_svdf_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

void te_svdf_s8_s16(const te_svdf_params* p, const int8_t* input, const int8_t* weights_feature,
                    const int16_t* weights_time, const int32_t* bias, int16_t* state, int32_t* scratch,
                    int8_t* output) {
  const int32_t n_filter = p->n_filter, n_memory = p->n_memory, n_unit = p->n_filter / p->rank;
  const int32_t total = p->batch * n_filter * n_memory;
  for (int32_t i = 0; i + 1 < total; ++i) state[i] = state[i + 1];
  for (int32_t b = 0; b < p->batch; ++b) {
    const int8_t* x = input + b * p->n_input;
    for (int32_t f = 0; f < n_filter; ++f) {
      const int8_t* w = weights_feature + f * p->n_input;
      int32_t dot = 0;
      for (int32_t c = 0; c < p->n_input; ++c) dot = te_svdf_add(dot, w[c] * ((int32_t)x[c] - p->input_zero_point));
      const int32_t scaled = te_clamp(te_requantize(dot, p->feature_multiplier, p->feature_shift), -32768, 32767);
      state[(b * n_filter + f) * n_memory + n_memory - 1] = (int16_t)(uint16_t)(uint32_t)(p->state_zero_point + scaled);
    }
  }
  int32_t* filter_sums = scratch;
  int32_t* unit_sums = scratch + p->batch * n_filter;
  for (int32_t b = 0; b < p->batch; ++b) {
    for (int32_t f = 0; f < n_filter; ++f) {
      const int16_t* s = state + (b * n_filter + f) * n_memory;
      const int16_t* w = weights_time + f * n_memory;
      int32_t dot = 0;
      for (int32_t j = 0; j < n_memory; ++j) dot = te_svdf_add(dot, (int32_t)w[j] * ((int32_t)s[j] - p->state_zero_point));
      filter_sums[b * n_filter + f] = dot;
    }
    for (int32_t u = 0; u < n_unit; ++u) {
      int32_t sum = bias[u];
      for (int32_t r = 0; r < p->rank; ++r) sum = te_svdf_add(sum, filter_sums[b * n_filter + u * p->rank + r]);
      unit_sums[b * n_unit + u] = sum;
    }
  }
  for (int32_t i = 0; i < p->batch * n_unit; ++i) {
    const int32_t y = te_requantize(unit_sums[i], p->output_multiplier, p->output_shift) + p->output_zero_point;
    output[i] = (int8_t)te_clamp(y, -128, 127);
  }
}
