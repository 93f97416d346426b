/* CONCATENATION (and PACK), int8 or int32 as bytes (TFLite Micro: int8 inputs and output share scale and zero point,
 * so it is a byte copy). */
#ifndef TE_CONCATENATION_H
#define TE_CONCATENATION_H

#include <stdint.h>

#define TE_CONCATENATION_MAX_INPUTS 10

typedef struct {
  int num_inputs;
  int32_t outer;                               /* product of the output dimensions before the axis */
  int32_t chunk[TE_CONCATENATION_MAX_INPUTS];  /* bytes of each input per outer index */
} te_concatenation_params;

void te_concatenation_s8(const te_concatenation_params* p, const int8_t* const* inputs, int8_t* output);

#endif
