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
  uint32_t weight_words[TE_GEMM_GROUP_DSP * TE_GEMM_GROUP_MAX_DEPTH_DSP / 4];
  int32_t group_bias[TE_GEMM_GROUP_DSP];
  te_gemm_rq_dsp rq[TE_GEMM_GROUP_DSP];
  int16_t* tile = (int16_t*)(void*)tile_words;
  int8_t* weights = (int8_t*)(void*)weight_words; /* [channel][depth4] */
  const int depth = p->depth, out_c = p->out_c, depth4 = (depth + 3) & ~3, groups = depth4 >> 2;
  const long pixels = (long)p->batches * p->out_h * p->out_w;
  int8_t* const to = y ? y : output; /* each tile's outputs: at to + t * step (y: the same tile) */
  const long step = y ? 0 : out_c;
  for (int g0 = 0; g0 < out_c; g0 += TE_GEMM_GROUP_DSP) {
    const int n = out_c - g0 < TE_GEMM_GROUP_DSP ? out_c - g0 : TE_GEMM_GROUP_DSP;
    for (int j = 0; j < n; ++j) {
      const int c = g0 + j;
      const int c0 = c - c % TE_GEMM_BLOCK, width = te_gemm_block_width(p, c0); /* the last block may be narrower */
      const int8_t* src = filter + (long)c0 * depth + (c - c0);
      int8_t* dst = weights + j * depth4;
      for (int k = 0; k < depth; k += 2, src += 2 * width) {
        dst[k] = src[0];
        dst[k + 1] = src[width];
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
