/* te_gemm_deep_dsp.h: the deep core on Armv7E-M: requantisation straight from the sums,
 * the interleaved widening, the 4x1/3x1/partial dot products (SMLAD on SXTB16-widened
 * weights), the deep tiles and the dispatch on fast_requant and the clamp.
 *
 * Armv7E-M DSP code of te_conv2d_gemm.h (see the DSP notes at its top), kept apart from
 * the portable core: te_conv2d_gemm.h includes this file at the one point where the
 * builds part, only where TE_DSP is set (te_fixedpoint.h), and takes te_gemm_widen,
 * te_gemm_deep_tile_widened and te_gemm_copy_run from it in place of its portable ones
 * (same names). Not a header to include on its own. */
#ifndef TE_ARM_TE_GEMM_DEEP_DSP_H
#define TE_ARM_TE_GEMM_DEEP_DSP_H

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
 * calls the right one. A project whose every GEMM layer is a fast one with the full clamp
 * (te_gemm_config.h: TE_GEMM_FAST_ONLY, which the compiler sets only then) compiles only
 * NAME##_fast: the _any copies would be dead code in its Flash. */
#if TE_GEMM_FAST_ONLY /* te_gemm_config.h: every layer of the project is a fast one */
#define TE_GEMM_VARIANTS_DSP(NAME, PARAMS, ...)                                           \
  static inline TE_DSP_FN __attribute__((noinline, noclone)) void NAME##_fast PARAMS { \
    NAME(__VA_ARGS__, 1, 1);                                                             \
  } /* noclone: called directly now, GCC would otherwise copy it per constant argument */
#define TE_GEMM_DISPATCH_DSP(p, NAME, ...) NAME##_fast(__VA_ARGS__)
#else
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
#endif

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
                                 const int32_t* bias, const int32_t* multiplier, const int8_t* shift,
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
#ifndef TE_GEMM_CONSTANT_GROUPS /* te_gemm_config.h may list only a project's own depths */
#define TE_GEMM_CONSTANT_GROUPS(CASE) CASE(2) CASE(4) CASE(6) CASE(7) CASE(8) CASE(10) CASE(12)
#endif
#ifndef TE_GEMM_TILES_CONSTANT_GROUPS /* those of te_gemm_tiles_any_dsp (the narrow kernel's) */
#define TE_GEMM_TILES_CONSTANT_GROUPS(CASE) TE_GEMM_CONSTANT_GROUPS(CASE)
#endif

TE_INLINE void te_gemm_tiles_any_dsp(const int16_t* tile, int pixels, int quads, const int8_t* filter,
                                     const int32_t* bias, const int32_t* multiplier, const int8_t* shift,
                                     const te_conv2d_gemm_params* p, int8_t* out, const int fast, const int full) {
  const int groups = p->depth >> 2, tail = p->depth & 3;
#define TE_GEMM_TILES_CASE(G)                                                                          \
  case G:                                                                                              \
    te_gemm_tiles_dsp(tile, pixels, quads, filter, bias, multiplier, shift, p, out, G, 0, 1, fast, full); \
    return;
  switch (fast && full && tail == 0 ? groups : 0) {
    TE_GEMM_TILES_CONSTANT_GROUPS(TE_GEMM_TILES_CASE)
    default:
      te_gemm_tiles_dsp(tile, pixels, quads, filter, bias, multiplier, shift, p, out, groups, tail, 0, fast, full);
  }
#undef TE_GEMM_TILES_CASE
}
TE_GEMM_VARIANTS_DSP(te_gemm_tiles_any_dsp,
                     (const int16_t* tile, int pixels, int quads, const int8_t* filter, const int32_t* bias,
                      const int32_t* multiplier, const int8_t* shift, const te_conv2d_gemm_params* p, int8_t* out),
                     tile, pixels, quads, filter, bias, multiplier, shift, p, out)

/* All out_c outputs of `pixels` (<= 4) pixels from their interleaved tile. */
TE_INLINE void te_gemm_tile_dsp(const int16_t* tile, int pixels, const int8_t* filter, const int32_t* bias,
                                const int32_t* multiplier, const int8_t* shift, const te_conv2d_gemm_params* p,
                                int8_t* out, const int fast, const int full) {
  te_gemm_tiles_dsp(tile, pixels, 1, filter, bias, multiplier, shift, p, out, p->depth >> 2, p->depth & 3, 0, fast,
                    full);
}
/* One copy per firmware, shared by every deep kernel (1x1, KxK, in place, fused with ADD):
 * te_conv2d_1x1.c defines te_gemm_tile_dsp_fast (and _any) with external linkage
 * (TE_GEMM_TILE_DEFINE), every other file declares them, and those kernels' sources list
 * that file. */
#define TE_GEMM_TILE_PARAMS_DSP                                                                      \
  (const int16_t* tile, int pixels, const int8_t* filter, const int32_t* bias, const int32_t* multiplier, \
   const int8_t* shift, const te_conv2d_gemm_params* p, int8_t* out)
#ifdef TE_GEMM_TILE_DEFINE
#define TE_GEMM_TILE_COPY_DSP(NAME, FAST, FULL)                                                  \
  TE_DSP_FN __attribute__((noinline, noclone)) void NAME TE_GEMM_TILE_PARAMS_DSP;                \
  TE_DSP_FN __attribute__((noinline, noclone)) void NAME TE_GEMM_TILE_PARAMS_DSP {               \
    te_gemm_tile_dsp(tile, pixels, filter, bias, multiplier, shift, p, out, FAST, FULL);         \
  }
#else
#define TE_GEMM_TILE_COPY_DSP(NAME, FAST, FULL) void NAME TE_GEMM_TILE_PARAMS_DSP;
#endif
TE_GEMM_TILE_COPY_DSP(te_gemm_tile_dsp_fast, 1, 1)
#if !TE_GEMM_FAST_ONLY
TE_GEMM_TILE_COPY_DSP(te_gemm_tile_dsp_any, p->fast_requant, 0)
#endif
#undef TE_GEMM_TILE_COPY_DSP
#undef TE_GEMM_TILE_PARAMS_DSP

/* ---- the entries of te_conv2d_gemm.h (the portable ones' names) --------------------- */

/* The interleaved tile of the rows (its values doubled in fast_requant layers), rows past
 * `pixels` from whatever rows[i] points at (computed, never stored). */
TE_INLINE void te_gemm_widen(const te_conv2d_gemm_params* p, const int8_t* const rows[TE_GEMM_PIXELS], int pixels,
                             int16_t* wide) {
  const int depth = p->depth;
  if (pixels == TE_GEMM_PIXELS && (depth & 3) == 0 && rows[1] == rows[0] + depth && rows[2] == rows[1] + depth &&
      rows[3] == rows[2] + depth) { /* consecutive pixels (stride 1): one pass over the four rows */
    te_gemm_widen4_padded_dsp(rows[0], depth, wide, p->fast_requant);
    return;
  }
  for (int i = 0; i < TE_GEMM_PIXELS; ++i) {
    te_gemm_widen_row_dsp(rows[i], depth, i, wide, p->fast_requant);
  }
}

/* The outputs from the interleaved tile te_gemm_widen wrote. */
TE_INLINE void te_gemm_deep_tile_widened(const int16_t* wide, int pixels, const int8_t* filter, const int32_t* bias,
                                         const int32_t* multiplier, const int8_t* shift,
                                         const te_conv2d_gemm_params* p, int8_t* out) {
  TE_GEMM_DISPATCH_DSP(p, te_gemm_tile_dsp, wide, pixels, filter, bias, multiplier, shift, p, out);
}

/* An im2col run a word at a time (unaligned loads and stores are allowed here); GCC would
 * otherwise call memmove for a run of a few bytes. */
TE_INLINE void te_gemm_copy_run(int8_t* restrict dst, const int8_t* restrict src, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) te_store_u32(dst + i, te_load_u32(src + i));
  for (; i < n; ++i) dst[i] = src[i];
}

#endif /* TE_ARM_TE_GEMM_DEEP_DSP_H */
