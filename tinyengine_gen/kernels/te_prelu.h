/* PRELU, int8 (TFLite Micro reference BroadcastPrelu4DSlow semantics), alpha broadcast. */
#ifndef TE_PRELU_H
#define TE_PRELU_H

#include <stdint.h>

#include "te_broadcast.h"

typedef struct {
  te_bcast nest;
  int32_t input_offset, alpha_offset, output_offset;
  int32_t output_multiplier_1, output_shift_1; /* x >= 0: input scale / output scale */
  int32_t output_multiplier_2, output_shift_2; /* x < 0: input * alpha scale / output scale */
} te_prelu_params;

void te_prelu_s8(const te_prelu_params* p, const int8_t* input, const int8_t* alpha, int8_t* output);

#endif
