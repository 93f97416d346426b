/* RESIZE_BILINEAR, int8 NHWC (TFLite Micro ResizeBilinearInteger semantics). */
#ifndef TE_RESIZE_BILINEAR_H
#define TE_RESIZE_BILINEAR_H

#include <stdint.h>

typedef struct {
  int32_t batches, in_h, in_w, depth, out_h, out_w;
} te_resize_bilinear_params;

/* rows[3 * y] = (lower source row, upper source row, position in 1/1024) of output row y;
 * cols likewise for output columns. Computed when the model is compiled. */
void te_resize_bilinear_s8(const te_resize_bilinear_params* p, const int32_t* rows, const int32_t* cols,
                           const int8_t* input, int8_t* output);

#endif
