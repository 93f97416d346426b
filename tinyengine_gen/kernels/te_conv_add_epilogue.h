/* The ADD half of a CONV_2D fused with its residual ADD (te_conv2d_add.c with int8 weights,
 * te_conv2d_int4_add.c with packed 4-bit ones): the convolution's int8 output y, as the
 * CONV_2D would have written it, added to the residual exactly as TFLite Micro's AddFunc does. */
#ifndef TE_CONV_ADD_EPILOGUE_H
#define TE_CONV_ADD_EPILOGUE_H

#include <stdint.h>

#include "te_add_requant.h"

/* The ADD half: each input's rescaling ((q + offset) << left_shift, times a multiplier below
 * one), then the output's. The sum of the two rescaled values does not depend on which one
 * was the ADD's first input, so only the pairing of parameters with maps matters. `core`:
 * the GEMM core of te_conv2d_add.c (unused by the int4 kernel). */
typedef struct {
  int core;
  int32_t residual_offset, residual_multiplier, residual_shift;
  int32_t conv_offset, conv_multiplier, conv_shift;
  int32_t left_shift, output_multiplier, output_shift, output_offset, act_min, act_max;
} te_conv2d_add_params;

TE_INLINE int32_t te_conv_add_scale(int32_t q, int32_t offset, int32_t left_shift, int32_t multiplier, int32_t shift) {
  return te_add_requantize((q + offset) * ((int32_t)1 << left_shift), multiplier, shift);
}

/* out[i] = ADD(residual[i], y[i]) for n values (out may be residual). A plain static
 * function (the compiler decides where to inline it, as it did when it lived in
 * te_conv2d_add.c), marked unused for the translation units that include this header and
 * do not call it (model.c). */
#if defined(__GNUC__)
__attribute__((unused))
#endif
static void te_conv_add_epilogue(const te_conv2d_add_params* a, const int8_t* y, const int8_t* residual, int8_t* out,
                                 long n) {
  const int32_t ls = a->left_shift;
  for (long i = 0; i < n; ++i) {
    const int32_t r = te_conv_add_scale(residual[i], a->residual_offset, ls, a->residual_multiplier, a->residual_shift);
    const int32_t c = te_conv_add_scale(y[i], a->conv_offset, ls, a->conv_multiplier, a->conv_shift);
    out[i] = te_add_output(r + c, a->output_multiplier, a->output_shift, a->output_offset, a->act_min, a->act_max);
  }
}

#endif
