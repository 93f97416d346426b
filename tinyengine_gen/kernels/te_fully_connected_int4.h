/* FULLY_CONNECTED with 4-bit weights packed two per byte (te_int4.h), int8 activations
 * (TFLite Micro FullyConnected / FullyConnectedPerChannel on the same values). */
#ifndef TE_FULLY_CONNECTED_INT4_H
#define TE_FULLY_CONNECTED_INT4_H

#include <stdint.h>

typedef struct {
  int batches, depth, out_c;
  int per_channel;        /* 1: multiplier/shift have out_c entries; 0: one entry */
  int32_t weights_offset; /* -(filter zero point); 0 for symmetric weights */
  int32_t output_offset, act_min, act_max;
} te_fully_connected_int4_params;

/* filter: [out_c][depth] packed; folded_bias[o] = bias[o] + input_offset * sum_d (w[o][d] + weights_offset);
 * no scratch. */
void te_fully_connected_int4_s8(const te_fully_connected_int4_params* p, const int8_t* input, const uint8_t* filter,
                                const int32_t* folded_bias, const int32_t* multiplier, const int8_t* shift,
                                int8_t* output);

#endif
