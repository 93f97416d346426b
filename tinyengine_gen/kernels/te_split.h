/* SPLIT, SPLIT_V and UNPACK: one input cut into consecutive chunks along an axis (TFLite
 * Micro copies the values; no requantisation). Sizes are in bytes, so one kernel serves
 * every element type. */
#ifndef TE_SPLIT_H
#define TE_SPLIT_H

#include <stdint.h>

/* For each of `outer` indices of the dimensions before the axis, output i receives the
 * next chunk[i] bytes of the input. */
void te_split_bytes(int32_t outer, int num_outputs, const int32_t* chunk, const int8_t* input, int8_t* const* outputs);

#endif
