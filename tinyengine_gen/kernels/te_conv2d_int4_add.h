/* CONV_2D with packed 4-bit weights followed by a same-shape ADD of its output to another
 * map (a residual connection), in one pass: each output pixel's int8 convolution output y
 * (requantised and clamped exactly as te_conv2d_int4_s8 writes it) goes to `pixel` scratch
 * (out_c bytes), then out = ADD(residual, y) as te_conv2d_add.c computes it. The ADD reads
 * the residual only at the pixel it writes, so the output may lie over the residual; it
 * must not overlap the input. */
#ifndef TE_CONV2D_INT4_ADD_H
#define TE_CONV2D_INT4_ADD_H

#include <stdint.h>

#include "te_conv2d_int4.h"
#include "te_conv_add_epilogue.h"

void te_conv2d_int4_add_s8(const te_conv2d_int4_params* p, const te_conv2d_add_params* a, const int8_t* input,
                           const uint8_t* filter, const int32_t* bias, const int32_t* multiplier, const int8_t* shift,
                           const int8_t* residual, int8_t* output, int8_t* pixel);

#endif
