/* DEPTHWISE_CONV_2D, int8 with per-channel requantisation (TFLite Micro DepthwiseConvPerChannel semantics). */
#ifndef TE_DEPTHWISE_CONV2D_H
#define TE_DEPTHWISE_CONV2D_H

#include <stdint.h>

typedef struct {
  int batches, in_h, in_w, in_c, out_h, out_w, out_c, depth_multiplier, k_h, k_w;
  int stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
  int32_t input_offset, output_offset, act_min, act_max;
} te_depthwise_conv2d_params;

/* filter: [k_h][k_w][out_c] with out_c = in_c * depth_multiplier (output channel o reads input
 * channel o / depth_multiplier); bias, multiplier, shift: [out_c]. */
void te_depthwise_conv2d_s8(const te_depthwise_conv2d_params* p, const int8_t* input, const int8_t* filter,
                            const int32_t* bias, const int32_t* multiplier, const int8_t* shift, int8_t* output);

#endif
