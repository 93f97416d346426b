/* MINIMUM and MAXIMUM, int8 (TFLite Micro semantics: raw bytes compared), with broadcasting. */
#ifndef TE_MINMAX_H
#define TE_MINMAX_H

#include <stdint.h>

#include "te_broadcast.h"

typedef struct {
  te_bcast nest;
} te_minmax_params;

void te_maximum_s8(const te_minmax_params* p, const int8_t* input1, const int8_t* input2, int8_t* output);
void te_minimum_s8(const te_minmax_params* p, const int8_t* input1, const int8_t* input2, int8_t* output);

#endif
