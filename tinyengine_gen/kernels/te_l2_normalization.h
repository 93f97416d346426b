/* L2_NORMALIZATION, int8 over the last axis (TFLite Micro reference_integer_ops semantics). */
#ifndef TE_L2_NORMALIZATION_H
#define TE_L2_NORMALIZATION_H

#include <stdint.h>

/* outer rows of depth values; outputs in steps of 1/128, zero point 0. */
void te_l2_normalization_s8(int32_t outer, int32_t depth, int32_t input_zero_point, const int8_t* input,
                            int8_t* output);

#endif
