/* LOG_SOFTMAX, int8 over the last axis (TFLite Micro reference LogSoftmaxQuantized semantics). */
#ifndef TE_LOG_SOFTMAX_H
#define TE_LOG_SOFTMAX_H

#include <stdint.h>

typedef struct {
  int32_t outer, depth;
  int32_t input_multiplier, input_left_shift; /* differences to Q5.26 */
  int32_t reverse_scaling_divisor, reverse_scaling_shift;
  int32_t diff_min;
} te_log_softmax_params;

/* exp_table[k]: exp of the difference -k in Q12.19 (0 below diff_min), k = 0..255.
 * Output quantisation is fixed: scale 16/256, zero point 127. */
void te_log_softmax_s8(const te_log_softmax_params* p, const int32_t* exp_table, const int8_t* input,
                       int8_t* output);

#endif
