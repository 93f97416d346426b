/* CONV_2D with a short receptive field (k_h * k_w * in_c up to a few dozen values: first
 * layers with 1 to 4 input channels, small 1x1 or padded convolutions), any stride,
 * dilation and padding, NHWC or NCHW input: im2col of four output pixels into scratch,
 * then the shallow (outer-product) core. */
#ifndef TE_CONV2D_KXK_SHALLOW_H
#define TE_CONV2D_KXK_SHALLOW_H

#include <stdint.h>

#include "te_conv2d_gemm.h"

/* filter: blocked as te_gemm_shallow_tile describes; bias: folded; scratch: 4 * depth bytes. */
void te_conv2d_kxk_shallow_s8(const te_conv2d_gemm_params* p, const int8_t* input, const int8_t* filter,
                              const int32_t* bias, const int32_t* multiplier, const int8_t* shift, int8_t* output,
                              void* scratch);

#endif
