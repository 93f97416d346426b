/* CONV_2D with 4-bit weights packed two per byte (te_int4.h), int8 activations, per-channel
 * requantisation: TFLite Micro's ConvPerChannel on the same values, bit for bit. One loop nest
 * for 1x1 and KxK filters; each tap's in_c weights are read as a packed run, two per byte. */
#ifndef TE_CONV2D_INT4_H
#define TE_CONV2D_INT4_H

#include <stdint.h>

typedef struct {
  int batches, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w;
  int stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
  int32_t input_offset, output_offset, act_min, act_max;
} te_conv2d_int4_params;

/* filter: [out_c][k_h][k_w][in_c] packed (element index o*k_h*k_w*in_c + ...); bias, multiplier: [out_c];
 * shift: [out_c] int8 (shifts lie in [-31, 30]: a quarter of the int32 table's Flash). */
void te_conv2d_int4_s8(const te_conv2d_int4_params* p, const int8_t* input, const uint8_t* filter,
                       const int32_t* bias, const int32_t* multiplier, const int8_t* shift, int8_t* output);

/* 1x1, stride 1, no padding, batch 1, output over the input `data`; pixel: in_c bytes of scratch. */
void te_conv2d_int4_1x1_inplace_s8(const te_conv2d_int4_params* p, int8_t* data, const uint8_t* filter,
                                   const int32_t* bias, const int32_t* multiplier, const int8_t* shift,
                                   int8_t* pixel);

#endif
