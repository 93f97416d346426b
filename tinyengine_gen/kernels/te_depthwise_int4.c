/* DEPTHWISE_CONV_2D with packed 4-bit weights: the loop nest of te_depthwise_loop.h, each tap's
 * block of weights unpacked onto the stack, two per byte read. */
#include "te_depthwise_int4.h"

#include "te_depthwise_loop.h"

void te_depthwise_int4_s8(const te_depthwise_int4_params* p, const int8_t* input, const uint8_t* filter,
                          const int32_t* bias, const int32_t* multiplier, const int8_t* shift, int8_t* output) {
  te_depthwise_loop(p, input, filter, bias, multiplier, shift, output, 4);
}
