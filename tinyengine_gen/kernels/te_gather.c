#include "te_gather.h"

#include <string.h>

/* One byte a slice (int8 values gathered along the last axis, e.g. the channels of a
 * convolution that computed only its live ones: passes/dead_channels.py): a load and a
 * store per value rather than a memcpy call. Indices are checked as below. */
static void te_gather_single_bytes(int32_t outer, int32_t axis_size, int32_t count, const int32_t* indices,
                                   const int8_t* input, int8_t* output) {
  for (int32_t o = 0; o < outer; ++o, input += axis_size, output += count) {
    for (int32_t i = 0; i < count; ++i) {
      const int32_t index = indices[i];
      output[i] = (index >= 0 && index < axis_size) ? input[index] : 0;
    }
  }
}

void te_gather_bytes(int32_t outer, int32_t axis_size, int32_t inner_bytes, int32_t count, const int32_t* indices,
                     const int8_t* input, int8_t* output) {
  if (inner_bytes == 1) {
    te_gather_single_bytes(outer, axis_size, count, indices, input, output);
    return;
  }
  for (int32_t o = 0; o < outer; ++o) {
    const int8_t* block = input + (long)o * axis_size * inner_bytes;
    for (int32_t i = 0; i < count; ++i) {
      const int32_t index = indices[i];
      if (index >= 0 && index < axis_size) {
        memcpy(output, block + (long)index * inner_bytes, (size_t)inner_bytes);
      } else {
        memset(output, 0, (size_t)inner_bytes);
      }
      output += inner_bytes;
    }
  }
}
