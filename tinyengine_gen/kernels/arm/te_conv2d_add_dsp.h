/* te_conv2d_add_dsp.h: the Armv7E-M code of te_conv2d_add.c.
 *
 * te_conv2d_add.c includes this file at the one point where the builds part, only where
 * TE_DSP is set (te_fixedpoint.h), and takes te_conv_add_finish and
 * te_conv_add_shallow_1x1_layer from it in place of its portable ones (same names). Not a
 * header to include on its own. */
#ifndef TE_ARM_TE_CONV2D_ADD_DSP_H
#define TE_ARM_TE_CONV2D_ADD_DSP_H

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

/* The ADD's loop at -O3 although the file is built at -O2 (SIZE_OPTIMISED_DSP_KERNELS): it
 * runs once per output value (at -O2 mcunet_vww's shallow fused layers ran 6 % slower). */
#define TE_CONV_ADD_O3 __attribute__((optimize("O3", "no-schedule-insns")))
static TE_CONV_ADD_O3 int te_conv_add_epilogue_dsp(const te_conv2d_add_params* a, const int8_t* y,
                                                   const int8_t* residual, int8_t* out, long n) {
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

void te_gemm_after_dsp(const void* context, const int8_t* y, long first, int count, int g0, int n) {
  const te_conv_add_sink_dsp* k = (const te_conv_add_sink_dsp*)context;
  for (int i = 0; i < count; ++i) {
    const long at = (first + i) * k->out_c + g0;
    const int8_t* yi = y + (long)i * k->out_c + g0;
    if (!te_conv_add_epilogue_dsp(k->a, yi, k->residual + at, k->output + at, n)) {
      te_conv_add_epilogue(k->a, yi, k->residual + at, k->output + at, n);
    }
  }
}

/* The group code is te_conv2d_1x1_shallow.c's one copy (arm/te_gemm_1x1_dsp.h). */
TE_INLINE void te_conv_add_shallow_1x1_dsp(const te_conv2d_gemm_params* p, const te_conv2d_add_params* a,
                                           const int8_t* input, const int8_t* filter, const int32_t* bias,
                                           const int32_t* multiplier, const int8_t* shift, const int8_t* residual,
                                           int8_t* output, int8_t* y) {
  const te_conv_add_sink_dsp sink = {a, residual, output, p->out_c};
  TE_GEMM_DISPATCH_DSP(p, te_gemm_shallow_groups_dsp, input, filter, bias, multiplier, shift, p, output, y, &sink);
}

/* ---- the entries of te_conv2d_add.c (the portable ones' names) ---------------------- */

/* The ADD of a tile of y in the rq form where its preconditions hold (returns 1), else 0.
 * A macro naming te_conv_add_epilogue_dsp, as the portable one is a macro for 0: through an
 * inline function GCC emits the kernel's functions in another order. */
#define te_conv_add_epilogue_fast(a, y, residual, out, n) te_conv_add_epilogue_dsp(a, y, residual, out, n)

/* The whole layer where its core is the 1x1 shallow one and its depth allows the gathered
 * weights (returns 1), else 0. */
TE_INLINE int te_conv_add_shallow_1x1_layer(const te_conv2d_gemm_params* p, const te_conv2d_add_params* a,
                                            const int8_t* input, const int8_t* filter, const int32_t* bias,
                                            const int32_t* multiplier, const int8_t* shift, const int8_t* residual,
                                            int8_t* output, int8_t* y) {
  if (a->core == TE_CONV_ADD_1X1_SHALLOW && p->depth <= TE_GEMM_GROUP_MAX_DEPTH_DSP) {
    te_conv_add_shallow_1x1_dsp(p, a, input, filter, bias, multiplier, shift, residual, output, y);
    return 1;
  }
  return 0;
}

#endif /* TE_ARM_TE_CONV2D_ADD_DSP_H */
