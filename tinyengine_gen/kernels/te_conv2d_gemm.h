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
 * cores (arm/te_gemm_deep_dsp.h, arm/te_gemm_shallow_dsp.h and arm/te_gemm_1x1_dsp.h,
 * included at the one point below where the builds part, and defining the same entries),
 * with the same results, by code built around SMLAD (two int16 products summed into
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
#include "te_gemm_config.h" /* the variants this project compiles (written by the compiler) */

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
  int tail_width;   /* shallow layout: channels of the last block where it is not padded to 32 (else 0) */
} te_conv2d_gemm_params;

/* Channels the shallow layout's block at channel c0 stores: TE_GEMM_BLOCK, or fewer for a
 * last block the planner did not pad (tail_width: layers whose DSP code gathers their
 * weights, te_gemm_shallow_groups_dsp, which reads any width; the DSP shallow tile reads
 * padded blocks only). */
TE_INLINE int te_gemm_block_width(const te_conv2d_gemm_params* p, int c0) {
  return p->tail_width && p->out_c - c0 < TE_GEMM_BLOCK ? p->tail_width : TE_GEMM_BLOCK;
}

/* Bytes of the deep core's int16 tile of four rows: the scratch of the deep kernels. */
#define TE_GEMM_WIDE_BYTES(depth) ((long)TE_GEMM_PIXELS * (depth) * 2)

/* ---- output pixels ------------------------------------------------------------- */

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

/* Output pixel t (counted in NHWC order) into px: where a walk resumes after pixels it
 * did not step through one at a time. */
TE_INLINE void te_gemm_pixel_seek(const te_conv2d_gemm_params* p, long t, te_gemm_pixel* px) {
  px->b = (int)(t / ((long)p->out_h * p->out_w));
  px->oy = (int)(t / p->out_w % p->out_h);
  px->ox = (int)(t % p->out_w);
}

/* The input pixel (NHWC index) that output pixel px of a 1x1 layer without padding reads. */
TE_INLINE long te_gemm_1x1_source(const te_conv2d_gemm_params* p, const te_gemm_pixel* px) {
  return ((long)px->b * p->in_h + (long)px->oy * p->stride_h) * p->in_w + (long)px->ox * p->stride_w;
}

/* Row pointers of the next n output pixels of a 1x1 layer without padding, read in place
 * from the NHWC input (rows past n point at the input's first pixel); advances px by n. */
TE_INLINE void te_gemm_1x1_rows(const te_conv2d_gemm_params* p, const int8_t* input, int n, te_gemm_pixel* px,
                                const int8_t* rows[TE_GEMM_PIXELS]) {
  for (int i = 0; i < TE_GEMM_PIXELS; ++i) {
    rows[i] = input;
    if (i < n) {
      rows[i] = input + te_gemm_1x1_source(p, px) * p->in_c;
      te_gemm_next_pixel(p, px);
    }
  }
}

/* ---- the cores: where the builds part ---------------------------------------------- */

/* The kernels reach the cores through these entries, the same names in both builds:
 *   te_gemm_widen(p, rows, pixels, wide)         the deep core's tile of four rows
 *   te_gemm_deep_tile_widened(wide, pixels, ...) the deep core's outputs from that tile
 *   te_gemm_shallow_tile(rows, pixels, ...)      the shallow core's outputs
 *   te_gemm_shallow_1x1_layer(input, ...)        a whole 1x1 shallow layer, where the build
 *                                                has a kernel for one (returns 1), else 0
 *   te_gemm_copy_run(dst, src, n)                a contiguous run of an im2col row
 * DSP builds take them from arm/; every other build from the portable cores below. */
#ifdef TE_DSP
#include "arm/te_gemm_deep_dsp.h"    /* te_gemm_widen, te_gemm_deep_tile_widened, te_gemm_copy_run */
#include "arm/te_gemm_shallow_dsp.h" /* te_gemm_shallow_tile */
#include "arm/te_gemm_1x1_dsp.h"     /* te_gemm_shallow_1x1_layer */
#else

/* out[j] = clamp(requantize(acc[j] + bias[j]) + output_offset) for n contiguous channels.
 * The clamp is two independent selects rather than te_clamp's nested one, which GCC
 * compiles to a branch that a ReLU layer mispredicts on every other output. */
TE_INLINE void te_gemm_requant_row(const int32_t* acc, int n, const int32_t* bias, const int32_t* multiplier,
                                   const int8_t* shift, const te_conv2d_gemm_params* p, int8_t* out) {
  const int32_t offset = p->output_offset, lo = p->act_min, hi = p->act_max;
  for (int j = 0; j < n; ++j) {
    const int32_t x = (int32_t)((uint32_t)acc[j] + (uint32_t)bias[j]);
    int32_t v = te_requantize_kernel(x, multiplier[j], shift[j]) + offset;
    v = v > lo ? v : lo;
    v = v < hi ? v : hi;
    out[j] = (int8_t)v;
  }
}

/* ---- portable deep core ---- */

/* Rows of the tile widened to int16 for te_gemm_deep_tile_widened: wide[i * depth + k] =
 * rows[i][k], rows past `pixels` zero. */
TE_INLINE void te_gemm_widen(const te_conv2d_gemm_params* p, const int8_t* const rows[TE_GEMM_PIXELS], int pixels,
                             int16_t* wide) {
  const int depth = p->depth;
  for (int i = 0; i < TE_GEMM_PIXELS; ++i) {
    int16_t* dst = wide + (long)i * depth;
    if (i < pixels) {
      const int8_t* src = rows[i];
      for (int k = 0; k < depth; ++k) dst[k] = src[k];
    } else {
      for (int k = 0; k < depth; ++k) dst[k] = 0;
    }
  }
}

/* Outputs of `pixels` (<= 4) pixels from their widened rows; filter is [out_c][depth].
 * Pixel i's out_c outputs go to out + i * out_c. */
TE_INLINE void te_gemm_deep_tile(const int16_t* wide, int pixels, const int8_t* filter, const int32_t* bias,
                                 const int32_t* multiplier, const int8_t* shift, const te_conv2d_gemm_params* p,
                                 int8_t* out) {
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

/* The outputs from the tile te_gemm_widen wrote. */
TE_INLINE void te_gemm_deep_tile_widened(const int16_t* wide, int pixels, const int8_t* filter, const int32_t* bias,
                                         const int32_t* multiplier, const int8_t* shift,
                                         const te_conv2d_gemm_params* p, int8_t* out) {
  te_gemm_deep_tile(wide, pixels, filter, bias, multiplier, shift, p, out);
}

/* ---- portable shallow core ---- */

/* One block of TE_GEMM_BLOCK channels, of which the first n are real (the planner pads the
 * last block with zero weights): block is [depth / 2][2][TE_GEMM_BLOCK]. Blocks narrower
 * than 32 compile to slower code with GCC (it unrolls the short channel loop completely
 * and then vectorises it worse), so a 16-channel layer pays for 32 instead. */
TE_INLINE void te_gemm_shallow_block(const int8_t* const rows[TE_GEMM_PIXELS], int pixels, const int8_t* block, int n,
                                     const int32_t* bias, const int32_t* multiplier, const int8_t* shift,
                                     const te_conv2d_gemm_params* p, int8_t* out, const int width) {
  int32_t acc[TE_GEMM_PIXELS][TE_GEMM_BLOCK];
  const int depth = p->depth;
  for (int i = 0; i < TE_GEMM_PIXELS; ++i) {
    for (int j = 0; j < width; ++j) acc[i][j] = 0;
  }
  for (int k = 0; k < depth; k += 2) {
    for (int i = 0; i < TE_GEMM_PIXELS; ++i) {
      const int16_t x = rows[i][k], y = rows[i][k + 1];
      for (int j = 0; j < width; ++j) acc[i][j] += (int16_t)(x * block[j] + y * block[width + j]);
    }
    block += 2 * width;
  }
  for (int i = 0; i < pixels; ++i) {
    te_gemm_requant_row(acc[i], n, bias, multiplier, shift, p, out + (long)i * p->out_c);
  }
}

/* Outputs of `pixels` (<= 4) pixels; rows[i] holds pixel i's depth values (rows past
 * `pixels` must still point at readable rows). The filter is ceil(out_c / 32) blocks. */
TE_INLINE void te_gemm_shallow_tile(const int8_t* const rows[TE_GEMM_PIXELS], int pixels, const int8_t* filter,
                                    const int32_t* bias, const int32_t* multiplier, const int8_t* shift,
                                    const te_conv2d_gemm_params* p, int8_t* out) {
  const int out_c = p->out_c;
  for (int c0 = 0; c0 < out_c; c0 += TE_GEMM_BLOCK) {
    const int n = out_c - c0 < TE_GEMM_BLOCK ? out_c - c0 : TE_GEMM_BLOCK, width = te_gemm_block_width(p, c0);
    if (width == TE_GEMM_BLOCK) { /* the constant width: GCC's code for full blocks */
      te_gemm_shallow_block(rows, pixels, filter, n, bias + c0, multiplier + c0, shift + c0, p, out + c0, TE_GEMM_BLOCK);
    } else {
      te_gemm_shallow_block(rows, pixels, filter, n, bias + c0, multiplier + c0, shift + c0, p, out + c0, width);
    }
    filter += (long)TE_GEMM_BLOCK * p->depth;
  }
}

/* No whole-layer kernel in portable builds: the 1x1 shallow kernel runs its tiles. A
 * constant rather than a function returning one: GCC then lays the kernel out exactly as
 * it did before the builds were split (an inlined call that returns 0 moved its stack
 * slots). */
#define te_gemm_shallow_1x1_layer(input, filter, bias, multiplier, shift, p, output) 0

/* dst[i] = src[i] for n values: one receptive field row inside the image. */
TE_INLINE void te_gemm_copy_run(int8_t* restrict dst, const int8_t* restrict src, int n) {
  for (int i = 0; i < n; ++i) dst[i] = src[i];
}

#endif /* TE_DSP */

/* ---- im2col --------------------------------------------------------------------- */

/* The receptive field of output pixel (b, oy, ox) as one row of p->depth int8 values in
 * (ky, kx, c) order, the filter's own order, for the shallow core and (widened by
 * te_gemm_widen) the deep KxK one: taps outside the image hold the pad value, and the row
 * ends with a 0 when depth is the odd tap count rounded up. Without horizontal dilation, a
 * filter row that lies inside the image is one contiguous run of k_w * in_c values (NHWC,
 * copied by te_gemm_copy_run) or in_c runs of k_w (NCHW). */
TE_INLINE void te_gemm_im2col_row(const te_conv2d_gemm_params* p, const int8_t* restrict input, int b, int oy, int ox,
                                  int8_t* restrict row) {
  const int in_c = p->in_c, in_h = p->in_h, in_w = p->in_w, span = p->k_w * in_c;
  const int8_t pad = (int8_t)p->pad_value;
  const int y0 = oy * p->stride_h - p->pad_top, x0 = ox * p->stride_w - p->pad_left;
  const int row_inside = p->dil_w == 1 && x0 >= 0 && x0 + p->k_w <= in_w;
  const long plane = (long)in_h * in_w;
  const int8_t* batch = input + (long)b * plane * in_c;
  int8_t* dst = row;
  for (int ky = 0; ky < p->k_h; ++ky, dst += span) {
    const int iy = y0 + ky * p->dil_h;
    if (iy < 0 || iy >= in_h) {
      for (int i = 0; i < span; ++i) dst[i] = pad;
    } else if (row_inside && !p->nchw) {
      te_gemm_copy_run(dst, batch + ((long)iy * in_w + x0) * in_c, span);
    } else if (row_inside) { /* NCHW: k_w contiguous values per channel */
      const int8_t* src = batch + (long)iy * in_w + x0;
      for (int c = 0; c < in_c; ++c, src += plane) {
        for (int kx = 0; kx < p->k_w; ++kx) dst[kx * in_c + c] = src[kx];
      }
    } else {
      for (int kx = 0; kx < p->k_w; ++kx) {
        const int ix = x0 + kx * p->dil_w;
        int8_t* tap = dst + kx * in_c;
        if (ix < 0 || ix >= in_w) {
          for (int c = 0; c < in_c; ++c) tap[c] = pad;
        } else if (p->nchw) {
          const int8_t* src = batch + (long)iy * in_w + ix;
          for (int c = 0; c < in_c; ++c) tap[c] = src[c * plane];
        } else {
          const int8_t* src = batch + ((long)iy * in_w + ix) * in_c;
          for (int c = 0; c < in_c; ++c) tap[c] = src[c];
        }
      }
    }
  }
  for (long k = dst - row; k < p->depth; ++k) row[k] = 0;
}

/* The int8 receptive fields of the n (<= TE_GEMM_PIXELS) pixels from px on, one after the
 * other in cols ([TE_GEMM_PIXELS][depth]), rows[i] pointing at each (rows past n repeat
 * row 0: te_gemm_widen computes from them, never stores them); advances px. The deep
 * KxK core widens these with te_gemm_widen (four consecutive rows in one pass on DSP
 * builds) and multiplies them on the 4x1 tile kernel. */
TE_INLINE void te_gemm_im2col_rows(const te_conv2d_gemm_params* p, const int8_t* input, int n, te_gemm_pixel* px,
                                   int8_t* cols, const int8_t* rows[TE_GEMM_PIXELS]) {
  for (int i = 0; i < TE_GEMM_PIXELS; ++i) {
    rows[i] = cols;
    if (i < n) {
      rows[i] = cols + (long)i * p->depth;
      te_gemm_im2col_row(p, input, px->b, px->oy, px->ox, cols + (long)i * p->depth);
      te_gemm_next_pixel(p, px);
    }
  }
}

#endif /* TE_CONV2D_GEMM_H */
