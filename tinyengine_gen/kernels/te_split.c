/* Split as consecutive contiguous copies, the mirror image of te_concatenation. */
#include "te_split.h"

#include <string.h>

void te_split_bytes(int32_t outer, int num_outputs, const int32_t* chunk, const int8_t* input, int8_t* const* outputs) {
  for (int32_t o = 0; o < outer; ++o) {
    for (int i = 0; i < num_outputs; ++i) {
      const int32_t n = chunk[i];
      memcpy(outputs[i] + (long)o * n, input, (size_t)n);
      input += n;
    }
  }
}
