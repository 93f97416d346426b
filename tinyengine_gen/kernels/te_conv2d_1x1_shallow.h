/* CONV_2D with a 1x1 filter, no padding, any stride, NHWC input and few (an even number
 * of) input channels: the shallow (outer-product) core reads the input pixels in place. */
#ifndef TE_CONV2D_1X1_SHALLOW_H
#define TE_CONV2D_1X1_SHALLOW_H

#include <stdint.h>

#include "te_conv2d_gemm.h"

/* filter: blocked as te_gemm_shallow_tile describes; bias: folded. No scratch. */
void te_conv2d_1x1_shallow_s8(const te_conv2d_gemm_params* p, const int8_t* input, const int8_t* filter,
                              const int32_t* bias, const int32_t* multiplier, const int8_t* shift, int8_t* output);

#endif
