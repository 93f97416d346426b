/* REDUCE_MAX, int8 (TFLite Micro EvalMax semantics: the largest raw byte, no requantisation). */
#ifndef TE_REDUCE_MAX_H
#define TE_REDUCE_MAX_H

#include <stdint.h>

/* The input viewed as [k0][r1][k1][r2][k2]; the r dims are reduced, the output is [k0][k1][k2]. */
typedef struct {
  int32_t k0, r1, k1, r2, k2;
} te_reduce_max_params;

void te_reduce_max_s8(const te_reduce_max_params* p, const int8_t* input, int8_t* output);

#endif
