/* Element-wise int8 -> int8 operators that are functions of the input byte alone
 * (HARD_SWISH, RELU, RELU6, LEAKY_RELU, TANH, ELU, RSQRT), by table lookup. */
#ifndef TE_LUT_H
#define TE_LUT_H

#include <stdint.h>

/* output[i] = table[input[i] + 128]. The planner fills the 256-entry table with the
 * operator's TFLite Micro integer arithmetic evaluated on every int8 value. */
void te_lut_s8(int32_t size, const int8_t* table, const int8_t* input, int8_t* output);

#endif
