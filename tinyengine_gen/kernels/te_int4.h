/* Weights packed two per byte, as TFLite packs INT4 tensors (tensor_utils::UnpackDenseInt4IntoInt8):
 * the tensor flattened in row-major order, element 2i in the low nibble of byte i and element
 * 2i + 1 in the high nibble; an odd count leaves the last high nibble zero. A row of weights
 * (one output channel, one tap) may therefore start in the middle of a byte: every reader
 * here takes the row's element index, not a byte pointer.
 *
 * The nibbles are sign-extended without shifting a negative value ((v ^ 8) - 8), which is
 * exact and portable C99. Sums are of (int8 + offset) * int4 products, |term| <= 255 * 8, so
 * an int32 sum of up to 2^20 terms cannot overflow. */
#ifndef TE_INT4_H
#define TE_INT4_H

#include <stdint.h>

#include <string.h>

#include "te_fixedpoint.h"

static inline int32_t te_int4_low(uint8_t b) { return (int32_t)((b & 15u) ^ 8u) - 8; }
static inline int32_t te_int4_high(uint8_t b) { return (int32_t)((b >> 4) ^ 8u) - 8; }

/* Element i of a packed tensor. */
static inline int32_t te_int4_at(const uint8_t* packed, long i) {
  const uint8_t b = packed[i >> 1];
  return (i & 1) ? te_int4_high(b) : te_int4_low(b);
}

/* The dot products below take their weights four at a time from j on where the build can
 * (DSP builds: arm/te_int4_dsp.h, SXTAB16 adding the input offset to two inputs at once and
 * SMLAD two products, |x + offset| <= 255 fitting the int16 halves), as many steps as fit
 * before n, through steps of the same names in both builds:
 *   te_int4_dot_s8_by4(x, x_offset, &p, &j, n, &sum), te_int4_dot2_s8_by4(xa, xb,
 *   x_offset, &p, &j, n, &a, &b), te_int4_dot_s16_by4(x, &p, &j, n, &sum)
 * add their products to the sums and advance j and p past what they read; the portable
 * ones take no step, and the loops after them do the rest. (The loop state goes by
 * pointer, not by return value, so that each build compiles to the instructions it did
 * when the steps were written inline.) */
#ifdef TE_DSP
#include "arm/te_int4_dsp.h"
#else
TE_INLINE void te_int4_dot_s8_by4(const int8_t* x, int32_t x_offset, const uint8_t** p, int* j, int n, int32_t* sum) {
  (void)x, (void)x_offset, (void)p, (void)j, (void)n, (void)sum;
}
TE_INLINE void te_int4_dot2_s8_by4(const int8_t* xa, const int8_t* xb, int32_t x_offset, const uint8_t** p, int* j,
                                    int n, int32_t* a, int32_t* b) {
  (void)xa, (void)xb, (void)x_offset, (void)p, (void)j, (void)n, (void)a, (void)b;
}
TE_INLINE void te_int4_dot_s16_by4(const int16_t* x, const uint8_t** p, int* j, int n, int32_t* sum) {
  (void)x, (void)p, (void)j, (void)n, (void)sum;
}
#endif

/* sum_j (x[j] + x_offset) * w[start + j] for j < n, w packed: two weights per byte read
 * (DSP: four a step, te_int4_dot_s8_by4). */
static inline int32_t te_int4_dot_s8(const int8_t* x, int32_t x_offset, const uint8_t* packed, long start, int n) {
  const uint8_t* p = packed + (start >> 1);
  int32_t sum = 0;
  int j = 0;
  if ((start & 1) && n > 0) {
    sum += ((int32_t)x[0] + x_offset) * te_int4_high(*p++);
    j = 1;
  }
  te_int4_dot_s8_by4(x, x_offset, &p, &j, n, &sum);
  for (; j + 2 <= n; j += 2, ++p) {
    const uint8_t b = *p;
    sum += ((int32_t)x[j] + x_offset) * te_int4_low(b) + ((int32_t)x[j + 1] + x_offset) * te_int4_high(b);
  }
  if (j < n) sum += ((int32_t)x[j] + x_offset) * te_int4_low(*p);
  return sum;
}

/* te_int4_dot_s8 of two inputs xa, xb on the same weights, each weight unpacked once for both
 * (two output pixels of a convolution): *sa and *sb. */
static inline void te_int4_dot2_s8(const int8_t* xa, const int8_t* xb, int32_t x_offset, const uint8_t* packed,
                                   long start, int n, int32_t* sa, int32_t* sb) {
  const uint8_t* p = packed + (start >> 1);
  int32_t a = 0, b = 0;
  int j = 0;
  if ((start & 1) && n > 0) {
    const int32_t w = te_int4_high(*p++);
    a += ((int32_t)xa[0] + x_offset) * w;
    b += ((int32_t)xb[0] + x_offset) * w;
    j = 1;
  }
  te_int4_dot2_s8_by4(xa, xb, x_offset, &p, &j, n, &a, &b);
  for (; j + 2 <= n; j += 2, ++p) {
    const int32_t lo = te_int4_low(*p), hi = te_int4_high(*p);
    a += ((int32_t)xa[j] + x_offset) * lo + ((int32_t)xa[j + 1] + x_offset) * hi;
    b += ((int32_t)xb[j] + x_offset) * lo + ((int32_t)xb[j + 1] + x_offset) * hi;
  }
  if (j < n) {
    const int32_t w = te_int4_low(*p);
    a += ((int32_t)xa[j] + x_offset) * w;
    b += ((int32_t)xb[j] + x_offset) * w;
  }
  *sa = a;
  *sb = b;
}

/* sum_j x[j] * w[start + j] for j < n, x already widened to int16 (|x| <= 255). */
static inline int32_t te_int4_dot_s16(const int16_t* x, const uint8_t* packed, long start, int n) {
  const uint8_t* p = packed + (start >> 1);
  int32_t sum = 0;
  int j = 0;
  if ((start & 1) && n > 0) {
    sum += (int32_t)x[0] * te_int4_high(*p++);
    j = 1;
  }
  te_int4_dot_s16_by4(x, &p, &j, n, &sum);
  for (; j + 2 <= n; j += 2, ++p) {
    const uint8_t b = *p;
    sum += (int32_t)x[j] * te_int4_low(b) + (int32_t)x[j + 1] * te_int4_high(b);
  }
  if (j < n) sum += (int32_t)x[j] * te_int4_low(*p);
  return sum;
}

/* w[start .. start + 3] as the word te_load_u32 reads from four int8 weights (little endian):
 * what the DSP kernels widen with SXTB16 once per row. */
static inline uint32_t te_int4_word(const uint8_t* packed, long start) {
  uint32_t word = 0;
  for (int j = 0; j < 4; ++j) word |= (uint32_t)(uint8_t)(int8_t)te_int4_at(packed, start + j) << (8 * j);
  return word;
}

/* w[start + j] for j < n into dst (int8), for kernels whose inner loop is over channels. */
static inline void te_int4_unpack(const uint8_t* packed, long start, int n, int8_t* dst) {
  for (int j = 0; j < n; ++j) dst[j] = (int8_t)te_int4_at(packed, start + j);
}

/* Kernels that read either int8 weights (bits 8) or packed ones (bits 4) with one loop nest,
 * `bits` a constant of each instantiation (the bits-8 code is the plain int8 read). */

/* Shift i of a requantisation table: int8 entries at either width (every planned shift is in
 * [-31, 31]; the tables are per channel, so int8 saves three Flash bytes a channel). */
TE_INLINE int32_t te_shift_at(const void* shift, int i, const int bits) {
  (void)bits;
  return (int32_t)((const int8_t*)shift)[i];
}

/* The n weights at element index at of the filter: a pointer into an int8 filter, or the
 * packed ones unpacked into buf (n at most its size). */
TE_INLINE const int8_t* te_weights_at(const void* filter, long at, int n, int8_t* buf, const int bits) {
  if (bits == 4) {
    te_int4_unpack((const uint8_t*)filter, at, n, buf);
    return buf;
  }
  return (const int8_t*)filter + at;
}

#endif
