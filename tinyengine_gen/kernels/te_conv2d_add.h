/* CONV_2D followed by a same-shape ADD of its output to another map (a residual
 * connection), in one pass: the convolution's int8 output y of four pixels at a time goes
 * to a small tile in scratch (requantised and clamped exactly as the CONV_2D would write
 * it), then out = ADD(residual, y) exactly as TFLite Micro's AddFunc computes it, so the
 * full-size y never exists. The ADD reads the residual only at the pixel it writes, so the
 * output may lie over the residual (output == residual); it must not overlap the input. */
#ifndef TE_CONV2D_ADD_H
#define TE_CONV2D_ADD_H

#include <stdint.h>

#include "te_conv2d_gemm.h"
#include "te_conv_add_epilogue.h"

/* Which GEMM core computes the convolution, with the row source of the matching kernel. */
enum { TE_CONV_ADD_1X1_DEEP = 0, TE_CONV_ADD_1X1_SHALLOW = 1, TE_CONV_ADD_KXK_DEEP = 2, TE_CONV_ADD_KXK_SHALLOW = 3 };


/* Scratch: TE_CONV_ADD_TILE_BYTES(out_c) bytes for the tile of y, then the scratch of the
 * convolution's core (int16 rows for the 1x1 deep core; the int16 tile and then int8 im2col rows for kxk deep;
 * int8 im2col rows for kxk shallow). */
#define TE_CONV_ADD_TILE_BYTES(out_c) ((((long)TE_GEMM_PIXELS * (out_c)) + 15) / 16 * 16)

void te_conv2d_add_s8(const te_conv2d_gemm_params* p, const te_conv2d_add_params* a, const int8_t* input,
                      const int8_t* filter, const int32_t* bias, const int32_t* multiplier, const int8_t* shift,
                      const int8_t* residual, int8_t* output, void* scratch);

#endif
