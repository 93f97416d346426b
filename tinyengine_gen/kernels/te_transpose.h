/* TRANSPOSE: any permutation of up to 5 dimensions (TFLite Micro reference semantics).
 * A strided gather in general: STRIDED_SLICE runs on it too, with its strides (which may
 * be negative) and the input pointer moved to the slice's first element. */
#ifndef TE_TRANSPOSE_H
#define TE_TRANSPOSE_H

#include <stdint.h>

#define TE_TRANSPOSE_MAX_RANK 5

/* Output dimensions (padded with leading 1s to rank 5) and, for each output dimension, the
 * input stride in elements of the input dimension it comes from. The output is dense. */
typedef struct {
  int out_shape[TE_TRANSPOSE_MAX_RANK];
  long in_stride[TE_TRANSPOSE_MAX_RANK];
} te_transpose_params;

void te_transpose_s8(const te_transpose_params* p, const int8_t* input, int8_t* output);
void te_transpose_s16(const te_transpose_params* p, const int16_t* input, int16_t* output);
void te_transpose_s32(const te_transpose_params* p, const int32_t* input, int32_t* output);
void te_transpose_f32(const te_transpose_params* p, const float* input, float* output);

#endif
