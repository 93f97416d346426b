/* SQUARED_DIFFERENCE, int8 (TFLite Micro semantics), with broadcasting. */
#ifndef TE_SQUARED_DIFFERENCE_H
#define TE_SQUARED_DIFFERENCE_H

#include <stdint.h>

#include "te_broadcast.h"

typedef struct {
  te_bcast nest;
  int32_t input1_offset, input2_offset, output_offset;
  int32_t input1_multiplier, input1_shift; /* shifts <= 0 */
  int32_t input2_multiplier, input2_shift;
  int32_t output_multiplier, output_shift; /* QuantizeMultiplier: either sign */
  int32_t left_shift;
} te_squared_difference_params;

void te_squared_difference_s8(const te_squared_difference_params* p, const int8_t* input1, const int8_t* input2,
                              int8_t* output);

#endif
