/* CONV_2D with any filter size, stride, dilation and padding, NHWC or NCHW input: im2col
 * of four output pixels into scratch, then the deep (dot-product) core. */
#ifndef TE_CONV2D_KXK_H
#define TE_CONV2D_KXK_H

#include <stdint.h>

#include "te_conv2d_gemm.h"

/* filter: [out_c][k_h * k_w * in_c]; bias: folded; scratch: TE_GEMM_WIDE_BYTES(depth)
 * + TE_GEMM_PIXELS * depth bytes (the int16 tile, then the int8 im2col rows), word aligned. */
void te_conv2d_kxk_s8(const te_conv2d_gemm_params* p, const int8_t* input, const int8_t* filter, const int32_t* bias,
                      const int32_t* multiplier, const int8_t* shift, int8_t* output, void* scratch);

#endif
