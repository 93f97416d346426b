#include "te_gather.h"

#include <string.h>

void te_gather_bytes(int32_t outer, int32_t axis_size, int32_t inner_bytes, int32_t count, const int32_t* indices,
                     const int8_t* input, int8_t* output) {
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
