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
/* Bytes of a group's weights and constants: TE_GEMM_GROUP_DSP channels at the largest depth. */
#define TE_GEMM_GROUP_BYTES_DSP \
  (TE_GEMM_GROUP_DSP * (TE_GEMM_GROUP_MAX_DEPTH_DSP + (int)sizeof(int32_t) + (int)sizeof(te_gemm_rq_dsp)))

/* Channels of a group at depth4 (a multiple of 4, at most TE_GEMM_GROUP_MAX_DEPTH_DSP): as
 * many as TE_GEMM_GROUP_BYTES_DSP hold, a multiple of 4 (at least TE_GEMM_GROUP_DSP). */
TE_INLINE int te_gemm_group_size_dsp(int depth4) {
  const int per_channel = depth4 + (int)sizeof(int32_t) + (int)sizeof(te_gemm_rq_dsp);
  return TE_GEMM_GROUP_BYTES_DSP / per_channel & ~3;
}


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
  /* One buffer for a group's weights [channel][depth4], then its doubled biases, then its
   * requantisation constants: TE_GEMM_GROUP_BYTES_DSP hold 12 channels of the deepest
   * layers, and more of shallower ones (te_gemm_group_size_dsp), each tile then widened
   * fewer times. */
  uint32_t group_words[TE_GEMM_GROUP_BYTES_DSP / 4];
  int16_t* tile = (int16_t*)(void*)tile_words;
  int8_t* weights = (int8_t*)(void*)group_words; /* [channel][depth4] */
  const int depth = p->depth, out_c = p->out_c, depth4 = (depth + 3) & ~3, groups = depth4 >> 2;
  const int size = te_gemm_group_size_dsp(depth4);
  int32_t* group_bias = (int32_t*)(void*)(weights + size * depth4);
  te_gemm_rq_dsp* rq = (te_gemm_rq_dsp*)(void*)(group_bias + size);
  const long pixels = (long)p->batches * p->out_h * p->out_w;
  for (int g0 = 0; g0 < out_c; g0 += size) {
    const int n = out_c - g0 < size ? out_c - g0 : size;
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
        if (dense) te_gemm_pixel_seek(p, t, &px); /* where te_gemm_1x1_rows resumes */
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

/* ---- the entry of te_conv2d_gemm.h (the portable one's name) ------------------------ */

/* The whole layer where its depth allows the gathered weights (returns 1), else 0. */
TE_INLINE int te_gemm_shallow_1x1_layer(const int8_t* input, const int8_t* filter, const int32_t* bias,
                                        const int32_t* multiplier, const int32_t* shift,
                                        const te_conv2d_gemm_params* p, int8_t* output) {
  if (p->depth <= TE_GEMM_GROUP_MAX_DEPTH_DSP) {
    TE_GEMM_DISPATCH_DSP(p, te_gemm_shallow_1x1_dsp, input, filter, bias, multiplier, shift, p, output);
    return 1;
  }
  return 0;
}

#endif /* TE_ARM_TE_GEMM_1X1_DSP_H */
