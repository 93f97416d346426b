/* Fused CONV_2D + ADD: see te_conv2d_add.h. The convolution of each tile is the code of the
 * kernel its core belongs to (te_conv2d_1x1*.c, te_conv2d_kxk*.c) with the tile of y as
 * its output. */
#include "te_conv2d_add.h"

#include "te_add_requant.h"

TE_INLINE int32_t te_conv_add_scale(int32_t q, int32_t offset, int32_t left_shift, int32_t multiplier, int32_t shift) {
  return te_add_requantize((q + offset) * ((int32_t)1 << left_shift), multiplier, shift);
}

/* out[i] = ADD(residual[i], y[i]) for n values (out may be residual). */
static void te_conv_add_epilogue(const te_conv2d_add_params* a, const int8_t* y, const int8_t* residual, int8_t* out,
                                 long n) {
  const int32_t ls = a->left_shift;
  for (long i = 0; i < n; ++i) {
    const int32_t r = te_conv_add_scale(residual[i], a->residual_offset, ls, a->residual_multiplier, a->residual_shift);
    const int32_t c = te_conv_add_scale(y[i], a->conv_offset, ls, a->conv_multiplier, a->conv_shift);
    out[i] = te_add_output(r + c, a->output_multiplier, a->output_shift, a->output_offset, a->act_min, a->act_max);
  }
}

#ifdef TE_DSP
/* DSP: the rescalings in the te_requantize_rq formulation (te_fixedpoint.h), SMMLAR, two
 * instructions of rounding and a shift, with their preconditions holding by construction
 * wherever the output's right shift is 1 to 22 and left_shift at most 20 (TFLite's; checked
 * per call, else te_conv_add_epilogue runs): the inputs (q + offset) << left_shift are below
 * 255 * 2^20 < 2^28 in magnitude, so are the rescaled values (multipliers below one), their
 * sum is below 2^29, and the rounding terms 2^(e-1) (inputs) and 2^(e-1) + output_offset *
 * 2^e (output, below 2^30) do not overflow (ADD's input shifts are never positive).
 * The input with the larger scale has multiplier 1/2 (2^30) and right shift 0 (QuantizeMulti-
 * plierSmallerThanOneExp of 0.5): its rescaling is exactly (q + offset) << (left_shift - 1)
 * (the high multiply of an even x by 2^30 is x / 2, no rounding left), one MLA. Each input
 * is either kind, so the loop is instantiated four times (`half_r`, `half_c`), keeping the
 * constants of one instance within the registers. */
typedef struct {
  int32_t scale, offset; /* x = q * scale + offset: (q + offset) << (left_shift + 1), or << (left_shift - 1) */
  int32_t multiplier, round, e;
} te_conv_add_rq_dsp;

TE_INLINE int te_conv_add_half_dsp(int32_t multiplier, int32_t shift) { return multiplier == (1 << 30) && shift == 0; }

TE_INLINE te_conv_add_rq_dsp te_conv_add_rq_init_dsp(int32_t offset, int32_t multiplier, int32_t shift,
                                                     int32_t left_shift) {
  te_conv_add_rq_dsp k;
  const int half = te_conv_add_half_dsp(multiplier, shift);
  const int by = half ? left_shift - 1 : left_shift + 1;
  k.scale = (int32_t)1 << by;
  k.offset = (int32_t)((uint32_t)offset << by);
  k.multiplier = multiplier;
  k.e = -shift;
  k.round = half ? 0 : te_rq_round(-shift, 0);
  return k;
}

/* te_conv_add_scale(q, ...) for q in [-128, 127]: the rq form (needs e >= 1), or the exact
 * half where `half`. */
TE_INLINE int32_t te_conv_add_scale_dsp(int32_t q, const te_conv_add_rq_dsp* k, const int half) {
  const int32_t x = q * k->scale + k->offset;
  return half ? x : te_smmlar(x, k->multiplier, k->round + (x >> 31)) >> k->e;
}

TE_INLINE void te_conv_add_loop_dsp(const te_conv2d_add_params* a, const int8_t* y, const int8_t* residual,
                                    int8_t* out, long n, const int half_r, const int half_c) {
  const te_conv_add_rq_dsp kr = te_conv_add_rq_init_dsp(a->residual_offset, a->residual_multiplier, a->residual_shift,
                                                        a->left_shift);
  const te_conv_add_rq_dsp kc = te_conv_add_rq_init_dsp(a->conv_offset, a->conv_multiplier, a->conv_shift,
                                                        a->left_shift);
  const int32_t mo = a->output_multiplier, eo = -a->output_shift, ro = te_rq_round(eo, a->output_offset);
  const int full = a->act_min == -128 && a->act_max == 127;
  for (long i = 0; i < n; ++i) {
    const int32_t sum = te_conv_add_scale_dsp(residual[i], &kr, half_r) + te_conv_add_scale_dsp(y[i], &kc, half_c);
    const int32_t v = te_requantize_rq(sum, mo, ro, eo);
    out[i] = full ? (int8_t)__ssat(v, 8) : (int8_t)te_clamp(v, a->act_min, a->act_max);
  }
}

static int te_conv_add_epilogue_dsp(const te_conv2d_add_params* a, const int8_t* y, const int8_t* residual,
                                    int8_t* out, long n) {
  const int half_r = te_conv_add_half_dsp(a->residual_multiplier, a->residual_shift);
  const int half_c = te_conv_add_half_dsp(a->conv_multiplier, a->conv_shift);
  if ((a->residual_shift > -1 && !half_r) || (a->conv_shift > -1 && !half_c) || a->output_shift > -1 ||
      a->output_shift < -22 || a->left_shift > 20 || a->left_shift < 1) {
    return 0;
  }
  if (half_r && !half_c) {
    te_conv_add_loop_dsp(a, y, residual, out, n, 1, 0);
  } else if (half_c && !half_r) {
    te_conv_add_loop_dsp(a, y, residual, out, n, 0, 1);
  } else if (!half_r && !half_c) {
    te_conv_add_loop_dsp(a, y, residual, out, n, 0, 0);
  } else {
    te_conv_add_loop_dsp(a, y, residual, out, n, 1, 1);
  }
  return 1;
}
#endif

/* The convolution's int8 output of the n pixels from px on, into y ([n][out_c]); advances px. */
static TE_DSP_FN_COPIES void te_conv_add_tile(const te_conv2d_gemm_params* p, int core, const int8_t* input, const int8_t* filter,
                             const int32_t* bias, const int32_t* multiplier, const int32_t* shift, int n,
                             te_gemm_pixel* px, int8_t* y, void* rows_scratch) {
  const int depth = p->depth;
  const int8_t* rows[TE_GEMM_PIXELS];
  if (core == TE_CONV_ADD_1X1_DEEP) {
    te_gemm_1x1_rows(p, input, n, px, rows);
    te_gemm_widen(p, rows, n, (int16_t*)rows_scratch);
    te_gemm_deep_tile_widened((const int16_t*)rows_scratch, n, filter, bias, multiplier, shift, p, y);
    return;
  }
  if (core == TE_CONV_ADD_KXK_DEEP) { /* as te_conv2d_kxk_s8: int8 rows after the int16 tile */
    int16_t* wide = (int16_t*)rows_scratch;
    te_gemm_im2col_rows(p, input, n, px, (int8_t*)rows_scratch + 2L * TE_GEMM_PIXELS * depth, rows);
    te_gemm_widen(p, rows, n, wide);
    te_gemm_deep_tile_widened(wide, n, filter, bias, multiplier, shift, p, y);
    return;
  }
  if (core == TE_CONV_ADD_1X1_SHALLOW) {
    te_gemm_1x1_rows(p, input, n, px, rows);
  } else {
    int8_t* cols = (int8_t*)rows_scratch;
    for (int i = 0; i < TE_GEMM_PIXELS; ++i) {
      rows[i] = cols; /* rows past n repeat row 0 */
      if (i < n) {
        rows[i] = cols + (long)i * depth;
        te_gemm_im2col_row(p, input, px->b, px->oy, px->ox, cols + (long)i * depth);
        te_gemm_next_pixel(p, px);
      }
    }
  }
  te_gemm_shallow_tile(rows, n, filter, bias, multiplier, shift, p, y);
}

#ifdef TE_DSP
/* DSP, 1x1 shallow core: the layer group by group as te_conv2d_1x1_shallow_s8 computes it
 * (te_gemm_shallow_groups_dsp), each tile's y of a group's channels then added to the
 * residual at once. The ADD is elementwise, so the order in which channels finish does
 * not matter, and the output may still lie over the residual. */
typedef struct {
  const te_conv2d_add_params* a;
  const int8_t* residual;
  int8_t* output;
  int out_c;
} te_conv_add_sink_dsp;

static void te_conv_add_after_dsp(const void* context, const int8_t* y, long first, int count, int g0, int n) {
  const te_conv_add_sink_dsp* k = (const te_conv_add_sink_dsp*)context;
  for (int i = 0; i < count; ++i) {
    const long at = (first + i) * k->out_c + g0;
    const int8_t* yi = y + (long)i * k->out_c + g0;
    if (!te_conv_add_epilogue_dsp(k->a, yi, k->residual + at, k->output + at, n)) {
      te_conv_add_epilogue(k->a, yi, k->residual + at, k->output + at, n);
    }
  }
}

TE_INLINE void te_conv_add_shallow_1x1_dsp(const te_conv2d_gemm_params* p, const te_conv2d_add_params* a,
                                           const int8_t* input, const int8_t* filter, const int32_t* bias,
                                           const int32_t* multiplier, const int32_t* shift, const int8_t* residual,
                                           int8_t* output, int8_t* y, const int fast, const int full) {
  const te_conv_add_sink_dsp sink = {a, residual, output, p->out_c};
  te_gemm_shallow_groups_dsp(input, filter, bias, multiplier, shift, p, output, y, te_conv_add_after_dsp, &sink, fast,
                             full);
}
TE_GEMM_VARIANTS_DSP(te_conv_add_shallow_1x1_dsp,
                     (const te_conv2d_gemm_params* p, const te_conv2d_add_params* a, const int8_t* input,
                      const int8_t* filter, const int32_t* bias, const int32_t* multiplier, const int32_t* shift,
                      const int8_t* residual, int8_t* output, int8_t* y),
                     p, a, input, filter, bias, multiplier, shift, residual, output, y)
#endif

TE_DSP_FN void te_conv2d_add_s8(const te_conv2d_gemm_params* p, const te_conv2d_add_params* a, const int8_t* input,
                      const int8_t* filter, const int32_t* bias, const int32_t* multiplier, const int32_t* shift,
                      const int8_t* residual, int8_t* output, void* scratch) {
  const long pixels = (long)p->batches * p->out_h * p->out_w;
  int8_t* y = (int8_t*)scratch;
  void* rows_scratch = (int8_t*)scratch + TE_CONV_ADD_TILE_BYTES(p->out_c);
#ifdef TE_DSP
  if (a->core == TE_CONV_ADD_1X1_SHALLOW && p->depth <= TE_GEMM_GROUP_MAX_DEPTH_DSP) {
    TE_GEMM_DISPATCH_DSP(p, te_conv_add_shallow_1x1_dsp, p, a, input, filter, bias, multiplier, shift, residual,
                         output, y);
    return;
  }
#endif
  te_gemm_pixel px = {0, 0, 0};
  for (long t = 0; t < pixels; t += TE_GEMM_PIXELS) {
    const int n = pixels - t < TE_GEMM_PIXELS ? (int)(pixels - t) : TE_GEMM_PIXELS;
    const long first = t * p->out_c;
    te_conv_add_tile(p, a->core, input, filter, bias, multiplier, shift, n, &px, y, rows_scratch);
#ifdef TE_DSP
    if (te_conv_add_epilogue_dsp(a, y, residual + first, output + first, (long)n * p->out_c)) continue;
#endif
    te_conv_add_epilogue(a, y, residual + first, output + first, (long)n * p->out_c);
  }
}
