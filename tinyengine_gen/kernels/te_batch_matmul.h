/* BATCH_MATMUL, int8 x int8 -> int8 (TFLite Micro's reference: per-tensor quantisation,
 * one multiplier, no fused activation). The planner resolves broadcasting and the adjoint
 * flags into, for each output matrix, the offsets of its two operand matrices, and into
 * element strides, so one loop serves every layout. */
#ifndef TE_BATCH_MATMUL_H
#define TE_BATCH_MATMUL_H

#include <stdint.h>

typedef struct {
  int batches, rows, cols, depth;
  long lhs_row_stride, lhs_depth_stride; /* lhs element (i, k) at i * row + k * depth */
  long rhs_depth_stride, rhs_col_stride; /* rhs element (k, j) at k * depth + j * col */
  const int32_t* lhs_batch_offset;       /* batches values */
  const int32_t* rhs_batch_offset;
  int32_t lhs_offset, rhs_offset, output_offset;
  int32_t multiplier, shift;
} te_batch_matmul_params;

void te_batch_matmul_s8(const te_batch_matmul_params* p, const int8_t* lhs, const int8_t* rhs, int8_t* output);

#endif
