/* te_gemm_1x1_dsp.h: a whole 1x1 layer on the shallow weights with the deep 4x1 kernel:
 * weights gathered per group of channels, every tile widened once per group.
 *
 * Armv7E-M DSP code of te_conv2d_gemm.h (see the DSP notes at its top), kept apart from
 * the portable core: te_conv2d_gemm.h includes this file at the one point where the
 * builds part, only where TE_DSP is set (te_fixedpoint.h), and takes
 * te_gemm_shallow_1x1_layer from it in place of its portable one (same name). Not a header
 * to include on its own. */
#ifndef TE_ARM_TE_GEMM_1X1_DSP_H
#define TE_ARM_TE_GEMM_1X1_DSP_H

/* A whole 1x1 layer on the shallow core's weights with the deep core's 4x1 kernel: for
 * each group of channels, their weights are gathered once from the blocked layout into
 * [channel][depth / 4] pairs of words on the stack, already widened in the order of the
 * tile ((w0, w2), (w1, w3), as SXTB16 would give them), then every tile of 4 pixels is
 * widened (interleaved) and multiplied with them, a channel's constants serving all the
 * tiles. Per 16 MACs that is 13 instructions (one LDRD of weights, four LDRD of pixels,
 * eight SMLAD) rather than the deep kernel's 15 on int8 weights or the shallow block's 19,
 * and the tiles' widening is repeated once per group, a few instructions per value against
 * the group's multiply-accumulates: groups are as large as TE_GEMM_GROUP_BYTES_DSP holds at
 * the layer's depth (te_gemm_group_size_dsp), TE_GEMM_GROUP_DSP channels at the deepest. */
#define TE_GEMM_GROUP_DSP 16 /* channels of a group at the deepest (a 16-channel residual layer in one) */
#define TE_GEMM_GROUP_MAX_DEPTH_DSP 48 /* the planner's SHALLOW_MAX_DEPTH; deeper takes the tiles */
/* Bytes of a channel's widened weights, doubled bias and requantisation constants. */
#define TE_GEMM_GROUP_CHANNEL_BYTES_DSP(depth4) (2 * (depth4) + (int)sizeof(int32_t) + (int)sizeof(te_gemm_rq_dsp))
/* Bytes of a group's weights and constants: TE_GEMM_GROUP_DSP channels at the largest depth. */
#define TE_GEMM_GROUP_BYTES_DSP (TE_GEMM_GROUP_DSP * TE_GEMM_GROUP_CHANNEL_BYTES_DSP(TE_GEMM_GROUP_MAX_DEPTH_DSP))

/* Channels of a group at depth4 (a multiple of 4, at most TE_GEMM_GROUP_MAX_DEPTH_DSP): as
 * many as TE_GEMM_GROUP_BYTES_DSP hold, a multiple of 4 (at least TE_GEMM_GROUP_DSP). */
TE_INLINE int te_gemm_group_size_dsp(int depth4) {
  return TE_GEMM_GROUP_BYTES_DSP / TE_GEMM_GROUP_CHANNEL_BYTES_DSP(depth4) & ~3; /* whole gathers of 4 */
}

/* Channels c .. c + 3's weight at one depth: a word where the block holds all four, else
 * the `have` it holds (the unpadded last block) and zeros, never reading past them. */
TE_INLINE uint32_t te_gemm_quad_dsp(const int8_t* src, int have) {
  if (have >= 4) return te_load_u32(src);
  uint32_t v = 0;
  for (int i = 0; i < have; ++i) v |= (uint32_t)(uint8_t)src[i] << (8 * i);
  return v;
}

/* Channels c to c + 3 (c a multiple of 4) as [channel][depth4 / 4][(w0, w2), (w1, w3)] int16
 * pairs at dst (depth4 / 2 words a channel), zero past depth (an even number). In the
 * blocked layout (value k of channel c at block + (k / 2) * 64 + (k % 2) * 32 + c % 32) the
 * four channels' value k is one word: two words k, k + 2 widened by SXTB16 and joined by
 * PKHBT / PKHTB give channels c and c + 2's (w0, w2) pairs, SXTB16-of-ROR-8 c + 1 and c + 3's.
 * Channels past the layer's lie in the block's zero padding, or, in a last block stored
 * unpadded (tail_width), are read as zeros. */
TE_INLINE void te_gemm_gather4_wide_dsp(const int8_t* filter, const te_conv2d_gemm_params* p, int c, int depth,
                                        int depth4, uint32_t* dst) {
  /* the block's width: TE_GEMM_BLOCK, or the last block's own where it is stored unpadded */
  const int c0 = c - c % TE_GEMM_BLOCK, width = te_gemm_block_width(p, c0), have = width - (c - c0);
  const int8_t* src = filter + (long)c0 * depth + (c - c0);
  const int stride = depth4 / 2; /* words of a channel */
  for (int k = 0; k < depth4; k += 4, src += 4 * width, dst += 2) {
    const int more = k + 2 < depth;
    const uint32_t k0 = te_gemm_quad_dsp(src, have), k1 = te_gemm_quad_dsp(src + width, have);
    const uint32_t k2 = more ? te_gemm_quad_dsp(src + 2 * width, have) : 0;
    const uint32_t k3 = more ? te_gemm_quad_dsp(src + 3 * width, have) : 0;
    const uint32_t e0 = te_sxtb16_even(k0), o0 = te_sxtb16_odd(k0), e1 = te_sxtb16_even(k1), o1 = te_sxtb16_odd(k1);
    const uint32_t e2 = te_sxtb16_even(k2), o2 = te_sxtb16_odd(k2), e3 = te_sxtb16_even(k3), o3 = te_sxtb16_odd(k3);
    dst[0] = te_pack_low_halves(e0, e2);              /* channel c: (w0, w2) */
    dst[1] = te_pack_low_halves(e1, e3);              /* channel c: (w1, w3) */
    dst[stride] = te_pack_low_halves(o0, o2);         /* c + 1 */
    dst[stride + 1] = te_pack_low_halves(o1, o3);
    dst[2 * stride] = te_pack_high_halves(e0, e2);    /* c + 2 */
    dst[2 * stride + 1] = te_pack_high_halves(e1, e3);
    dst[3 * stride] = te_pack_high_halves(o0, o2);    /* c + 3 */
    dst[3 * stride + 1] = te_pack_high_halves(o1, o3);
  }
}

/* s[i] += pixel i's tile values times a channel's widened weights w, 4 pixels: per group
 * one LDRD of weights, then each pixel's LDRD and two SMLAD. */
TE_INLINE void te_gemm_dot_4x1_wide_dsp(const int16_t* x, const uint32_t* w, int groups, int32_t s[4]) {
  int32_t s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
#define TE_GEMM_WIDE_PIXEL(sum)                                             \
  TE_LDRD_INC(x, lo, hi);                                                   \
  sum = te_smlad(lo, a02, sum);                                             \
  sum = te_smlad(hi, a13, sum)
#define TE_GEMM_WIDE_STEP()                                                 \
  do {                                                                      \
    uint32_t a02, a13, lo, hi;                                              \
    TE_LDRD_INC(w, a02, a13);                                               \
    TE_GEMM_WIDE_PIXEL(s0);                                                 \
    TE_GEMM_WIDE_PIXEL(s1);                                                 \
    TE_GEMM_WIDE_PIXEL(s2);                                                 \
    TE_GEMM_WIDE_PIXEL(s3);                                                 \
  } while (0)
  const uint32_t* end = w + 2 * (groups & ~3);
  while (w != end) { /* four groups a trip */
    TE_GEMM_WIDE_STEP();
    TE_GEMM_WIDE_STEP();
    TE_GEMM_WIDE_STEP();
    TE_GEMM_WIDE_STEP();
  }
  if (groups & 2) {
    TE_GEMM_WIDE_STEP();
    TE_GEMM_WIDE_STEP();
  }
  if (groups & 1) TE_GEMM_WIDE_STEP();
#undef TE_GEMM_WIDE_STEP
#undef TE_GEMM_WIDE_PIXEL
  s[0] = s0; s[1] = s1; s[2] = s2; s[3] = s3;
}

/* te_gemm_dot_4x1_wide_dsp for the first `pixels` (1 to 3) pixels of a tile (the last tile
 * of a layer whose pixel count is not a multiple of 4). */
TE_INLINE void te_gemm_dot_part_wide_dsp(const int16_t* x, const uint32_t* w, int groups, int pixels, int32_t s[4]) {
  const te_gemm_word* xw = (const te_gemm_word*)(const void*)x;
  int32_t s0 = s[0], s1 = s[1], s2 = s[2];
  for (const uint32_t* const end = w + 2 * groups; w != end; w += 2, xw += 8) {
    const uint32_t a02 = w[0], a13 = w[1];
    s0 = te_smlad(xw[1], a13, te_smlad(xw[0], a02, s0));
    if (pixels > 1) s1 = te_smlad(xw[3], a13, te_smlad(xw[2], a02, s1));
    if (pixels > 2) s2 = te_smlad(xw[5], a13, te_smlad(xw[4], a02, s2));
  }
  s[0] = s0; s[1] = s1; s[2] = s2;
}

/* One tile of 4 pixels against the group's n channels (weights [channel][groups][2] words). */
TE_INLINE void te_gemm_group_tile_dsp(const int16_t* tile, const uint32_t* weights, const int32_t* group_bias,
                                      const te_gemm_rq_dsp* rq, int n, const int groups, int count,
                                      const te_conv2d_gemm_params* p, int8_t* out, const int fast, const int full) {
  const int out_c = p->out_c; /* read once: the stores to out may alias p */
  const uint32_t* w = weights;
  for (int j = 0; j < n; ++j, ++out, w += 2 * groups) {
    const int32_t b = group_bias[j];
    int32_t acc[4] = {b, b, b, b};
    if (count == TE_GEMM_PIXELS) {
      te_gemm_dot_4x1_wide_dsp(tile, w, groups, acc);
    } else {
      te_gemm_dot_part_wide_dsp(tile, w, groups, count, acc);
    }
    int stride = out_c;
    __asm__("" : "+r"(stride)); /* opaque: GCC would otherwise walk four output pointers, spilled */
    te_gemm_out4_at_dsp(acc[0], acc[1], acc[2], acc[3], count, rq[j], p, out, stride, fast, full);
  }
}
/* te_gemm_group_tile_dsp with the depth a constant where it is a common shallow one. */
TE_INLINE void te_gemm_group_tile_any_dsp(const int16_t* tile, const uint32_t* weights, const int32_t* group_bias,
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
 * the y tile rather than to the layer's output (the fused ADD, te_conv2d_add.c defines it):
 * pixels first .. first + count - 1, channels g0 .. g0 + n - 1, in y[i * out_c + g0 + j]. A
 * direct call (the stack analysis bounds no function pointer), weak so that a firmware
 * without the fused kernel links; only a fused layer (y set) reaches it. */
void te_gemm_after_dsp(const void* context, const int8_t* y, long first, int count, int g0, int n)
    __attribute__((weak));

/* A whole 1x1 layer on the shallow core's weights, group by group (see above). */
TE_INLINE void te_gemm_shallow_groups_dsp(const int8_t* input, const int8_t* filter, const int32_t* bias,
                                          const int32_t* multiplier, const int8_t* shift,
                                          const te_conv2d_gemm_params* p, int8_t* output, int8_t* y,
                                          const void* context, const int fast, const int full) {
  uint32_t tile_words[TE_GEMM_PIXELS * TE_GEMM_GROUP_MAX_DEPTH_DSP / 2]; /* int16, word aligned */
  /* One buffer for a group's weights [channel][depth4], then its doubled biases, then its
   * requantisation constants: TE_GEMM_GROUP_BYTES_DSP hold 12 channels of the deepest
   * layers, and more of shallower ones (te_gemm_group_size_dsp), each tile then widened
   * fewer times. */
  uint32_t group_words[TE_GEMM_GROUP_BYTES_DSP / 4];
  int16_t* tile = (int16_t*)(void*)tile_words;
  uint32_t* weights = group_words; /* [channel][depth4 / 4][2] */
  const int depth = p->depth, out_c = p->out_c, depth4 = (depth + 3) & ~3, groups = depth4 >> 2;
  const int size = te_gemm_group_size_dsp(depth4);
  int32_t* group_bias = (int32_t*)(void*)(weights + size * (depth4 / 2));
  te_gemm_rq_dsp* rq = (te_gemm_rq_dsp*)(void*)(group_bias + size);
  const long pixels = (long)p->batches * p->out_h * p->out_w;
  int8_t* const to = y ? y : output; /* each tile's outputs: at to + t * step (y: the same tile) */
  const long step = y ? 0 : out_c;
  for (int g0 = 0; g0 < out_c; g0 += size) {
    const int n = out_c - g0 < size ? out_c - g0 : size;
    for (int j = 0; j < n; j += 4) te_gemm_gather4_wide_dsp(filter, p, g0 + j, depth, depth4, weights + j * (depth4 / 2));
    for (int j = 0; j < n; ++j) {
      const int c = g0 + j;
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
        if (dense) te_gemm_pixel_seek(p, t, &px); /* where te_gemm_1x1_rows resumes */
        te_gemm_1x1_rows(p, input, count, &px, rows);
        for (int i = 0; i < TE_GEMM_PIXELS; ++i) te_gemm_widen_row_padded_dsp(rows[i], depth, i, tile, fast);
      }
      /* one call (the tile code once in the shared copy), into y or the layer's output */
      te_gemm_group_tile_any_dsp(tile, weights, group_bias, rq, n, groups, count, p, to + t * step + g0, fast, full);
      if (y) te_gemm_after_dsp(context, y, t, count, g0, n);
    }
  }
}

/* One copy of the group code per firmware, shared by the plain 1x1 shallow layers and the
 * ones fused with their ADD (te_conv2d_add.c, `y` set): te_conv2d_1x1_shallow.c defines
 * te_gemm_shallow_groups_dsp_fast (and _any) with external linkage (TE_GEMM_GROUPS_DEFINE),
 * every other file declares them, and the fused kernel's sources list that file. noclone:
 * GCC would otherwise copy it for the one call with `y` a constant 0. */
#define TE_GEMM_GROUPS_PARAMS_DSP                                                                                 \
  (const int8_t* input, const int8_t* filter, const int32_t* bias, const int32_t* multiplier, const int8_t* shift, \
   const te_conv2d_gemm_params* p, int8_t* output, int8_t* y, const void* context)
#ifdef TE_GEMM_GROUPS_DEFINE
#define TE_GEMM_GROUPS_COPY_DSP(NAME, FAST, FULL)                                                               \
  TE_DSP_FN __attribute__((noinline, noclone)) void NAME TE_GEMM_GROUPS_PARAMS_DSP;                            \
  TE_DSP_FN __attribute__((noinline, noclone)) void NAME TE_GEMM_GROUPS_PARAMS_DSP {                           \
    te_gemm_shallow_groups_dsp(input, filter, bias, multiplier, shift, p, output, y, context, FAST, FULL);        \
  }
#else
#define TE_GEMM_GROUPS_COPY_DSP(NAME, FAST, FULL) void NAME TE_GEMM_GROUPS_PARAMS_DSP;
#endif
TE_GEMM_GROUPS_COPY_DSP(te_gemm_shallow_groups_dsp_fast, 1, 1)
#if !TE_GEMM_FAST_ONLY
TE_GEMM_GROUPS_COPY_DSP(te_gemm_shallow_groups_dsp_any, p->fast_requant, 0)
#endif
#undef TE_GEMM_GROUPS_COPY_DSP
#undef TE_GEMM_GROUPS_PARAMS_DSP

/* ---- the entry of te_conv2d_gemm.h (the portable one's name) ------------------------ */

/* The whole layer where its depth allows the gathered weights (returns 1), else 0. */
TE_INLINE int te_gemm_shallow_1x1_layer(const int8_t* input, const int8_t* filter, const int32_t* bias,
                                        const int32_t* multiplier, const int8_t* shift,
                                        const te_conv2d_gemm_params* p, int8_t* output) {
  if (p->depth <= TE_GEMM_GROUP_MAX_DEPTH_DSP) {
    TE_GEMM_DISPATCH_DSP(p, te_gemm_shallow_groups_dsp, input, filter, bias, multiplier, shift, p, output, 0, 0);
    return 1;
  }
  return 0;
}

#endif /* TE_ARM_TE_GEMM_1X1_DSP_H */
