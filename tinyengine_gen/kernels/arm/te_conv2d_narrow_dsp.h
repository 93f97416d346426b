/* te_conv2d_narrow_dsp.h: the Armv7E-M code of te_conv2d_narrow.c.
 *
 * te_conv2d_narrow.c includes this file at the one point where the builds part, only where
 * TE_DSP is set (te_fixedpoint.h), and takes te_conv2d_narrow_s8 from it in place of its
 * portable one (the same entry). Not a header to include on its own. */
#ifndef TE_ARM_TE_CONV2D_NARROW_DSP_H
#define TE_ARM_TE_CONV2D_NARROW_DSP_H

/* DSP: TE_NARROW_DSP_PIXELS output pixels at a time. Each receptive field is gathered as
 * int8 (in place for a 1x1 layer, word copies where it lies inside the image, the generic
 * im2col at the border) and widened by SXTB16 into a tile of pixel pairs,
 * [pair][depth / 4][2 pixels][4] int16, each group of four as (x0, x2, x1, x3). The filter
 * (narrow_filter_layout) holds channel pairs the same way, pre-widened and doubled at
 * compile time, so a step of 2 pixels x 2 channels x 4 depth values is 4 LDRD and 8 SMLAD
 * for 16 MACs, with the depth a constant where the planner lists it (fully unrolled). The
 * sums are 2 * acc: te_requantize_rq's doubling costs nothing in the fast layers. The
 * tile takes 32 * depth bytes of the scratch, the int8 row the next depth, then the
 * requantisation constants of fast layers 16 bytes a channel (te_narrow_pair_rq). */
#define TE_NARROW_DSP_PIXELS 16

/* STRD of two words at p + off (word aligned), written out: GCC does not pair these stores. */
#define TE_NARROW_STRD_AT(p, off, lo, hi)                                                 \
  __asm__("strd %1, %2, [%3, %4]"                                                         \
          : "=m"(*(te_gemm_dword*)(void*)((char*)(p) + (off)))                             \
          : "r"(lo), "r"(hi), "r"(p), "i"(off))

/* Pixel slot `slot` of the pair tile (tile + (i / 2) * 8 * groups + (i % 2) * 4 for pixel i). */
TE_INLINE int16_t* te_narrow_slot(int16_t* tile, int i, int groups) {
  return tile + (long)(i >> 1) * 8 * groups + (i & 1) * 4;
}

/* A pixel's int8 row (depth / 4 groups) into its slot of the pair tile. */
TE_INLINE void te_narrow_widen_dsp(const int8_t* src, int groups, int16_t* slot) {
  te_gemm_word* d = (te_gemm_word*)(void*)slot;
#pragma GCC unroll 12 /* written out where groups is a constant */
  for (int g = 0; g < groups; ++g, src += 4, d += 4) {
    const uint32_t v = te_load_u32(src);
    TE_NARROW_STRD_AT(d, 0, te_sxtb16_even(v), te_sxtb16_odd(v));
  }
}

/* s[0..3] += (pixel 0, channel 0), (pixel 0, channel 1), (pixel 1, channel 0),
 * (pixel 1, channel 1) over one group of four: x a pixel pair, w a channel pair. */
#define TE_NARROW_2X2_STEP()                   \
  do {                                         \
    uint32_t a0, a1, b0, b1, x0, x1;           \
    TE_LDRD_INC(w, a0, a1);                    \
    TE_LDRD_INC(w, b0, b1);                    \
    TE_LDRD_INC(x, x0, x1);                    \
    s00 = te_smlad(x0, a0, s00);               \
    s00 = te_smlad(x1, a1, s00);               \
    s01 = te_smlad(x0, b0, s01);               \
    s01 = te_smlad(x1, b1, s01);               \
    TE_LDRD_INC(x, x0, x1);                    \
    s10 = te_smlad(x0, a0, s10);               \
    s10 = te_smlad(x1, a1, s10);               \
    s11 = te_smlad(x0, b0, s11);               \
    s11 = te_smlad(x1, b1, s11);               \
  } while (0)
/* The same step with each pair's four words loaded by one LDM (two groups' worth of
 * loads in two instructions instead of four), the data in fixed registers (LDM loads in
 * register order): 10 instructions for 16 MACs. */
#define TE_NARROW_2X2_LDM_STEP()                                                                    \
  __asm__("ldmia %[w]!, {r0, r1, r2, r3}\n\t"                                                      \
          "ldmia %[x]!, {r8, r9, r10, r12}\n\t"                                                    \
          "smlad %[s00], r8, r0, %[s00]\n\t"                                                       \
          "smlad %[s00], r9, r1, %[s00]\n\t"                                                       \
          "smlad %[s01], r8, r2, %[s01]\n\t"                                                       \
          "smlad %[s01], r9, r3, %[s01]\n\t"                                                       \
          "smlad %[s10], r10, r0, %[s10]\n\t"                                                      \
          "smlad %[s10], r12, r1, %[s10]\n\t"                                                      \
          "smlad %[s11], r10, r2, %[s11]\n\t"                                                      \
          "smlad %[s11], r12, r3, %[s11]"                                                           \
          : [s00] "+r"(s00), [s01] "+r"(s01), [s10] "+r"(s10), [s11] "+r"(s11), [w] "+r"(w), [x] "+r"(x) \
          : "m"(*(const te_gemm_dword(*)[2])(const void*)w), "m"(*(const te_gemm_dword(*)[2])(const void*)x)  \
          : "r0", "r1", "r2", "r3", "r8", "r9", "r10", "r12")
/* Over `groups` groups: written out where groups is a constant (at most 12), a loop else. */
TE_INLINE void te_narrow_dot_2x2_dsp(const int16_t* x, const int16_t* w, int groups, int32_t s[4], const int unrolled) {
  int32_t s00 = s[0], s01 = s[1], s10 = s[2], s11 = s[3];
  if (unrolled && groups >= 5) { /* (on shorter rows the fixed registers cost more than LDM saves) */
#pragma GCC unroll 12
    for (int g = 0; g < groups; ++g) TE_NARROW_2X2_LDM_STEP();
  } else if (unrolled) {
#pragma GCC unroll 12
    for (int g = 0; g < groups; ++g) TE_NARROW_2X2_STEP();
  } else {
    for (int g = 0; g < groups; ++g) TE_NARROW_2X2_STEP();
  }
  s[0] = s00; s[1] = s01; s[2] = s10; s[3] = s11;
}
#undef TE_NARROW_2X2_STEP
#undef TE_NARROW_2X2_LDM_STEP

/* One output from the doubled sum s (w * x summed with doubled weights): 2 * (bias + acc)
 * where `fast` (the bias doubled in s already), else halved to acc and the bias added. */
TE_INLINE int8_t te_narrow_out_dsp(int32_t s, int32_t bias, te_gemm_rq_dsp rq, const te_conv2d_gemm_params* p,
                                   const int fast, const int full) {
  return te_gemm_out_dsp(fast ? s : (int32_t)((uint32_t)(s >> 1) + (uint32_t)bias), rq, p, fast, full);
}

/* All out_c outputs of `pixels` pixels from the pair tile (any layer, any depth). */
TE_INLINE void te_narrow_tiles_dsp(const int16_t* tile, int pixels, const int16_t* filter, const int32_t* bias,
                                   const int32_t* multiplier, const int8_t* shift, const te_conv2d_gemm_params* p,
                                   int8_t* out, const int fast, const int full) {
  const int out_c = p->out_c, groups = p->depth >> 2;
  for (int c = 0; c < out_c; c += 2, filter += 8 * groups, out += 2) {
    const int two = c + 1 < out_c; /* else the pair's second channel is the zero filter */
    const int32_t b0 = bias[c], b1 = two ? bias[c + 1] : 0;
    const int32_t i0 = fast ? te_gemm_bias_dsp(b0, fast) : 0, i1 = fast ? te_gemm_bias_dsp(b1, fast) : 0;
    const te_gemm_rq_dsp r0 = te_gemm_channel_dsp(multiplier[c], shift[c], p, fast);
    const te_gemm_rq_dsp r1 = two ? te_gemm_channel_dsp(multiplier[c + 1], shift[c + 1], p, fast) : r0;
    const int16_t* x = tile;
    int8_t* o = out;
    for (int i = 0; i < pixels; i += 2, x += 8 * groups, o += 2 * out_c) {
      int32_t s[4] = {i0, i1, i0, i1};
      te_narrow_dot_2x2_dsp(x, filter, groups, s, 0);
      const int8_t v00 = te_narrow_out_dsp(s[0], b0, r0, p, fast, full);
      const int8_t v01 = te_narrow_out_dsp(s[1], b1, r1, p, fast, full);
      const int8_t v10 = te_narrow_out_dsp(s[2], b0, r0, p, fast, full);
      const int8_t v11 = te_narrow_out_dsp(s[3], b1, r1, p, fast, full);
      o[0] = v00;
      if (two) o[1] = v01;
      if (i + 1 < pixels) {
        o[out_c] = v10;
        if (two) o[out_c + 1] = v11;
      }
    }
  }
}

/* A channel pair's constants for te_narrow_whole_dsp, made once per layer (in the scratch,
 * after the row) where fast_requant: the doubled biases, then te_requantize_rq's
 * multipliers, rounding terms and right shifts, each a pair for LDRD. */
typedef struct {
  int32_t bias[2], multiplier[2], round[2], shift[2];
} te_narrow_pair_rq;

TE_INLINE void te_narrow_pair_constants(const int32_t* bias, const int32_t* multiplier, const int8_t* shift,
                                        const te_conv2d_gemm_params* p, te_narrow_pair_rq* table) {
  for (int c = 0; c < p->out_c; ++c) {
    te_narrow_pair_rq* t = table + (c >> 1);
    t->bias[c & 1] = te_gemm_bias_dsp(bias[c], 1);
    t->multiplier[c & 1] = multiplier[c];
    t->round[c & 1] = te_rq_round(-shift[c], p->output_offset);
    t->shift[c & 1] = -shift[c];
  }
}

/* A whole tile (TE_NARROW_DSP_PIXELS pixels) of a fast layer with the full int8 clamp, an
 * even out_c and a constant `groups`: pixel pairs outside, channel pairs inside, so the
 * weights and the constants are each one stream read forward; the dot fully unrolled. */
TE_INLINE void te_narrow_whole_dsp(const int16_t* tile, const int16_t* filter, const te_narrow_pair_rq* table,
                                   const te_conv2d_gemm_params* p, int8_t* out, const int groups) {
  const int out_c = p->out_c;
  const te_narrow_pair_rq* table_end = table + (out_c >> 1);
  for (int i = 0; i < TE_NARROW_DSP_PIXELS; i += 2, tile += 8 * groups, out += 2 * out_c) {
    const int16_t* w = filter;
    int8_t* o = out;
    for (const te_narrow_pair_rq* t = table; t != table_end; ++t, o += 2) {
      int32_t s[4] = {t->bias[0], t->bias[1], t->bias[0], t->bias[1]};
      te_narrow_dot_2x2_dsp(tile, w, groups, s, 1);
      w += 8 * groups;
      te_gemm_rq_dsp r0, r1;
      r0.multiplier = t->multiplier[0], r0.round = t->round[0], r0.shift = t->shift[0];
      r1.multiplier = t->multiplier[1], r1.round = t->round[1], r1.shift = t->shift[1];
      const int8_t v00 = te_gemm_out_dsp(s[0], r0, p, 1, 1), v01 = te_gemm_out_dsp(s[1], r1, p, 1, 1);
      const int8_t v10 = te_gemm_out_dsp(s[2], r0, p, 1, 1), v11 = te_gemm_out_dsp(s[3], r1, p, 1, 1);
      o[0] = v00;
      o[1] = v01;
      o[out_c] = v10;
      o[out_c + 1] = v11;
    }
  }
}

/* te_narrow_whole_dsp for whole tiles of the depths te_gemm_config.h lists (those of this
 * project's narrow layers) in the fast layers with the full int8 clamp; the general
 * te_narrow_tiles_dsp for the rest. */
TE_INLINE void te_narrow_tiles_any_dsp(const int16_t* tile, int pixels, const int16_t* filter, const int32_t* bias,
                                       const int32_t* multiplier, const int8_t* shift, const te_narrow_pair_rq* table,
                                       const te_conv2d_gemm_params* p, int8_t* out, const int fast, const int full) {
#define TE_NARROW_TILES_CASE(G)                             \
  case G:                                                   \
    te_narrow_whole_dsp(tile, filter, table, p, out, G);    \
    return;
  switch (fast && full && pixels == TE_NARROW_DSP_PIXELS && !(p->out_c & 1) ? p->depth >> 2 : 0) {
    TE_GEMM_TILES_CONSTANT_GROUPS(TE_NARROW_TILES_CASE)
    default:
      te_narrow_tiles_dsp(tile, pixels, filter, bias, multiplier, shift, p, out, fast, full);
  }
#undef TE_NARROW_TILES_CASE
}
TE_GEMM_VARIANTS_DSP(te_narrow_tiles_any_dsp,
                     (const int16_t* tile, int pixels, const int16_t* filter, const int32_t* bias,
                      const int32_t* multiplier, const int8_t* shift, const te_narrow_pair_rq* table,
                      const te_conv2d_gemm_params* p, int8_t* out),
                     tile, pixels, filter, bias, multiplier, shift, table, p, out)

/* The receptive field of a pixel whose taps all lie inside the image (NHWC, no horizontal
 * dilation): k_h runs of `span` bytes, `rows` bytes apart in the input, copied a word at a
 * time. A run but the last may copy up to 3 bytes past its end (read inside the image: a
 * later image row follows), which the next run overwrites; the last copies exactly. */
TE_INLINE void te_narrow_copy_inside(const int8_t* src, long rows, int k_h, int8_t* row, const int span) {
  for (int ky = 0; ky < k_h; ++ky, src += rows, row += span) {
    int i = 0;
    if (ky + 1 < k_h) {
      for (; i < span; i += 4) te_store_u32(row + i, te_load_u32(src + i));
    } else {
      for (; i + 4 <= span; i += 4) te_store_u32(row + i, te_load_u32(src + i));
      for (; i < span; ++i) row[i] = src[i];
    }
  }
}

/* Pixel i's receptive field of a 3x3 filter on 3 channels lying inside the image (three
 * runs of 9 bytes, `rows` apart, from src) straight into its slot of the tile (depth 28):
 * the seven groups of four assembled in registers, a run's last bytes joined with the
 * next run's first, the 28th value 0. */
TE_INLINE uint32_t te_narrow_load_u16(const int8_t* p) {
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
}
TE_INLINE void te_narrow_widen_3x9_dsp(const int8_t* a, long rows, int16_t* slot) {
  const int8_t* b = a + rows;
  const int8_t* c = b + rows;
#define TE_NARROW_GROUP(K, VALUE)                                               \
  do {                                                                          \
    const uint32_t v_ = (VALUE);                                                \
    TE_NARROW_STRD_AT(slot, 16 * (K), te_sxtb16_even(v_), te_sxtb16_odd(v_));   \
  } while (0)
  TE_NARROW_GROUP(0, te_load_u32(a));
  TE_NARROW_GROUP(1, te_load_u32(a + 4));
  TE_NARROW_GROUP(2, (uint32_t)(uint8_t)a[8] | (te_load_u32(b) << 8));
  TE_NARROW_GROUP(3, te_load_u32(b + 3));
  TE_NARROW_GROUP(4, te_narrow_load_u16(b + 7) | (te_narrow_load_u16(c) << 16));
  TE_NARROW_GROUP(5, te_load_u32(c + 2));
  TE_NARROW_GROUP(6, te_load_u32(c + 5) >> 8);
#undef TE_NARROW_GROUP
}

/* te_gemm_im2col_row (the border pixels), one copy shared by every gather. */
static __attribute__((noinline)) void te_narrow_im2col_row(const te_conv2d_gemm_params* p, const int8_t* input, int b,
                                                           int oy, int ox, int8_t* row) {
  te_gemm_im2col_row(p, input, b, oy, ox, row);
}

/* The n pixels from px on into the tile (advancing px): gathered, then widened, a run of
 * one output row at a time. `span` (k_w * in_c), `groups` (depth / 4) and `k_h` are
 * constants where te_narrow_gather_any_dsp instantiates them. */
TE_INLINE void te_narrow_gather_dsp(const te_conv2d_gemm_params* p, const int8_t* input, int n, te_gemm_pixel* px,
                                    int8_t* row, int16_t* tile, const int span, const int groups, const int k_h) {
  const int in_c = p->in_c, in_w = p->in_w, stride_w = p->stride_w;
  /* 1x1 without padding: the input pixel is the row (the planner's depth is in_c then) */
  const int pointwise = k_h == 1 && p->k_w == 1 && p->pad_top == 0 && p->pad_left == 0 && !p->nchw &&
                        in_c == p->depth && (p->out_h - 1) * p->stride_h < p->in_h &&
                        (p->out_w - 1) * stride_w < in_w;
  /* a pixel reads inside the image where (unsigned) y0 < y_count and x0 < x_count */
  const int y_span = (k_h - 1) * p->dil_h;
  const unsigned y_count = p->in_h > y_span ? (unsigned)(p->in_h - y_span) : 0u;
  const unsigned x_count = p->nchw || p->dil_w != 1 || in_w < p->k_w ? 0u : (unsigned)(in_w - p->k_w + 1);
  const long rows = (long)p->dil_h * in_w * in_c, plane = (long)p->in_h * in_w * in_c;
  for (int i = 0; i < n;) {
    const int run = p->out_w - px->ox < n - i ? p->out_w - px->ox : n - i;
    const int y0 = px->oy * p->stride_h - p->pad_top;
    const int row_inside = (unsigned)y0 < y_count;
    const long line = px->b * plane + (long)y0 * in_w * in_c; /* offset of input row y0 */
    int ox = px->ox, x0 = ox * stride_w - p->pad_left;
    for (const int end = i + run; i < end; ++i, ++ox, x0 += stride_w) {
      const int8_t* src = row;
      if (pointwise) {
        src = input + line + (long)x0 * in_c;
      } else if (row_inside && (unsigned)x0 < x_count) {
        if (span == 9 && groups == 7 && k_h == 3) { /* 3x3 on 3 channels: straight into the tile */
          te_narrow_widen_3x9_dsp(input + line + (long)x0 * in_c, rows, te_narrow_slot(tile, i, groups));
          continue;
        }
        te_narrow_copy_inside(input + line + (long)x0 * in_c, rows, k_h, row, span);
      } else {
        te_narrow_im2col_row(p, input, px->b, px->oy, ox, row);
      }
      te_narrow_widen_dsp(src, groups, te_narrow_slot(tile, i, groups));
    }
    if ((px->ox += run) == p->out_w) {
      px->ox = 0;
      if (++px->oy == p->out_h) {
        px->oy = 0;
        ++px->b;
      }
    }
  }
}

/* te_narrow_gather_dsp with the span, the depth and k_h constants for 3x3 first layers on
 * 3 channels (RGB images, depth 28); the general code for the rest (not unrolled). */
TE_INLINE void te_narrow_gather_any_dsp(const te_conv2d_gemm_params* p, const int8_t* input, int n, te_gemm_pixel* px,
                                        int8_t* row, int16_t* tile) {
  const int span = p->k_w * p->in_c;
#define TE_NARROW_GATHER_CASE(SPAN, GROUPS)                                \
  if (span == SPAN && p->depth == 4 * GROUPS && p->k_h == 3) {            \
    te_narrow_gather_dsp(p, input, n, px, row, tile, SPAN, GROUPS, 3);    \
    return;                                                               \
  }
  TE_NARROW_GATHER_CASE(9, 7)
#undef TE_NARROW_GATHER_CASE
  te_narrow_gather_dsp(p, input, n, px, row, tile, span, p->depth >> 2, p->k_h);
}

static TE_DSP_FN_COPIES void te_conv2d_narrow_dsp(const te_conv2d_gemm_params* p, const int8_t* input,
                                                  const int16_t* filter, const int32_t* bias,
                                                  const int32_t* multiplier, const int8_t* shift, int8_t* output,
                                                  void* scratch) {
  const long pixels = (long)p->batches * p->out_h * p->out_w;
  const int depth = p->depth;
  int16_t* tile = (int16_t*)scratch;
  int8_t* row = (int8_t*)scratch + (long)TE_NARROW_PIXELS * depth;
  te_narrow_pair_rq* table = (te_narrow_pair_rq*)(void*)(row + depth); /* word aligned: depth % 4 == 0 */
  for (int k = 0; k < depth; ++k) row[k] = 0; /* the padding past the taps stays 0 */
  if (p->fast_requant) te_narrow_pair_constants(bias, multiplier, shift, p, table);
  te_gemm_pixel px = {0, 0, 0};
  for (long t = 0; t < pixels; t += TE_NARROW_DSP_PIXELS) {
    const int n = pixels - t < TE_NARROW_DSP_PIXELS ? (int)(pixels - t) : TE_NARROW_DSP_PIXELS;
    te_narrow_gather_any_dsp(p, input, n, &px, row, tile);
    TE_GEMM_DISPATCH_DSP(p, te_narrow_tiles_any_dsp, tile, n, filter, bias, multiplier, shift, table, p,
                         output + t * p->out_c);
  }
}

/* The entry (te_conv2d_narrow.h). The layer is a function of its own, compiled with
 * TE_DSP_FN_COPIES. */
void te_conv2d_narrow_s8(const te_conv2d_gemm_params* p, const int8_t* input, const int16_t* filter,
                         const int32_t* bias, const int32_t* multiplier, const int8_t* shift, int8_t* output,
                         void* scratch) {
  te_conv2d_narrow_dsp(p, input, filter, bias, multiplier, shift, output, scratch);
}

#endif /* TE_ARM_TE_CONV2D_NARROW_DSP_H */
