/* FULLY_CONNECTED, int8 (TFLite Micro FullyConnected / FullyConnectedPerChannel semantics). */
#ifndef TE_FULLY_CONNECTED_H
#define TE_FULLY_CONNECTED_H

#include <stdint.h>

typedef struct {
  int batches, depth, out_c;
  int per_channel;         /* 1: multiplier/shift have out_c entries; 0: one entry for every channel */
  int32_t weights_offset;  /* -(filter zero point); 0 for symmetric weights */
  int32_t output_offset, act_min, act_max;
} te_fully_connected_params;

/* input: [batches][depth]; filter: [out_c][depth]; output: [batches][out_c].
 * folded_bias[o] = bias[o] + input_offset * sum_d (filter[o][d] + weights_offset), computed when
 * the model is compiled, so the inner loop is a plain dot product. No scratch. */
void te_fully_connected_s8(const te_fully_connected_params* p, const int8_t* input, const int8_t* filter,
                           const int32_t* folded_bias, const int32_t* multiplier, const int8_t* shift,
                           int8_t* output);

#endif
