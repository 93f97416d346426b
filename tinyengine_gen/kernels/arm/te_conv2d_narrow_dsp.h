/* te_conv2d_narrow_dsp.h: the Armv7E-M code of te_conv2d_narrow.c.
 *
 * te_conv2d_narrow.c includes this file at the one point where the builds part, only where
 * TE_DSP is set (te_fixedpoint.h), and takes te_conv2d_narrow_s8 from it in place of its
 * portable one (the same entry). Not a header to include on its own. */
#ifndef TE_ARM_TE_CONV2D_NARROW_DSP_H
#define TE_ARM_TE_CONV2D_NARROW_DSP_H

/* DSP: TE_NARROW_DSP_PIXELS output pixels at a time through the deep core's interleaved
 * tiles and its requantisation (te_conv2d_gemm.h), the filter being the deep core's
 * [out_c][depth]: each receptive field is im2col'ed into the last row of the scratch and
 * widened into its tile of four at the start (the tiles take 32 * depth bytes, all of the
 * rest). One channel's constants then serve 16 pixels. */
#define TE_NARROW_DSP_PIXELS 16

/* The tiles' outputs: n pixels in (n + 3) / 4 tiles of 4. */
static void te_gemm_tiles_any_dsp_fast_or_any(const te_conv2d_gemm_params* p, const int16_t* tiles, int n,
                                              const int8_t* filter, const int32_t* bias, const int32_t* multiplier,
                                              const int8_t* shift, int8_t* out) {
  TE_GEMM_DISPATCH_DSP(p, te_gemm_tiles_any_dsp, tiles, n, (n + 3) / 4, filter, bias, multiplier, shift, p, out);
}

static TE_DSP_FN_COPIES void te_conv2d_narrow_dsp(const te_conv2d_gemm_params* p, const int8_t* input, const int8_t* filter,
                                           const int32_t* bias, const int32_t* multiplier, const int8_t* shift,
                                           int8_t* output, void* scratch) {
  const long pixels = (long)p->batches * p->out_h * p->out_w;
  const int depth = p->depth;
  int16_t* tiles = (int16_t*)scratch;
  int8_t* row = (int8_t*)scratch + (long)TE_NARROW_PIXELS * depth;
  /* A 1x1 layer that reads no padding widens its input pixels in place (no im2col). */
  const int pointwise = p->k_h == 1 && p->k_w == 1 && p->pad_top == 0 && p->pad_left == 0 && !p->nchw &&
                        p->in_c == depth && (p->out_h - 1) * p->stride_h < p->in_h &&
                        (p->out_w - 1) * p->stride_w < p->in_w;
  te_gemm_pixel px = {0, 0, 0};
  const int dense = pointwise && p->stride_h == 1 && p->stride_w == 1 && (depth & 3) == 0;
  for (long t = 0; t < pixels; t += TE_NARROW_DSP_PIXELS) {
    const int n = pixels - t < TE_NARROW_DSP_PIXELS ? (int)(pixels - t) : TE_NARROW_DSP_PIXELS;
    if (dense && n == TE_NARROW_DSP_PIXELS) { /* consecutive input pixels, four at a time */
      for (int q = 0; q < TE_NARROW_DSP_PIXELS / 4; ++q) {
        te_gemm_widen4_padded_dsp(input + (t + 4 * q) * depth, depth, tiles + (long)q * 4 * depth, p->fast_requant);
      }
      te_gemm_tiles_any_dsp_fast_or_any(p, tiles, n, filter, bias, multiplier, shift, output + t * p->out_c);
      continue;
    }
    if (dense) te_gemm_pixel_seek(p, t, &px); /* the pixel walk resumes where the dense tiles stopped */
    for (int i = 0; i < n; ++i) { /* tile rows past n keep older values: computed, never stored */
      const int8_t* src = row;
      if (pointwise) {
        src = input + te_gemm_1x1_source(p, &px) * depth;
      } else {
        te_gemm_im2col_row(p, input, px.b, px.oy, px.ox, row);
      }
      te_gemm_next_pixel(p, &px);
      te_gemm_widen_row_dsp(src, depth, i & 3, tiles + (long)(i >> 2) * 4 * depth, p->fast_requant);
    }
    te_gemm_tiles_any_dsp_fast_or_any(p, tiles, n, filter, bias, multiplier, shift, output + t * p->out_c);
  }
}

/* The entry (te_conv2d_narrow.h). The layer is a function of its own, compiled with
 * TE_DSP_FN_COPIES. */
void te_conv2d_narrow_s8(const te_conv2d_gemm_params* p, const int8_t* input, const int8_t* filter,
                         const int32_t* bias, const int32_t* multiplier, const int8_t* shift, int8_t* output,
                         void* scratch) {
  te_conv2d_narrow_dsp(p, input, filter, bias, multiplier, shift, output, scratch);
}

#endif /* TE_ARM_TE_CONV2D_NARROW_DSP_H */
