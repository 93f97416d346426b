/* DEPTHWISE_CONV_2D with 4-bit weights packed two per byte (te_int4.h), int8 activations,
 * per-channel requantisation: TFLite Micro's DepthwiseConvPerChannel on the same values. */
#ifndef TE_DEPTHWISE_INT4_H
#define TE_DEPTHWISE_INT4_H

#include <stdint.h>

#include "te_depthwise_conv2d.h"

/* The int8 kernel's parameters: only the filter and shift tables differ. */
typedef te_depthwise_conv2d_params te_depthwise_int4_params;

/* filter: [k_h][k_w][out_c] packed; output channel o reads input channel o / depth_multiplier;
 * shift: [out_c] int8. */
void te_depthwise_int4_s8(const te_depthwise_int4_params* p, const int8_t* input, const uint8_t* filter,
                          const int32_t* bias, const int32_t* multiplier, const int8_t* shift, int8_t* output);

#endif
