/* CONV_2D with a 1x1 filter and no padding, any stride, NHWC input: a GEMM over
 * (output pixels x output channels x input channels) on the deep (dot-product) core. */
#ifndef TE_CONV2D_1X1_H
#define TE_CONV2D_1X1_H

#include <stdint.h>

#include "te_conv2d_gemm.h"

/* filter: [out_c][in_c]; bias: folded (bias + input_offset * sum of the channel's weights);
 * scratch: TE_GEMM_WIDE_BYTES(in_c) bytes, 2-byte aligned. */
void te_conv2d_1x1_s8(const te_conv2d_gemm_params* p, const int8_t* input, const int8_t* filter, const int32_t* bias,
                      const int32_t* multiplier, const int8_t* shift, int8_t* output, void* scratch);

#endif
