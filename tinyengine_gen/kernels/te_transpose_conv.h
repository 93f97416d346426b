/* TRANSPOSE_CONV, int8 with per-channel or per-tensor weights (TFLite Micro's reference
 * integer TransposeConv): every input pixel scatters input * filter into an int32 scratch
 * image the size of the output, then each sum gets its bias and is requantised per output
 * channel. The images of a batch run one after the other. */
#ifndef TE_TRANSPOSE_CONV_H
#define TE_TRANSPOSE_CONV_H

#include <stdint.h>

typedef struct {
  int batch;
  int in_h, in_w, in_c;
  int out_h, out_w, out_c;
  int kernel_h, kernel_w;
  int stride_h, stride_w;
  int pad_top, pad_left;
  int32_t input_offset, output_offset;
  int32_t act_min, act_max;
} te_transpose_conv_params;

/* filter: [out_c, kernel_h, kernel_w, in_c]; bias, multiplier, shift: out_c values;
 * scratch: out_h * out_w * out_c int32 values (one image). */
void te_transpose_conv_s8(const te_transpose_conv_params* p, const int8_t* input, const int8_t* filter,
                          const int32_t* bias, const int32_t* multiplier, const int8_t* shift, int32_t* scratch,
                          int8_t* output);

#endif
