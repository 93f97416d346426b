/* Generic int8 depthwise convolution: the loop nest of te_depthwise_loop.h with int8 weights. */
#include "te_depthwise_conv2d.h"

#include "te_depthwise_loop.h"

void te_depthwise_conv2d_s8(const te_depthwise_conv2d_params* p, const int8_t* input, const int8_t* filter,
                            const int32_t* bias, const int32_t* multiplier, const int8_t* shift, int8_t* output) {
  te_depthwise_loop(p, input, filter, bias, multiplier, shift, output, 8);
}
