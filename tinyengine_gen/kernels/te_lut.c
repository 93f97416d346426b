/* int8 unary operators by table lookup.
 *
 * TFLite Micro computes HARD_SWISH, RELU, LEAKY_RELU, TANH (fixed-point), ELU (its own
 * table, from float) and RSQRT element by element from the input byte and the tensors'
 * quantisation alone. The planner runs the numpy twin of each one on all 256 int8 values,
 * so the kernel is one load per element and 256 bytes of Flash, exact by construction.
 * The output may be the input itself (same size, element i read before it is written). */
#include "te_lut.h"

void te_lut_s8(int32_t size, const int8_t* table, const int8_t* input, int8_t* output) {
  for (int32_t i = 0; i < size; ++i) output[i] = table[(int32_t)input[i] + 128];
}
