/* CONV_2D with a 1x1 filter, stride 1, no padding, batch 1, NHWC, whose output may lie
 * over its own input (output == input): MCUNet-style in-place pointwise convolution.
 *
 * Output pixel p depends on input pixel p only. Each tile of four pixels is copied into
 * scratch (widened to int16 for the deep core, as int8 for the shallow core) before any
 * of its outputs is written. Tiles run forward when out_c <= in_c: the outputs of pixels
 * [p0, p1) cover input bytes of pixels < p1 only, all consumed. They run backward when
 * out_c > in_c: those outputs cover input bytes of pixels >= p0 only, consumed too, going
 * from the end. The buffer needs max(input, output) bytes; separate buffers work as well. */
#ifndef TE_CONV2D_1X1_INPLACE_H
#define TE_CONV2D_1X1_INPLACE_H

#include <stdint.h>

#include "te_conv2d_gemm.h"

/* Deep core. filter: [out_c][in_c]; bias: folded; scratch: TE_GEMM_WIDE_BYTES(in_c) bytes, 2-byte aligned. */
void te_conv2d_1x1_inplace_s8(const te_conv2d_gemm_params* p, const int8_t* input, const int8_t* filter,
                              const int32_t* bias, const int32_t* multiplier, const int8_t* shift, int8_t* output,
                              void* scratch);

/* Shallow core (even in_c, weights in [-127, 127]). filter: blocked as te_gemm_shallow_tile
 * describes; scratch: TE_GEMM_PIXELS * in_c bytes. */
void te_conv2d_1x1_shallow_inplace_s8(const te_conv2d_gemm_params* p, const int8_t* input, const int8_t* filter,
                                      const int32_t* bias, const int32_t* multiplier, const int8_t* shift,
                                      int8_t* output, void* scratch);

#endif
