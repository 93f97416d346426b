/* The GEMM core the fast CONV_2D kernels share: a few output pixels times all output
 * channels, int32 accumulation, then one te_requantize per output.
 *
 * A convolution is a matrix product: one row per output pixel (its receptive field,
 * `depth` values), one column per output channel (that channel's filter). The input
 * offset is folded into the bias at planning time,
 *     sum_k (x_k + input_offset) * w_k = sum_k x_k * w_k + input_offset * sum_k w_k,
 * so the inner loops multiply raw int8 values. Integer arithmetic is exact and nothing
 * here can overflow int32 (|x * w| <= 128 * 128 and depth <= TE_GEMM_MAX_DEPTH), so the
 * result equals TFLite Micro's ConvPerChannel bit for bit. A padded tap holds the input
 * zero point, which contributes (zero_point + input_offset) * w = 0, as skipping it does.
 *
 * Two cores, chosen by the planner from the depth:
 *  - "deep" (dot product): rows widened to int16 in scratch; 4 pixels x 4 channels of
 *    int32 sums over the depth, a loop GCC turns into pmaddwd (SSE2) or vpdpwssd
 *    (AVX-512 VNNI). Good when the depth is long (>= ~48).
 *  - "shallow" (outer product): for each pair of depth positions, 4 pixels times a block
 *    of 32 channels, the two products summed in int16 and added to int32
 *    accumulators. Its inner loop runs over channels, so a depth of 8 is as efficient as
 *    a depth of 500. It needs an even depth and weights in [-127, 127] (then a pair sum
 *    is at most 2 * 128 * 127 = 32512, which int16 holds); the planner checks both and
 *    reorders the weights into blocks of [depth / 2][2][block].
 * Outputs are requantised a row of up to 32 channels at a time, one loop over contiguous
 * channels, so that a compiler able to vectorise te_requantize does so.
 *
 * DSP builds (TE_DSP, te_fixedpoint.h: Armv7E-M with its DSP instructions) replace the
 * cores, with the same results, by code built around SMLAD (two int16 products summed into
 * int32 in one instruction) on int8 values widened in pairs by SXTB16:
 *  - deep, on rows from te_gemm_widen (1x1 layers, the narrow kernel): the tile is stored
 *    interleaved, [depth / 4][4 pixels][x0, x2, x1, x3] (the order in which SXTB16 and
 *    SXTB16-of-ROR-8 widen four weights), then the depth % 4 tail as [4 pixels][tail].
 *    One channel at a time against the 4 pixels: per four depth values 1 weight load,
 *    2 SXTB16, 4 LDRD (post-increment) and 8 SMLAD for 16 MACs, with registers to spare.
 *  - deep, on im2col rows (kxk layers): rows stay [4][depth] in the DSP order; 2 pixels x
 *    2 channels a step: 2 weight loads, 4 SXTB16, 4 row loads and 8 SMLAD for 16 MACs.
 *  - shallow: the pixels' (x_k, x_k+1) pairs are packed once per tile; a channel pair's
 *    weights of a depth pair, 32 bytes apart in a block, are joined into one word whose
 *    SXTB16s are the two channels' (w_k, w_k+1) pairs: 2 channels x 4 pixels a step.
 * Each channel's sums go straight from registers to its outputs. Where the planner set
 * fast_requant (te_requantize_rq's preconditions hold for every channel) a value takes
 * add, lsl, SMMLAR, asr and SSAT (the clamp, when it is the whole int8 range), with no
 * branch; otherwise te_requantize_fast and the clamp.
 * Every function here is static inline: the kernels that include this header each get
 * their own copy, compiled with the block sizes as constants. C99, no allocation.
 */
#ifndef TE_CONV2D_GEMM_H
#define TE_CONV2D_GEMM_H

#include <stdint.h>

#include "te_fixedpoint.h"

#define TE_GEMM_PIXELS 4      /* output pixels computed together (rows of the tile) */
#define TE_GEMM_CHUNK 32      /* output channels requantised together */
#define TE_GEMM_BLOCK 32      /* channels of one shallow weight block */
#define TE_GEMM_MAX_DEPTH 16384 /* the planner uses the generic kernel beyond this */

/* What the fast kernels need; the planner fills every field. */
typedef struct {
  int batches, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w;
  int stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
  int depth;     /* k_h * k_w * in_c, rounded up to even for the shallow core */
  int nchw;      /* 1: input element (b, y, x, c) at ((b * in_c + c) * in_h + y) * in_w + x */
  int pad_value; /* the input zero point (-input_offset) */
  int32_t output_offset, act_min, act_max;
  int fast_requant; /* 1: te_requantize_rq is exact for every channel (DSP kernels only) */
} te_conv2d_gemm_params;

/* Bytes of the deep core's int16 tile of four rows: the scratch of the deep kernels. */
#define TE_GEMM_WIDE_BYTES(depth) ((long)TE_GEMM_PIXELS * (depth) * 2)

/* out[j] = clamp(requantize(acc[j] + bias[j]) + output_offset) for n contiguous channels.
 * The clamp is two independent selects rather than te_clamp's nested one, which GCC
 * compiles to a branch that a ReLU layer mispredicts on every other output. */
TE_INLINE void te_gemm_requant_row(const int32_t* acc, int n, const int32_t* bias, const int32_t* multiplier,
                                   const int32_t* shift, const te_conv2d_gemm_params* p, int8_t* out) {
  const int32_t offset = p->output_offset, lo = p->act_min, hi = p->act_max;
  for (int j = 0; j < n; ++j) {
    const int32_t x = (int32_t)((uint32_t)acc[j] + (uint32_t)bias[j]);
    int32_t v = te_requantize_kernel(x, multiplier[j], shift[j]) + offset;
    v = v > lo ? v : lo;
    v = v < hi ? v : hi;
    out[j] = (int8_t)v;
  }
}

/* ---- deep core ------------------------------------------------------------------ */

#ifdef TE_DSP
/* ---- DSP: requantisation straight from the sums ------------------------------------- */

/* In `fast` layers (fast_requant: te_requantize_rq's preconditions hold) the DSP cores sum
 * 2 * acc instead of acc, from doubled inputs (widened values fit int16 twice over) and a
 * doubled bias: the doubling te_requantize_rq starts with then costs nothing. */
TE_INLINE int32_t te_gemm_bias_dsp(int32_t bias, const int fast) {
  return fast ? (int32_t)((uint32_t)bias << 1) : bias;
}
TE_INLINE uint32_t te_gemm_twice_dsp(uint32_t pair, const int fast) {
  return fast ? (uint32_t)__sadd16((int32_t)pair, (int32_t)pair) : pair;
}

/* One channel's requantisation constants, loaded once for all the pixels of a tile:
 * `shift` is te_requantize_rq's right shift e = -shift where `fast`, else the shift. */
typedef struct {
  int32_t multiplier, shift, round;
} te_gemm_rq_dsp;

TE_INLINE te_gemm_rq_dsp te_gemm_channel_dsp(int32_t multiplier, int32_t shift, const te_conv2d_gemm_params* p,
                                             const int fast) {
  te_gemm_rq_dsp rq;
  rq.multiplier = multiplier;
  rq.shift = fast ? -shift : shift;
  rq.round = fast ? te_rq_round(-shift, p->output_offset) : 0;
  return rq;
}

/* One output from its sum (2 * acc where `fast`); `full`: the clamp is all of int8. Both
 * flags are constants where the tile functions are instantiated. */
TE_INLINE int8_t te_gemm_out_dsp(int32_t sum, te_gemm_rq_dsp rq, const te_conv2d_gemm_params* p, const int fast,
                                 const int full) {
  const int32_t v = fast ? te_smmlar(sum, rq.multiplier, rq.round + (sum >> 31)) >> rq.shift
                         : te_requantize_fast(sum, rq.multiplier, rq.shift) + p->output_offset;
  return te_out8(v, full, p->act_min, p->act_max);
}

/* One channel's outputs of `pixels` (1 to 4) pixels, out_c apart from out. */
TE_INLINE void te_gemm_out4_dsp(int32_t s0, int32_t s1, int32_t s2, int32_t s3, int pixels, te_gemm_rq_dsp rq,
                                const te_conv2d_gemm_params* p, int8_t* out, const int fast, const int full) {
  const int out_c = p->out_c;
  if (pixels == 4) {
    const int8_t v0 = te_gemm_out_dsp(s0, rq, p, fast, full), v1 = te_gemm_out_dsp(s1, rq, p, fast, full);
    const int8_t v2 = te_gemm_out_dsp(s2, rq, p, fast, full), v3 = te_gemm_out_dsp(s3, rq, p, fast, full);
    out[0] = v0;
    out[out_c] = v1;
    out[2 * out_c] = v2;
    out[3 * out_c] = v3;
    return;
  }
  *out = te_gemm_out_dsp(s0, rq, p, fast, full);
  if (pixels < 2) return;
  *(out += out_c) = te_gemm_out_dsp(s1, rq, p, fast, full);
  if (pixels < 3) return;
  out[out_c] = te_gemm_out_dsp(s2, rq, p, fast, full);
}

/* Each DSP tile function NAME(..., fast, full) is compiled twice, as NAME##_fast (both
 * flags constant 1: the common case, every layer of the shared models) and NAME##_any
 * (`fast` read at run time, the clamp done with compares: right for any layer). They are
 * functions of their own, not inlined into the kernels: the register allocator then sees
 * one tile loop at a time, and their stack frames are not added together.
 * TE_GEMM_VARIANTS_DSP(NAME, (parameters), arguments) defines both; TE_GEMM_DISPATCH_DSP
 * calls the right one. */
#define TE_GEMM_VARIANTS_DSP(NAME, PARAMS, ...)                                                          \
  static inline TE_DSP_FN __attribute__((noinline)) void NAME##_fast PARAMS { NAME(__VA_ARGS__, 1, 1); } \
  static inline TE_DSP_FN __attribute__((noinline)) void NAME##_any PARAMS {                             \
    NAME(__VA_ARGS__, p->fast_requant, 0);                                                              \
  }
#define TE_GEMM_DISPATCH_DSP(p, NAME, ...)                                \
  do {                                                                   \
    if ((p)->fast_requant && (p)->act_min == -128 && (p)->act_max == 127) { \
      NAME##_fast(__VA_ARGS__);                                          \
    } else {                                                             \
      NAME##_any(__VA_ARGS__);                                           \
    }                                                                    \
  } while (0)

/* LDR / LDRD with post-increment, written out because GCC does not pair the loads of this
 * loop into LDRD. `p` must be word aligned for LDRD (the arena and the scratch are). */
typedef struct {
  uint32_t w[2];
} te_gemm_dword;
#define TE_LDRD_INC(p, lo, hi) \
  __asm__("ldrd %0, %1, [%2], #8" : "=r"(lo), "=r"(hi), "+r"(p) : "m"(*(const te_gemm_dword*)(p)))

/* ---- DSP deep core on the interleaved tile (te_gemm_widen) ------------------------- */

/* Pixel i's row into the interleaved tile of 4 pixels: groups of four widened as (x0, x2),
 * (x1, x3) at tile + (4 g + i) * 4, the tail at tile + 16 * groups + i * (depth % 4);
 * doubled where `twice`. */
typedef uint32_t te_gemm_word __attribute__((may_alias)); /* tile stores, word aligned */

/* One group of four int8 values into a tile slot: two word stores, which GCC pairs into STRD. */
TE_INLINE void te_gemm_widen_group_dsp(const int8_t* src, int16_t* dst, int twice) {
  const uint32_t v = te_load_u32(src);
  te_gemm_word* d = (te_gemm_word*)(void*)dst;
  d[0] = te_gemm_twice_dsp(te_sxtb16_even(v), twice);
  d[1] = te_gemm_twice_dsp(te_sxtb16_odd(v), twice);
}

TE_INLINE void te_gemm_widen_row_dsp(const int8_t* src, int depth, int i, int16_t* tile, int twice) {
  const int groups = depth >> 2, tail = depth & 3;
  int16_t* dst = tile + 4 * i;
  int g = 0;
  for (; g + 2 <= groups; g += 2, src += 8, dst += 32) {
    te_gemm_widen_group_dsp(src, dst, twice);
    te_gemm_widen_group_dsp(src + 4, dst + 16, twice);
  }
  if (g < groups) {
    te_gemm_widen_group_dsp(src, dst, twice);
    src += 4;
  }
  dst = tile + 16 * groups + i * tail;
  for (int r = 0; r < tail; ++r) dst[r] = (int16_t)(twice ? 2 * src[r] : src[r]);
}

/* Pixel i's row into an interleaved tile whose depth is rounded up to a multiple of four,
 * the padding zero (the gathered weights there are zero too). */
TE_INLINE void te_gemm_widen_row_padded_dsp(const int8_t* src, int depth, int i, int16_t* tile, int twice) {
  int16_t* dst = tile + 4 * i;
  int k = 0;
  for (; k + 8 <= depth; k += 8, dst += 32) {
    te_gemm_widen_group_dsp(src + k, dst, twice);
    te_gemm_widen_group_dsp(src + k + 4, dst + 16, twice);
  }
  for (; k + 4 <= depth; k += 4, dst += 16) te_gemm_widen_group_dsp(src + k, dst, twice);
  if (k < depth) {
    const int f = twice ? 2 : 1;
    dst[0] = (int16_t)(f * src[k]);
    dst[2] = (int16_t)(k + 1 < depth ? f * src[k + 1] : 0);
    dst[1] = (int16_t)(k + 2 < depth ? f * src[k + 2] : 0);
    dst[3] = 0;
  }
}

/* Four consecutive pixels of `depth` values (src, src + depth, ...) into a tile, depth a
 * multiple of two: one pass over the groups, the four rows side by side. */
TE_INLINE void te_gemm_widen4_padded_dsp(const int8_t* src, int depth, int16_t* tile, int twice) {
  if (depth & 3) {
    for (int i = 0; i < TE_GEMM_PIXELS; ++i) te_gemm_widen_row_padded_dsp(src + (long)i * depth, depth, i, tile, twice);
    return;
  }
  for (int k = 0; k < depth; k += 4, src += 4, tile += 16) {
    te_gemm_widen_group_dsp(src, tile, twice);
    te_gemm_widen_group_dsp(src + depth, tile + 4, twice);
    te_gemm_widen_group_dsp(src + 2 * depth, tile + 8, twice);
    te_gemm_widen_group_dsp(src + 3 * depth, tile + 12, twice);
  }
}

/* s[i] += sum over `groups` groups of four of pixel i's tile values times channel row w. */
/* One group of four depth values of a channel row: its weight word widened once
 * (TE_GEMM_GROUP_WEIGHTS), then each pixel's four tile values, one LDRD, two SMLAD
 * (TE_GEMM_GROUP_PIXEL). The 4x1 and 3x1 steps below are these, unrolled. */
#define TE_GEMM_GROUP_WEIGHTS()                                             \
  uint32_t lo, hi;                                                          \
  const uint32_t a = te_load_u32(w);                                        \
  const uint32_t a02 = te_sxtb16_even(a), a13 = te_sxtb16_odd(a);           \
  w += 4
#define TE_GEMM_GROUP_PIXEL(sum)                                            \
  TE_LDRD_INC(x, lo, hi);                                                   \
  sum = te_smlad(lo, a02, sum);                                             \
  sum = te_smlad(hi, a13, sum)
TE_INLINE void te_gemm_dot_4x1_dsp(const int16_t* x, const int8_t* w, int groups, int32_t s[4]) {
  int32_t s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
#define TE_GEMM_4X1_STEP()                                                  \
  do {                                                                      \
    TE_GEMM_GROUP_WEIGHTS();                                                \
    TE_GEMM_GROUP_PIXEL(s0);                                                \
    TE_GEMM_GROUP_PIXEL(s1);                                                \
    TE_GEMM_GROUP_PIXEL(s2);                                                \
    TE_GEMM_GROUP_PIXEL(s3);                                                \
  } while (0)
  const int8_t* end = w + 4 * (groups & ~3);
  while (w != end) { /* four groups a trip: the loop's compare and branch on 64 MACs */
    TE_GEMM_4X1_STEP();
    TE_GEMM_4X1_STEP();
    TE_GEMM_4X1_STEP();
    TE_GEMM_4X1_STEP();
  }
  if (groups & 2) {
    TE_GEMM_4X1_STEP();
    TE_GEMM_4X1_STEP();
  }
  if (groups & 1) TE_GEMM_4X1_STEP();
#undef TE_GEMM_4X1_STEP
  s[0] = s0; s[1] = s1; s[2] = s2; s[3] = s3;
}

/* te_gemm_dot_4x1_dsp for the first `pixels` (1 or 2) pixels of a tile only (the last
 * tile of a layer whose pixel count is not a multiple of 4), two groups a step. */
#define TE_LDRD_AT(p, off, lo, hi) \
  __asm__("ldrd %0, %1, [%2, %3]" : "=r"(lo), "=r"(hi) : "r"(p), "i"(off), "m"(*(const te_gemm_dword*)(p)))
TE_INLINE void te_gemm_dot_part_dsp(const int16_t* x, const int8_t* w, int groups, int pixels, int32_t s[4]) {
  int32_t s0 = s[0], s1 = s[1];
  int g = 0;
  if (pixels == 1) {
    for (; g + 2 <= groups; g += 2, w += 8, x += 32) {
      uint32_t lo, hi, lo2, hi2;
      const uint32_t a = te_load_u32(w), b = te_load_u32(w + 4);
      TE_LDRD_AT(x, 0, lo, hi);
      TE_LDRD_AT(x, 32, lo2, hi2);
      s0 = te_smlad(lo, te_sxtb16_even(a), s0);
      s0 = te_smlad(hi, te_sxtb16_odd(a), s0);
      s0 = te_smlad(lo2, te_sxtb16_even(b), s0);
      s0 = te_smlad(hi2, te_sxtb16_odd(b), s0);
    }
  }
  for (; g < groups; ++g, w += 4, x += 16) {
    uint32_t lo, hi;
    const uint32_t a = te_load_u32(w);
    const uint32_t a02 = te_sxtb16_even(a), a13 = te_sxtb16_odd(a);
    TE_LDRD_AT(x, 0, lo, hi);
    s0 = te_smlad(lo, a02, s0);
    s0 = te_smlad(hi, a13, s0);
    if (pixels > 1) {
      TE_LDRD_AT(x, 8, lo, hi);
      s1 = te_smlad(lo, a02, s1);
      s1 = te_smlad(hi, a13, s1);
    }
  }
  s[0] = s0; s[1] = s1;
}

/* te_gemm_dot_4x1_dsp for the first 3 pixels of a tile. */
TE_INLINE void te_gemm_dot_3x1_dsp(const int16_t* x, const int8_t* w, int groups, int32_t s[4]) {
  int32_t s0 = s[0], s1 = s[1], s2 = s[2];
#define TE_GEMM_3X1_STEP()                                                  \
  do {                                                                      \
    TE_GEMM_GROUP_WEIGHTS();                                                \
    TE_GEMM_GROUP_PIXEL(s0);                                                \
    TE_GEMM_GROUP_PIXEL(s1);                                                \
    TE_GEMM_GROUP_PIXEL(s2);                                                \
    x += 4; /* past the fourth pixel's values */                            \
  } while (0)
  const int8_t* end = w + 4 * (groups & ~1);
  while (w != end) {
    TE_GEMM_3X1_STEP();
    TE_GEMM_3X1_STEP();
  }
  if (groups & 1) TE_GEMM_3X1_STEP();
#undef TE_GEMM_3X1_STEP
  s[0] = s0; s[1] = s1; s[2] = s2;
}
#undef TE_GEMM_GROUP_WEIGHTS
#undef TE_GEMM_GROUP_PIXEL

/* s += the tile's sums of its first `pixels` pixels with channel row w. */
TE_INLINE void te_gemm_dot_dsp(const int16_t* x, const int8_t* w, int groups, int pixels, int32_t s[4]) {
  if (pixels > 3) {
    te_gemm_dot_4x1_dsp(x, w, groups, s);
  } else if (pixels == 3) {
    te_gemm_dot_3x1_dsp(x, w, groups, s);
  } else {
    te_gemm_dot_part_dsp(x, w, groups, pixels, s);
  }
}


/* All out_c outputs of `pixels` pixels from interleaved tiles of 4 (`quads` of them, one
 * after the other, 4 * depth values each): a channel's constants serve all its pixels.
 * `groups` = depth / 4 and `tail` = depth % 4 are passed so that the common shallow depths
 * can be instantiated with them as constants (te_gemm_tiles_any_dsp). */
TE_INLINE void te_gemm_tiles_dsp(const int16_t* tile, int pixels, int quads, const int8_t* filter,
                                 const int32_t* bias, const int32_t* multiplier, const int32_t* shift,
                                 const te_conv2d_gemm_params* p, int8_t* out, const int groups, const int tail,
                                 const int whole, const int fast, const int full) {
  const int depth = 4 * groups + tail, out_c = p->out_c;
  for (int c = 0; c < out_c; ++c, ++out) {
    const int8_t* w = filter + (long)c * depth;
    const int32_t b = te_gemm_bias_dsp(bias[c], fast);
    const te_gemm_rq_dsp rq = te_gemm_channel_dsp(multiplier[c], shift[c], p, fast);
    const int16_t* x = tile;
    int8_t* o = out;
    for (int q = 0, left = pixels; q < quads; ++q, left -= 4, x += 4 * depth, o += 4 * out_c) {
      int32_t s[4] = {b, b, b, b};
      if (whole) { /* the 4-pixel kernel throughout (pixels past `pixels`: computed, never stored) */
        te_gemm_dot_4x1_dsp(x, w, groups, s);
      } else {
        te_gemm_dot_dsp(x, w, groups, left, s);
      }
      const int16_t* x_tail = x + 16 * groups;
      for (int r = 0; r < tail; ++r) {
        const int32_t v = w[4 * groups + r];
        s[0] += x_tail[r] * v;
        s[1] += x_tail[tail + r] * v;
        s[2] += x_tail[2 * tail + r] * v;
        s[3] += x_tail[3 * tail + r] * v;
      }
      te_gemm_out4_dsp(s[0], s[1], s[2], s[3], left < 4 ? left : 4, rq, p, o, fast, full);
    }
  }
}

/* The depths (multiples of four) for which DSP builds instantiate the tile loops with the
 * depth a constant, in the fast layers with the full int8 clamp: short receptive fields
 * (1x1 layers on 8 to 48 channels, a 3x3x3 first layer) whose dot products are only a few
 * steps long, where the loop's own bookkeeping would otherwise cost as much as they do. */
#define TE_GEMM_CONSTANT_GROUPS(CASE) CASE(2) CASE(4) CASE(6) CASE(7) CASE(8) CASE(10) CASE(12)

TE_INLINE void te_gemm_tiles_any_dsp(const int16_t* tile, int pixels, int quads, const int8_t* filter,
                                     const int32_t* bias, const int32_t* multiplier, const int32_t* shift,
                                     const te_conv2d_gemm_params* p, int8_t* out, const int fast, const int full) {
  const int groups = p->depth >> 2, tail = p->depth & 3;
#define TE_GEMM_TILES_CASE(G)                                                                          \
  case G:                                                                                              \
    te_gemm_tiles_dsp(tile, pixels, quads, filter, bias, multiplier, shift, p, out, G, 0, 1, fast, full); \
    return;
  switch (fast && full && tail == 0 ? groups : 0) {
    TE_GEMM_CONSTANT_GROUPS(TE_GEMM_TILES_CASE)
    default:
      te_gemm_tiles_dsp(tile, pixels, quads, filter, bias, multiplier, shift, p, out, groups, tail, 0, fast, full);
  }
#undef TE_GEMM_TILES_CASE
}
TE_GEMM_VARIANTS_DSP(te_gemm_tiles_any_dsp,
                     (const int16_t* tile, int pixels, int quads, const int8_t* filter, const int32_t* bias,
                      const int32_t* multiplier, const int32_t* shift, const te_conv2d_gemm_params* p, int8_t* out),
                     tile, pixels, quads, filter, bias, multiplier, shift, p, out)

/* All out_c outputs of `pixels` (<= 4) pixels from their interleaved tile. */
TE_INLINE void te_gemm_tile_dsp(const int16_t* tile, int pixels, const int8_t* filter, const int32_t* bias,
                                const int32_t* multiplier, const int32_t* shift, const te_conv2d_gemm_params* p,
                                int8_t* out, const int fast, const int full) {
  te_gemm_tiles_dsp(tile, pixels, 1, filter, bias, multiplier, shift, p, out, p->depth >> 2, p->depth & 3, 0, fast,
                    full);
}
TE_GEMM_VARIANTS_DSP(te_gemm_tile_dsp,
                     (const int16_t* tile, int pixels, const int8_t* filter, const int32_t* bias,
                      const int32_t* multiplier, const int32_t* shift, const te_conv2d_gemm_params* p, int8_t* out),
                     tile, pixels, filter, bias, multiplier, shift, p, out)

/* ---- DSP deep core on natural rows (im2col) ---------------------------------------- */

/* An int16 row in natural order (im2col) put in the DSP order, in place; doubled where
 * `twice` (the tail too). */
TE_INLINE void te_gemm_reorder_wide_dsp(int16_t* row, int depth, int twice) {
  int k = 0;
  for (; k + 4 <= depth; k += 4) {
    const int16_t x1 = row[k + 1];
    row[k + 1] = row[k + 2];
    row[k + 2] = x1;
    if (twice) {
      te_store_u32(row + k, te_gemm_twice_dsp(te_load_u32(row + k), 1));
      te_store_u32(row + k + 2, te_gemm_twice_dsp(te_load_u32(row + k + 2), 1));
    }
  }
  for (; twice && k < depth; ++k) row[k] = (int16_t)(2 * row[k]);
}

/* Sums of 2 pixels (x0, x1: DSP-order rows) times 2 channels (w0, w1) over the depth, added to s. */
TE_INLINE void te_gemm_dot_2x2_dsp(const int16_t* x0, const int16_t* x1, const int8_t* w0, const int8_t* w1,
                                   int depth, int32_t s[4]) {
  int32_t s00 = s[0], s01 = s[1], s10 = s[2], s11 = s[3];
  int k = 0;
  for (; k + 4 <= depth; k += 4) {
    const uint32_t a = te_load_u32(w0 + k), b = te_load_u32(w1 + k);
    const uint32_t a02 = te_sxtb16_even(a), a13 = te_sxtb16_odd(a);
    const uint32_t b02 = te_sxtb16_even(b), b13 = te_sxtb16_odd(b);
    const uint32_t x002 = te_load_u32(x0 + k), x013 = te_load_u32(x0 + k + 2);
    const uint32_t x102 = te_load_u32(x1 + k), x113 = te_load_u32(x1 + k + 2);
    s00 = te_smlad(x002, a02, s00);
    s00 = te_smlad(x013, a13, s00);
    s01 = te_smlad(x002, b02, s01);
    s01 = te_smlad(x013, b13, s01);
    s10 = te_smlad(x102, a02, s10);
    s10 = te_smlad(x113, a13, s10);
    s11 = te_smlad(x102, b02, s11);
    s11 = te_smlad(x113, b13, s11);
  }
  for (; k < depth; ++k) {
    s00 += x0[k] * w0[k]; s01 += x0[k] * w1[k]; s10 += x1[k] * w0[k]; s11 += x1[k] * w1[k];
  }
  s[0] = s00; s[1] = s01; s[2] = s10; s[3] = s11;
}

TE_INLINE void te_gemm_deep_tile_dsp(const int16_t* wide, int pixels, const int8_t* filter, const int32_t* bias,
                                     const int32_t* multiplier, const int32_t* shift, const te_conv2d_gemm_params* p,
                                     int8_t* out, const int fast, const int full) {
  const int depth = p->depth, out_c = p->out_c;
  for (int j = 0; j < out_c; j += 2) {
    const int pair = j + 1 < out_c; /* the last of an odd count is computed twice, stored once */
    const int j1 = pair ? j + 1 : j;
    const int8_t *w0 = filter + (long)j * depth, *w1 = filter + (long)j1 * depth;
    const te_gemm_rq_dsp rq0 = te_gemm_channel_dsp(multiplier[j], shift[j], p, fast);
    const te_gemm_rq_dsp rq1 = te_gemm_channel_dsp(multiplier[j1], shift[j1], p, fast);
    const int32_t b0 = te_gemm_bias_dsp(bias[j], fast), b1 = te_gemm_bias_dsp(bias[j1], fast);
    for (int i = 0; i < pixels; i += 2) { /* a pixel past `pixels` has a zero row */
      int32_t s[4] = {b0, b1, b0, b1};
      te_gemm_dot_2x2_dsp(wide + (long)i * depth, wide + (long)(i + 1) * depth, w0, w1, depth, s);
      int8_t* o = out + (long)i * out_c + j;
      o[0] = te_gemm_out_dsp(s[0], rq0, p, fast, full);
      if (pair) o[1] = te_gemm_out_dsp(s[1], rq1, p, fast, full);
      if (i + 1 < pixels) {
        o[out_c] = te_gemm_out_dsp(s[2], rq0, p, fast, full);
        if (pair) o[out_c + 1] = te_gemm_out_dsp(s[3], rq1, p, fast, full);
      }
    }
  }
}
TE_GEMM_VARIANTS_DSP(te_gemm_deep_tile_dsp,
                     (const int16_t* wide, int pixels, const int8_t* filter, const int32_t* bias,
                      const int32_t* multiplier, const int32_t* shift, const te_conv2d_gemm_params* p, int8_t* out),
                     wide, pixels, filter, bias, multiplier, shift, p, out)
#endif /* TE_DSP */

/* Rows of the tile widened to int16 for te_gemm_deep_tile_widened: wide[i * depth + k] =
 * rows[i][k], rows past `pixels` zero; DSP builds write the interleaved tile instead (its
 * values doubled in fast_requant layers), rows past `pixels` from whatever rows[i] points
 * at (computed, never stored). */
TE_INLINE void te_gemm_widen(const te_conv2d_gemm_params* p, const int8_t* const rows[TE_GEMM_PIXELS], int pixels,
                             int16_t* wide) {
  const int depth = p->depth;
#ifdef TE_DSP
  if (pixels == TE_GEMM_PIXELS && (depth & 3) == 0 && rows[1] == rows[0] + depth && rows[2] == rows[1] + depth &&
      rows[3] == rows[2] + depth) { /* consecutive pixels (stride 1): one pass over the four rows */
    te_gemm_widen4_padded_dsp(rows[0], depth, wide, p->fast_requant);
    return;
  }
#endif
  for (int i = 0; i < TE_GEMM_PIXELS; ++i) {
#ifdef TE_DSP
    te_gemm_widen_row_dsp(rows[i], depth, i, wide, p->fast_requant);
#else
    int16_t* dst = wide + (long)i * depth;
    if (i < pixels) {
      const int8_t* src = rows[i];
      for (int k = 0; k < depth; ++k) dst[k] = src[k];
    } else {
      for (int k = 0; k < depth; ++k) dst[k] = 0;
    }
#endif
  }
}

/* Outputs of `pixels` (<= 4) pixels from their widened rows; filter is [out_c][depth].
 * Pixel i's out_c outputs go to out + i * out_c. */
TE_INLINE void te_gemm_deep_tile(const int16_t* wide, int pixels, const int8_t* filter, const int32_t* bias,
                                 const int32_t* multiplier, const int32_t* shift, const te_conv2d_gemm_params* p,
                                 int8_t* out) {
#ifdef TE_DSP
  TE_GEMM_DISPATCH_DSP(p, te_gemm_deep_tile_dsp, wide, pixels, filter, bias, multiplier, shift, p, out);
  return;
#endif
  const int depth = p->depth, out_c = p->out_c;
  const int16_t *a0 = wide, *a1 = wide + depth, *a2 = wide + 2 * depth, *a3 = wide + 3 * depth;
  int32_t acc[TE_GEMM_PIXELS][TE_GEMM_CHUNK];
  for (int c0 = 0; c0 < out_c; c0 += TE_GEMM_CHUNK) {
    const int n = out_c - c0 < TE_GEMM_CHUNK ? out_c - c0 : TE_GEMM_CHUNK;
    int j = 0;
    for (; j + 4 <= n; j += 4) {
      const int8_t* b0 = filter + (long)(c0 + j) * depth;
      const int8_t *b1 = b0 + depth, *b2 = b1 + depth, *b3 = b2 + depth;
      int32_t s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      int32_t s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      /* Three loops over the depth with the same body: a multiple of 32, then 16, then the
       * rest. With one loop, a 512-bit build vectorises 32 values a step and leaves a
       * 16-value remainder (depth 48, 144, 240) to slow scalar code; the second loop is a
       * constant 16 values, which it vectorises too. */
      const int main_depth = depth & ~31, mid_depth = depth & ~15;
      int k = 0;
#define TE_GEMM_DOT_STEP()                                                                    \
  do {                                                                                        \
    const int16_t x0 = a0[k], x1 = a1[k], x2 = a2[k], x3 = a3[k];                             \
    const int16_t w0 = b0[k], w1 = b1[k], w2 = b2[k], w3 = b3[k];                             \
    s00 += x0 * w0; s01 += x0 * w1; s02 += x0 * w2; s03 += x0 * w3;                           \
    s10 += x1 * w0; s11 += x1 * w1; s12 += x1 * w2; s13 += x1 * w3;                           \
    s20 += x2 * w0; s21 += x2 * w1; s22 += x2 * w2; s23 += x2 * w3;                           \
    s30 += x3 * w0; s31 += x3 * w1; s32 += x3 * w2; s33 += x3 * w3;                           \
  } while (0)
      for (; k < main_depth; ++k) TE_GEMM_DOT_STEP();
      if (mid_depth > main_depth) {
        for (const int end = k + 16; k < end; ++k) TE_GEMM_DOT_STEP();
      }
      for (; k < depth; ++k) TE_GEMM_DOT_STEP();
#undef TE_GEMM_DOT_STEP
      acc[0][j] = s00; acc[0][j + 1] = s01; acc[0][j + 2] = s02; acc[0][j + 3] = s03;
      acc[1][j] = s10; acc[1][j + 1] = s11; acc[1][j + 2] = s12; acc[1][j + 3] = s13;
      acc[2][j] = s20; acc[2][j + 1] = s21; acc[2][j + 2] = s22; acc[2][j + 3] = s23;
      acc[3][j] = s30; acc[3][j + 1] = s31; acc[3][j + 2] = s32; acc[3][j + 3] = s33;
    }
    for (; j < n; ++j) { /* the last out_c % 4 channels */
      const int8_t* b0 = filter + (long)(c0 + j) * depth;
      int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (int k = 0; k < depth; ++k) {
        const int16_t w0 = b0[k];
        s0 += a0[k] * w0; s1 += a1[k] * w0; s2 += a2[k] * w0; s3 += a3[k] * w0;
      }
      acc[0][j] = s0; acc[1][j] = s1; acc[2][j] = s2; acc[3][j] = s3;
    }
    for (int i = 0; i < pixels; ++i) {
      te_gemm_requant_row(acc[i], n, bias + c0, multiplier + c0, shift + c0, p, out + (long)i * out_c + c0);
    }
  }
}

/* te_gemm_deep_tile on the tile te_gemm_widen wrote (interleaved where TE_DSP). */
TE_INLINE void te_gemm_deep_tile_widened(const int16_t* wide, int pixels, const int8_t* filter, const int32_t* bias,
                                         const int32_t* multiplier, const int32_t* shift,
                                         const te_conv2d_gemm_params* p, int8_t* out) {
#ifdef TE_DSP
  TE_GEMM_DISPATCH_DSP(p, te_gemm_tile_dsp, wide, pixels, filter, bias, multiplier, shift, p, out);
#else
  te_gemm_deep_tile(wide, pixels, filter, bias, multiplier, shift, p, out);
#endif
}

/* ---- shallow core --------------------------------------------------------------- */

/* One block of TE_GEMM_BLOCK channels, of which the first n are real (the planner pads the
 * last block with zero weights): block is [depth / 2][2][TE_GEMM_BLOCK]. Blocks narrower
 * than 32 compile to slower code with GCC (it unrolls the short channel loop completely
 * and then vectorises it worse), so a 16-channel layer pays for 32 instead. */
TE_INLINE void te_gemm_shallow_block(const int8_t* const rows[TE_GEMM_PIXELS], int pixels, const int8_t* block, int n,
                                     const int32_t* bias, const int32_t* multiplier, const int32_t* shift,
                                     const te_conv2d_gemm_params* p, int8_t* out) {
  int32_t acc[TE_GEMM_PIXELS][TE_GEMM_BLOCK];
  const int depth = p->depth;
  for (int i = 0; i < TE_GEMM_PIXELS; ++i) {
    for (int j = 0; j < TE_GEMM_BLOCK; ++j) acc[i][j] = 0;
  }
  for (int k = 0; k < depth; k += 2) {
    for (int i = 0; i < TE_GEMM_PIXELS; ++i) {
      const int16_t x = rows[i][k], y = rows[i][k + 1];
      for (int j = 0; j < TE_GEMM_BLOCK; ++j) acc[i][j] += (int16_t)(x * block[j] + y * block[TE_GEMM_BLOCK + j]);
    }
    block += 2 * TE_GEMM_BLOCK;
  }
  for (int i = 0; i < pixels; ++i) {
    te_gemm_requant_row(acc[i], n, bias, multiplier, shift, p, out + (long)i * p->out_c);
  }
}

#ifdef TE_DSP
#define TE_GEMM_SHALLOW_DSP_MAX_DEPTH 64 /* deeper (lean variants): in parts of this many values */

/* The shallow DSP core's inner loop, shared by the two block functions below: from x to
 * x_end, a depth pair at a time, channels j and j + 1's weights of the pair joined into one
 * word (w_k[j], w_k[j+1], w_k+1[j], w_k+1[j+1]) whose SXTB16s multiply the four pixels'
 * packed pairs into sums sPC (pixel P, channel j + C). 14 registers: 8 sums, 2 weight
 * pairs, 1 pixel pair, 3 pointers. */
#define TE_GEMM_SHALLOW_PAIRS_DSP()                                         \
  while (x != x_end) {                                                      \
    uint16_t lo, hi;                                                        \
    memcpy(&lo, w, 2);                                                      \
    memcpy(&hi, w + TE_GEMM_BLOCK, 2);                                      \
    w += 2 * TE_GEMM_BLOCK;                                                 \
    const uint32_t v = (uint32_t)lo | (uint32_t)hi << 16;                   \
    const uint32_t wa = te_sxtb16_even(v), wb = te_sxtb16_odd(v);           \
    uint32_t xv = x[0];                                                     \
    s00 = te_smlad(xv, wa, s00); s01 = te_smlad(xv, wb, s01);               \
    xv = x[1];                                                              \
    s10 = te_smlad(xv, wa, s10); s11 = te_smlad(xv, wb, s11);               \
    xv = x[2];                                                              \
    s20 = te_smlad(xv, wa, s20); s21 = te_smlad(xv, wb, s21);               \
    xv = x[3];                                                              \
    s30 = te_smlad(xv, wa, s30); s31 = te_smlad(xv, wb, s31);               \
    x += TE_GEMM_PIXELS;                                                    \
  }
/* Channel j's four outputs, and channel j + 1's where it exists. */
#define TE_GEMM_SHALLOW_OUT_DSP()                                                                       \
  te_gemm_out4_dsp(s00, s10, s20, s30, pixels, te_gemm_channel_dsp(multiplier[j], shift[j], p, fast), p, \
                   out + j, fast, full);                                                                 \
  if (pair) {                                                                                            \
    te_gemm_out4_dsp(s01, s11, s21, s31, pixels, te_gemm_channel_dsp(multiplier[j1], shift[j1], p, fast), \
                     p, out + j1, fast, full);                                                           \
  }

/* One block (see te_gemm_shallow_block) from the pixels' packed pairs xp[depth / 2][4]. */
TE_INLINE void te_gemm_shallow_block_dsp(const uint32_t (*xp)[TE_GEMM_PIXELS], int pixels, const int8_t* block, int n,
                                         const int32_t* bias, const int32_t* multiplier, const int32_t* shift,
                                         const te_conv2d_gemm_params* p, int8_t* out, const int fast,
                                         const int full) {
  const int half = p->depth / 2;
  for (int j = 0; j < n; j += 2) { /* weights of j + 1 < 32 exist: the block is zero padded */
    const int pair = j + 1 < n;
    const int j1 = pair ? j + 1 : j;
    int32_t s00 = te_gemm_bias_dsp(bias[j], fast), s01 = te_gemm_bias_dsp(bias[j1], fast);
    int32_t s10 = s00, s11 = s01, s20 = s00, s21 = s01, s30 = s00, s31 = s01;
    const int8_t* w = block + j;
    const uint32_t* x = xp[0];
    const uint32_t* const x_end = x + half * TE_GEMM_PIXELS;
    TE_GEMM_SHALLOW_PAIRS_DSP();
    TE_GEMM_SHALLOW_OUT_DSP();
  }
}

/* te_gemm_shallow_block_dsp over `half` depth pairs of a longer receptive field: the sums
 * start from the bias (first part) or from acc, and are requantised (last part) or saved
 * in acc. */
TE_INLINE void te_gemm_shallow_block_part_dsp(const uint32_t (*xp)[TE_GEMM_PIXELS], int half, int pixels,
                                              const int8_t* block, int n, int32_t (*acc)[TE_GEMM_BLOCK],
                                              int first, int last, const int32_t* bias, const int32_t* multiplier,
                                              const int32_t* shift, const te_conv2d_gemm_params* p, int8_t* out,
                                              const int fast, const int full) {
  for (int j = 0; j < n; j += 2) { /* weights of j + 1 < 32 exist: the block is zero padded */
    const int pair = j + 1 < n;
    const int j1 = pair ? j + 1 : j;
    int32_t s00, s01, s10, s11, s20, s21, s30, s31;
    if (first) {
      s00 = te_gemm_bias_dsp(bias[j], fast), s01 = te_gemm_bias_dsp(bias[j1], fast);
      s10 = s00, s11 = s01, s20 = s00, s21 = s01, s30 = s00, s31 = s01;
    } else {
      s00 = acc[0][j], s01 = acc[0][j + 1], s10 = acc[1][j], s11 = acc[1][j + 1];
      s20 = acc[2][j], s21 = acc[2][j + 1], s30 = acc[3][j], s31 = acc[3][j + 1];
    }
    const int8_t* w = block + j;
    const uint32_t* x = xp[0];
    const uint32_t* const x_end = x + half * TE_GEMM_PIXELS;
    TE_GEMM_SHALLOW_PAIRS_DSP();
    if (!last) {
      acc[0][j] = s00, acc[0][j + 1] = s01, acc[1][j] = s10, acc[1][j + 1] = s11;
      acc[2][j] = s20, acc[2][j + 1] = s21, acc[3][j] = s30, acc[3][j + 1] = s31;
      continue;
    }
    TE_GEMM_SHALLOW_OUT_DSP();
  }
}
#undef TE_GEMM_SHALLOW_PAIRS_DSP
#undef TE_GEMM_SHALLOW_OUT_DSP

/* (x_k, x_k+1) of four int8 values at src as two int16 pairs: (x0, x1) and (x2, x3),
 * doubled where `twice`. */
TE_INLINE void te_gemm_pairs_dsp(const int8_t* src, uint32_t* p01, uint32_t* p23, int twice) {
  const uint32_t v = te_load_u32(src);
  const uint32_t even = te_gemm_twice_dsp(te_sxtb16_even(v), twice); /* (x0, x2) */
  const uint32_t odd = te_gemm_twice_dsp(te_sxtb16_odd(v), twice);   /* (x1, x3) */
  *p01 = (even & 0xFFFFu) | (odd << 16);
  *p23 = (odd & 0xFFFF0000u) | (even >> 16);
}

/* Each of the 4 pixels' (x_k, x_k+1) packed as an int16 pair: xp[depth / 2][4]. */
TE_INLINE void te_gemm_pack_pairs_dsp(const int8_t* const rows[TE_GEMM_PIXELS], int depth,
                                      uint32_t (*xp)[TE_GEMM_PIXELS], const int fast) {
  for (int i = 0; i < TE_GEMM_PIXELS; ++i) {
    const int8_t* row = rows[i];
    int k = 0;
    for (; k + 4 <= depth; k += 4) te_gemm_pairs_dsp(row + k, &xp[k / 2][i], &xp[k / 2 + 1][i], fast);
    for (; k < depth; k += 2) {
      const uint32_t pair = (uint32_t)(uint16_t)row[k] | (uint32_t)(uint16_t)row[k + 1] << 16;
      xp[k / 2][i] = te_gemm_twice_dsp(pair, fast);
    }
  }
}

/* The shallow tile: the pixels' pairs packed once, then the blocks. */
TE_INLINE void te_gemm_shallow_tile_dsp(const int8_t* const rows[TE_GEMM_PIXELS], int pixels, const int8_t* filter,
                                        const int32_t* bias, const int32_t* multiplier, const int32_t* shift,
                                        const te_conv2d_gemm_params* p, int8_t* out, const int fast, const int full) {
  uint32_t xp[TE_GEMM_SHALLOW_DSP_MAX_DEPTH / 2][TE_GEMM_PIXELS];
  const int depth = p->depth, out_c = p->out_c;
  te_gemm_pack_pairs_dsp(rows, depth, xp, fast);
  for (int c0 = 0; c0 < out_c; c0 += TE_GEMM_BLOCK) {
    const int n = out_c - c0 < TE_GEMM_BLOCK ? out_c - c0 : TE_GEMM_BLOCK;
    te_gemm_shallow_block_dsp((const uint32_t(*)[TE_GEMM_PIXELS])xp, pixels, filter, n, bias + c0, multiplier + c0,
                              shift + c0, p, out + c0, fast, full);
    filter += (long)TE_GEMM_BLOCK * depth;
  }
}
TE_GEMM_VARIANTS_DSP(te_gemm_shallow_tile_dsp,
                     (const int8_t* const rows[TE_GEMM_PIXELS], int pixels, const int8_t* filter,
                      const int32_t* bias, const int32_t* multiplier, const int32_t* shift,
                      const te_conv2d_gemm_params* p, int8_t* out),
                     rows, pixels, filter, bias, multiplier, shift, p, out)

/* The shallow tile of a receptive field longer than TE_GEMM_SHALLOW_DSP_MAX_DEPTH (a lean
 * variant of a deep layer): the depth in parts of that many values, each part's pairs
 * packed once, the sums of a block carried from part to part in acc. */
TE_INLINE void te_gemm_shallow_tile_long_dsp(const int8_t* const rows[TE_GEMM_PIXELS], int pixels,
                                             const int8_t* filter, const int32_t* bias, const int32_t* multiplier,
                                             const int32_t* shift, const te_conv2d_gemm_params* p, int8_t* out,
                                             const int fast, const int full) {
  uint32_t xp[TE_GEMM_SHALLOW_DSP_MAX_DEPTH / 2][TE_GEMM_PIXELS];
  int32_t acc[TE_GEMM_PIXELS][TE_GEMM_BLOCK];
  const int depth = p->depth, out_c = p->out_c;
  for (int c0 = 0; c0 < out_c; c0 += TE_GEMM_BLOCK, filter += (long)TE_GEMM_BLOCK * depth) {
    const int n = out_c - c0 < TE_GEMM_BLOCK ? out_c - c0 : TE_GEMM_BLOCK;
    for (int k0 = 0; k0 < depth; k0 += TE_GEMM_SHALLOW_DSP_MAX_DEPTH) {
      const int part = depth - k0 < TE_GEMM_SHALLOW_DSP_MAX_DEPTH ? depth - k0 : TE_GEMM_SHALLOW_DSP_MAX_DEPTH;
      const int8_t* part_rows[TE_GEMM_PIXELS];
      for (int i = 0; i < TE_GEMM_PIXELS; ++i) part_rows[i] = rows[i] + k0;
      te_gemm_pack_pairs_dsp(part_rows, part, xp, fast);
      te_gemm_shallow_block_part_dsp((const uint32_t(*)[TE_GEMM_PIXELS])xp, part / 2, pixels,
                                     filter + (long)k0 * TE_GEMM_BLOCK, n, acc, k0 == 0, k0 + part >= depth,
                                     bias + c0, multiplier + c0, shift + c0, p, out + c0, fast, full);
    }
  }
}
TE_GEMM_VARIANTS_DSP(te_gemm_shallow_tile_long_dsp,
                     (const int8_t* const rows[TE_GEMM_PIXELS], int pixels, const int8_t* filter,
                      const int32_t* bias, const int32_t* multiplier, const int32_t* shift,
                      const te_conv2d_gemm_params* p, int8_t* out),
                     rows, pixels, filter, bias, multiplier, shift, p, out)

#endif /* TE_DSP */

/* The portable shallow tile (see te_gemm_shallow_tile). */
TE_INLINE void te_gemm_shallow_tile_portable(const int8_t* const rows[TE_GEMM_PIXELS], int pixels,
                                             const int8_t* filter, const int32_t* bias, const int32_t* multiplier,
                                             const int32_t* shift, const te_conv2d_gemm_params* p, int8_t* out) {
  const int out_c = p->out_c;
  for (int c0 = 0; c0 < out_c; c0 += TE_GEMM_BLOCK) {
    const int n = out_c - c0 < TE_GEMM_BLOCK ? out_c - c0 : TE_GEMM_BLOCK;
    te_gemm_shallow_block(rows, pixels, filter, n, bias + c0, multiplier + c0, shift + c0, p, out + c0);
    filter += (long)TE_GEMM_BLOCK * p->depth;
  }
}

/* Outputs of `pixels` (<= 4) pixels; rows[i] holds pixel i's depth values (rows past
 * `pixels` must still point at readable rows). The filter is ceil(out_c / 32) blocks. */
TE_INLINE void te_gemm_shallow_tile(const int8_t* const rows[TE_GEMM_PIXELS], int pixels, const int8_t* filter,
                                    const int32_t* bias, const int32_t* multiplier, const int32_t* shift,
                                    const te_conv2d_gemm_params* p, int8_t* out) {
#ifdef TE_DSP
  if (p->depth <= TE_GEMM_SHALLOW_DSP_MAX_DEPTH) {
    TE_GEMM_DISPATCH_DSP(p, te_gemm_shallow_tile_dsp, rows, pixels, filter, bias, multiplier, shift, p, out);
  } else {
    TE_GEMM_DISPATCH_DSP(p, te_gemm_shallow_tile_long_dsp, rows, pixels, filter, bias, multiplier, shift, p, out);
  }
#else
  te_gemm_shallow_tile_portable(rows, pixels, filter, bias, multiplier, shift, p, out);
#endif
}

/* ---- im2col --------------------------------------------------------------------- */

/* NAME(p, input, b, oy, ox, row) writes the receptive field of output pixel (b, oy, ox) as
 * one row of p->depth values of type T in (ky, kx, c) order, the filter's own order: taps
 * outside the image hold the pad value, and the row ends with a 0 when depth is the odd
 * tap count rounded up. Without horizontal dilation, a filter row that lies inside the
 * image is one contiguous run of k_w * in_c values (NHWC) or in_c runs of k_w (NCHW). */
/* dst[i] = src[i] for n values: one receptive field row inside the image. DSP builds copy
 * the int8 rows a word at a time (unaligned loads and stores are allowed there); GCC would
 * otherwise call memmove for a run of a few bytes. */
TE_INLINE void te_gemm_copy_int8_t(int8_t* restrict dst, const int8_t* restrict src, int n) {
  int i = 0;
#ifdef TE_DSP
  for (; i + 4 <= n; i += 4) te_store_u32(dst + i, te_load_u32(src + i));
#endif
  for (; i < n; ++i) dst[i] = src[i];
}
TE_INLINE void te_gemm_copy_int16_t(int16_t* restrict dst, const int8_t* restrict src, int n) {
  for (int i = 0; i < n; ++i) dst[i] = src[i];
}

#define TE_GEMM_IM2COL_ROW(NAME, T)                                                                                \
  TE_INLINE void NAME(const te_conv2d_gemm_params* p, const int8_t* restrict input, int b, int oy, int ox,         \
                      T* restrict row) {                                                                           \
    const int in_c = p->in_c, in_h = p->in_h, in_w = p->in_w, span = p->k_w * in_c;                               \
    const T pad = (T)p->pad_value;                                                                                 \
    const int y0 = oy * p->stride_h - p->pad_top, x0 = ox * p->stride_w - p->pad_left;                             \
    const int row_inside = p->dil_w == 1 && x0 >= 0 && x0 + p->k_w <= in_w;                                        \
    const long plane = (long)in_h * in_w;                                                                          \
    const int8_t* batch = input + (long)b * plane * in_c;                                                          \
    T* dst = row;                                                                                                  \
    for (int ky = 0; ky < p->k_h; ++ky, dst += span) {                                                             \
      const int iy = y0 + ky * p->dil_h;                                                                           \
      if (iy < 0 || iy >= in_h) {                                                                                  \
        for (int i = 0; i < span; ++i) dst[i] = pad;                                                               \
      } else if (row_inside && !p->nchw) {                                                                         \
        te_gemm_copy_##T(dst, batch + ((long)iy * in_w + x0) * in_c, span);                                        \
      } else if (row_inside) { /* NCHW: k_w contiguous values per channel */                                       \
        const int8_t* src = batch + (long)iy * in_w + x0;                                                          \
        for (int c = 0; c < in_c; ++c, src += plane) {                                                             \
          for (int kx = 0; kx < p->k_w; ++kx) dst[kx * in_c + c] = src[kx];                                        \
        }                                                                                                          \
      } else {                                                                                                     \
        for (int kx = 0; kx < p->k_w; ++kx) {                                                                      \
          const int ix = x0 + kx * p->dil_w;                                                                       \
          T* tap = dst + kx * in_c;                                                                                \
          if (ix < 0 || ix >= in_w) {                                                                              \
            for (int c = 0; c < in_c; ++c) tap[c] = pad;                                                           \
          } else if (p->nchw) {                                                                                    \
            const int8_t* src = batch + (long)iy * in_w + ix;                                                      \
            for (int c = 0; c < in_c; ++c) tap[c] = src[c * plane];                                                \
          } else {                                                                                                 \
            const int8_t* src = batch + ((long)iy * in_w + ix) * in_c;                                             \
            for (int c = 0; c < in_c; ++c) tap[c] = src[c];                                                        \
          }                                                                                                        \
        }                                                                                                          \
      }                                                                                                            \
    }                                                                                                              \
    for (long k = dst - row; k < p->depth; ++k) row[k] = 0;                                                        \
  }

/* int8 rows for the shallow core, int16 rows (im2col and widening in one pass) for the deep one. */
TE_GEMM_IM2COL_ROW(te_gemm_im2col_row, int8_t)
TE_GEMM_IM2COL_ROW(te_gemm_im2col_row_wide_natural, int16_t)

/* The deep core's row: in the DSP order (te_gemm_widen's) where TE_DSP. */
TE_INLINE void te_gemm_im2col_row_wide(const te_conv2d_gemm_params* p, const int8_t* restrict input, int b, int oy,
                                       int ox, int16_t* restrict row) {
  te_gemm_im2col_row_wide_natural(p, input, b, oy, ox, row);
#ifdef TE_DSP
  te_gemm_reorder_wide_dsp(row, p->depth, p->fast_requant);
#endif
}

/* Output pixel (b, oy, ox), walked in NHWC order one pixel at a time. */
typedef struct {
  int b, oy, ox;
} te_gemm_pixel;

TE_INLINE void te_gemm_next_pixel(const te_conv2d_gemm_params* p, te_gemm_pixel* px) {
  if (++px->ox == p->out_w) {
    px->ox = 0;
    if (++px->oy == p->out_h) {
      px->oy = 0;
      ++px->b;
    }
  }
}

/* Row pointers of the next n output pixels of a 1x1 layer without padding, read in place
 * from the NHWC input (rows past n point at the input's first pixel); advances px by n. */
TE_INLINE void te_gemm_1x1_rows(const te_conv2d_gemm_params* p, const int8_t* input, int n, te_gemm_pixel* px,
                                const int8_t* rows[TE_GEMM_PIXELS]) {
  for (int i = 0; i < TE_GEMM_PIXELS; ++i) {
    rows[i] = input;
    if (i < n) {
      const long pixel = ((long)px->b * p->in_h + (long)px->oy * p->stride_h) * p->in_w + (long)px->ox * p->stride_w;
      rows[i] = input + pixel * p->in_c;
      te_gemm_next_pixel(p, px);
    }
  }
}

#ifdef TE_DSP
/* A whole 1x1 layer on the shallow core's weights with the deep core's 4x1 kernel: for
 * each group of TE_GEMM_GROUP_DSP channels, their weights are gathered once from the
 * blocked layout into [channel][depth] rows on the stack, then every tile of 4 pixels is
 * widened (interleaved) and multiplied with them, a channel's constants serving all the
 * tiles. Per 16 MACs that is 15 instructions rather than the shallow block's 19 (whose
 * weight pairs are two half-word loads joined), and the tiles' widening is repeated once
 * per group, a few instructions per value against 16 multiply-accumulates. */
#define TE_GEMM_GROUP_DSP 12 /* channels gathered at a time: 48, 120, 144, 192, 240 are multiples */
#define TE_GEMM_GROUP_MAX_DEPTH_DSP 48 /* the planner's SHALLOW_MAX_DEPTH; deeper takes the tiles */


/* One tile of 4 pixels against the group's n channels (weights [channel][4 * groups]). */
TE_INLINE void te_gemm_group_tile_dsp(const int16_t* tile, const int8_t* weights, const int32_t* group_bias,
                                      const te_gemm_rq_dsp* rq, int n, const int groups, int count,
                                      const te_conv2d_gemm_params* p, int8_t* out, const int fast, const int full) {
  const int8_t* w = weights;
  for (int j = 0; j < n; ++j, ++out, w += 4 * groups) {
    const int32_t b = group_bias[j];
    int32_t acc[4] = {b, b, b, b};
    if (count == TE_GEMM_PIXELS) {
      te_gemm_dot_4x1_dsp(tile, w, groups, acc);
    } else {
      te_gemm_dot_dsp(tile, w, groups, count, acc);
    }
    te_gemm_out4_dsp(acc[0], acc[1], acc[2], acc[3], count, rq[j], p, out, fast, full);
  }
}
/* te_gemm_group_tile_dsp with the depth a constant where it is a common shallow one. */
TE_INLINE void te_gemm_group_tile_any_dsp(const int16_t* tile, const int8_t* weights, const int32_t* group_bias,
                                          const te_gemm_rq_dsp* rq, int n, int groups, int count,
                                          const te_conv2d_gemm_params* p, int8_t* out, const int fast,
                                          const int full) {
#define TE_GEMM_GROUP_TILE_CASE(G)                                                                      \
  case G:                                                                                               \
    te_gemm_group_tile_dsp(tile, weights, group_bias, rq, n, G, TE_GEMM_PIXELS, p, out, fast, full); \
    return;
  switch (fast && full && count == TE_GEMM_PIXELS ? groups : 0) {
    TE_GEMM_CONSTANT_GROUPS(TE_GEMM_GROUP_TILE_CASE)
    default:
      te_gemm_group_tile_dsp(tile, weights, group_bias, rq, n, groups, count, p, out, fast, full);
  }
#undef TE_GEMM_GROUP_TILE_CASE
}

/* What te_gemm_shallow_groups_dsp calls after each tile of a group when the outputs go to
 * the y tile rather than to the layer's output (the fused ADD, te_conv2d_add.c): pixels
 * first .. first + count - 1, channels g0 .. g0 + n - 1, in y[i * out_c + g0 + j]. */
typedef void (*te_gemm_after_dsp)(const void* context, const int8_t* y, long first, int count, int g0, int n);

/* A whole 1x1 layer on the shallow core's weights, group by group (see above). */
TE_INLINE void te_gemm_shallow_groups_dsp(const int8_t* input, const int8_t* filter, const int32_t* bias,
                                          const int32_t* multiplier, const int32_t* shift,
                                          const te_conv2d_gemm_params* p, int8_t* output, int8_t* y,
                                          te_gemm_after_dsp after, const void* context, const int fast,
                                          const int full) {
  uint32_t tile_words[TE_GEMM_PIXELS * TE_GEMM_GROUP_MAX_DEPTH_DSP / 2]; /* int16, word aligned */
  uint32_t weight_words[TE_GEMM_GROUP_DSP * TE_GEMM_GROUP_MAX_DEPTH_DSP / 4];
  int32_t group_bias[TE_GEMM_GROUP_DSP];
  te_gemm_rq_dsp rq[TE_GEMM_GROUP_DSP];
  int16_t* tile = (int16_t*)(void*)tile_words;
  int8_t* weights = (int8_t*)(void*)weight_words; /* [channel][depth4] */
  const int depth = p->depth, out_c = p->out_c, depth4 = (depth + 3) & ~3, groups = depth4 >> 2;
  const long pixels = (long)p->batches * p->out_h * p->out_w;
  for (int g0 = 0; g0 < out_c; g0 += TE_GEMM_GROUP_DSP) {
    const int n = out_c - g0 < TE_GEMM_GROUP_DSP ? out_c - g0 : TE_GEMM_GROUP_DSP;
    for (int j = 0; j < n; ++j) {
      const int c = g0 + j;
      const int8_t* src = filter + (long)(c / TE_GEMM_BLOCK) * TE_GEMM_BLOCK * depth + c % TE_GEMM_BLOCK;
      int8_t* dst = weights + j * depth4;
      for (int k = 0; k < depth; k += 2, src += 2 * TE_GEMM_BLOCK) {
        dst[k] = src[0];
        dst[k + 1] = src[TE_GEMM_BLOCK];
      }
      for (int k = depth; k < depth4; ++k) dst[k] = 0;
      group_bias[j] = te_gemm_bias_dsp(bias[c], fast);
      rq[j] = te_gemm_channel_dsp(multiplier[c], shift[c], p, fast);
    }
    te_gemm_pixel px = {0, 0, 0};
    /* Stride 1: the tile's rows are consecutive pixels of the input. */
    const int dense = p->stride_h == 1 && p->stride_w == 1 && p->in_h == p->out_h && p->in_w == p->out_w;
    for (long t = 0; t < pixels; t += TE_GEMM_PIXELS) {
      const int count = pixels - t < TE_GEMM_PIXELS ? (int)(pixels - t) : TE_GEMM_PIXELS;
      if (dense && count == TE_GEMM_PIXELS) {
        te_gemm_widen4_padded_dsp(input + t * depth, depth, tile, fast);
      } else {
        const int8_t* rows[TE_GEMM_PIXELS];
        if (dense) {
          px.b = (int)(t / ((long)p->out_h * p->out_w)); /* where te_gemm_1x1_rows resumes */
          px.oy = (int)(t / p->out_w % p->out_h);
          px.ox = (int)(t % p->out_w);
        }
        te_gemm_1x1_rows(p, input, count, &px, rows);
        for (int i = 0; i < TE_GEMM_PIXELS; ++i) te_gemm_widen_row_padded_dsp(rows[i], depth, i, tile, fast);
      }
      if (after) {
        te_gemm_group_tile_any_dsp(tile, weights, group_bias, rq, n, groups, count, p, y + g0, fast, full);
        after(context, y, t, count, g0, n);
      } else {
        te_gemm_group_tile_any_dsp(tile, weights, group_bias, rq, n, groups, count, p, output + t * out_c + g0,
                                   fast, full);
      }
    }
  }
}

TE_INLINE void te_gemm_shallow_1x1_dsp(const int8_t* input, const int8_t* filter, const int32_t* bias,
                                       const int32_t* multiplier, const int32_t* shift,
                                       const te_conv2d_gemm_params* p, int8_t* output, const int fast,
                                       const int full) {
  te_gemm_shallow_groups_dsp(input, filter, bias, multiplier, shift, p, output, 0, 0, 0, fast, full);
}
TE_GEMM_VARIANTS_DSP(te_gemm_shallow_1x1_dsp,
                     (const int8_t* input, const int8_t* filter, const int32_t* bias, const int32_t* multiplier,
                      const int32_t* shift, const te_conv2d_gemm_params* p, int8_t* output),
                     input, filter, bias, multiplier, shift, p, output)
#endif /* TE_DSP */

#endif /* TE_CONV2D_GEMM_H */
