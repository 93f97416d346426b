/* CONV_2D with few output channels (<= 16) and a short receptive field (first layers with
 * 1 to 4 input channels, small pointwise layers): any filter size, stride, dilation and
 * padding, NHWC or NCHW input. Output pixels are the vector lanes: the receptive fields of
 * 32 output pixels are gathered into a [depth][32] tile, then each output channel is one
 * pass of broadcast-weight multiply-adds over the 32 pixels, so no lane is wasted on
 * channels the layer does not have. */
#ifndef TE_CONV2D_NARROW_H
#define TE_CONV2D_NARROW_H

#include <stdint.h>

#include "te_conv2d_gemm.h"

#define TE_NARROW_PIXELS 32 /* output pixels per tile (vector lanes) */

/* filter: int16, doubled, the planner's narrow_filter_layout: channel pairs as
 * [out_c / 2][depth / 4][2][4], each group of four weights in the order (w0, w2, w1, w3),
 * zeros past the tap count (depth a multiple of four) and in the channel that makes out_c
 * even; bias: folded; scratch: (TE_NARROW_PIXELS + 1) * depth + 16 * (out_c rounded up to
 * even) bytes. */
void te_conv2d_narrow_s8(const te_conv2d_gemm_params* p, const int8_t* input, const int16_t* filter,
                         const int32_t* bias, const int32_t* multiplier, const int8_t* shift, int8_t* output,
                         void* scratch);

#endif
