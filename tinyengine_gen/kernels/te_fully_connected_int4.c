/* FULLY_CONNECTED with packed 4-bit weights: dot(w, x) + weights_offset * sum(x) + folded bias,
 * as te_fully_connected.c computes it, with each neuron's row of weights read two per byte
 * (a row starts mid-byte when depth is odd), straight from the int8 input (no scratch).
 * |x * w| <= 128 * 8, so a row's int32 sum cannot overflow below 2^21 terms; the row term
 * and bias are added modulo 2^32. */
#include "te_fully_connected_int4.h"

#include "te_fixedpoint.h"
#include "te_int4.h"

void te_fully_connected_int4_s8(const te_fully_connected_int4_params* p, const int8_t* input, const uint8_t* filter,
                                const int32_t* folded_bias, const int32_t* multiplier, const int8_t* shift,
                                int8_t* output) {
  const int depth = p->depth;
  const int out_c = p->out_c;
  for (int b = 0; b < p->batches; ++b) {
    const int8_t* x = input + (long)b * depth;
    int8_t* out = output + (long)b * out_c;
    uint32_t row_term = 0;
    if (p->weights_offset != 0) {
      uint32_t row_sum = 0;
      for (int d = 0; d < depth; ++d) row_sum += (uint32_t)(int32_t)x[d];
      row_term = (uint32_t)p->weights_offset * row_sum;
    }
    for (int o = 0; o < out_c; ++o) {
      const uint32_t dot = (uint32_t)te_int4_dot_s8(x, 0, filter, (long)o * depth, depth);
      const int32_t acc = (int32_t)(dot + row_term + (uint32_t)folded_bias[o]);
      const int q = p->per_channel ? o : 0;
      const int32_t scaled = te_requantize_kernel(acc, multiplier[q], shift[q]) + p->output_offset;
      out[o] = (int8_t)te_clamp(scaled, p->act_min, p->act_max);
    }
  }
}
