/* Broadcast loop nests for binary element-wise kernels (ADD, MUL, SUB, MINIMUM, ...).
 *
 * The planner folds numpy-style broadcasting (what TFLite Micro's
 * BroadcastBinaryOpSimple does) into at most TE_BCAST_MAX_LOOPS nested loops, merging
 * neighbouring dimensions that are contiguous in both inputs. Every loop has an output
 * extent and, per input, the element step of one iteration (0 where that input is
 * broadcast along the loop) and the step back after a full loop (extent * step), so the
 * kernel never divides. The output is always written contiguously. The innermost loop
 * has input steps of 0 or 1.
 */
#ifndef TE_BROADCAST_H
#define TE_BROADCAST_H

#include <stdint.h>

#include "te_fixedpoint.h"

#define TE_BCAST_MAX_LOOPS 6

typedef struct {
  int loops;                           /* number of loops, 1..TE_BCAST_MAX_LOOPS; loop 0 is outermost */
  int32_t extent[TE_BCAST_MAX_LOOPS];  /* output extent of each loop */
  int32_t step1[TE_BCAST_MAX_LOOPS];   /* input 1 elements per iteration (0: broadcast) */
  int32_t step2[TE_BCAST_MAX_LOOPS];   /* input 2 elements per iteration (0: broadcast) */
  int32_t back1[TE_BCAST_MAX_LOOPS];   /* extent * step1: rewind after a full loop */
  int32_t back2[TE_BCAST_MAX_LOOPS];   /* extent * step2 */
} te_bcast;

/* Advances the odometer of the loops outside the innermost one. Returns 0 when every
 * row has been visited. ``index`` must start zeroed; ``off1``/``off2`` are the input
 * offsets (in elements) of the next row. */
TE_INLINE int te_bcast_next_row(const te_bcast* b, int32_t* index, int32_t* off1, int32_t* off2) {
  for (int d = b->loops - 2; d >= 0; --d) {
    *off1 += b->step1[d];
    *off2 += b->step2[d];
    if (++index[d] < b->extent[d]) return 1;
    index[d] = 0;
    *off1 -= b->back1[d];
    *off2 -= b->back2[d];
  }
  return 0;
}

/* One row of a binary kernel: ``n`` outputs from ``a`` and ``b`` advancing by ``step_a`` /
 * ``step_b`` (0 or 1) per element; ``params`` is the kernel's own parameter struct. */
typedef void (*te_bcast_row_fn)(const void* params, const int8_t* a, int32_t step_a, const int8_t* b, int32_t step_b,
                                int8_t* out, int32_t n);

/* Runs ``row`` over every innermost row of the nest, writing the output contiguously: the
 * one driver of the kernels of ADD, MUL, SUB, MINIMUM, MAXIMUM, SQUARED_DIFFERENCE and PRELU,
 * which are a row function each. It is always inlined into the kernel and ``row`` is a
 * static function there, so the compiler calls the row directly (and inlines it): the
 * pointer costs nothing at run time (the Arm objects are those of a direct call). */
TE_INLINE void te_bcast_run(const te_bcast* nest, te_bcast_row_fn row, const void* params, const int8_t* input1,
                            const int8_t* input2, int8_t* output) {
  const int inner = nest->loops - 1;
  const int32_t n = nest->extent[inner];
  int32_t index[TE_BCAST_MAX_LOOPS] = {0};
  int32_t off1 = 0, off2 = 0;
  do {
    row(params, input1 + off1, nest->step1[inner], input2 + off2, nest->step2[inner], output, n);
    output += n;
  } while (te_bcast_next_row(nest, index, &off1, &off2));
}

#endif /* TE_BROADCAST_H */
