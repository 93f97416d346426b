/* Generic transpose: walk the output in order (so writes are contiguous) and gather from the
 * input through precomputed strides. The planner has already dropped size-1 dimensions and
 * merged dimensions that stay adjacent, so an innermost input stride of 1 means whole rows
 * can be copied at once. Only values are moved, so one loop per element size serves all types. */
#include "te_transpose.h"

#include <string.h>

#define TE_TRANSPOSE_BODY(T)                                                              \
  const int n0 = p->out_shape[0], n1 = p->out_shape[1], n2 = p->out_shape[2];             \
  const int n3 = p->out_shape[3], n4 = p->out_shape[4];                                   \
  const long s0 = p->in_stride[0], s1 = p->in_stride[1], s2 = p->in_stride[2];            \
  const long s3 = p->in_stride[3], s4 = p->in_stride[4];                                  \
  T* out = output;                                                                        \
  for (int i0 = 0; i0 < n0; ++i0) {                                                       \
    for (int i1 = 0; i1 < n1; ++i1) {                                                     \
      for (int i2 = 0; i2 < n2; ++i2) {                                                   \
        for (int i3 = 0; i3 < n3; ++i3) {                                                 \
          const T* in = input + i0 * s0 + i1 * s1 + i2 * s2 + i3 * s3;                    \
          if (s4 == 1) {                                                                  \
            memcpy(out, in, (size_t)n4 * sizeof(T));                                      \
          } else {                                                                        \
            for (int i4 = 0; i4 < n4; ++i4) out[i4] = in[i4 * s4];                        \
          }                                                                               \
          out += n4;                                                                      \
        }                                                                                 \
      }                                                                                   \
    }                                                                                     \
  }

void te_transpose_s8(const te_transpose_params* p, const int8_t* input, int8_t* output) { TE_TRANSPOSE_BODY(int8_t) }

void te_transpose_s16(const te_transpose_params* p, const int16_t* input, int16_t* output) {
  TE_TRANSPOSE_BODY(int16_t)
}

void te_transpose_s32(const te_transpose_params* p, const int32_t* input, int32_t* output) {
  TE_TRANSPOSE_BODY(int32_t)
}

void te_transpose_f32(const te_transpose_params* p, const float* input, float* output) { TE_TRANSPOSE_BODY(float) }
