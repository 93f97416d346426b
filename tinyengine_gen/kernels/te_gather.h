/* GATHER along one axis (batch_dims 0), any element type as bytes (TFLite Micro's
 * reference Gather: copy whole slices picked by int32 indices). */
#ifndef TE_GATHER_H
#define TE_GATHER_H

#include <stdint.h>

/* input viewed as [outer, axis_size, inner_bytes]; output as [outer, count, inner_bytes].
 * An index outside [0, axis_size) (TFLite Micro fails the invocation) leaves its slice zero. */
void te_gather_bytes(int32_t outer, int32_t axis_size, int32_t inner_bytes, int32_t count, const int32_t* indices,
                     const int8_t* input, int8_t* output);

#endif
