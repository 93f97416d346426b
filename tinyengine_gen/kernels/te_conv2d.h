/* CONV_2D, int8 with per-channel requantisation (TFLite Micro ConvPerChannel semantics):
 * the generic loop nest, one output at a time. The planner uses it only for receptive
 * fields too long for the GEMM kernels' scratch (te_conv2d_gemm.h, TE_GEMM_MAX_DEPTH). */
#ifndef TE_CONV2D_H
#define TE_CONV2D_H

#include <stdint.h>

typedef struct {
  int batches, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w;
  int stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
  int32_t input_offset, output_offset, act_min, act_max;
} te_conv2d_params;

/* filter: [out_c][k_h][k_w][in_c]; bias, multiplier, shift: [out_c]. */
void te_conv2d_s8(const te_conv2d_params* p, const int8_t* input, const int8_t* filter, const int32_t* bias,
                  const int32_t* multiplier, const int8_t* shift, int8_t* output);

#endif
