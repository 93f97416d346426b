/* Generic int8 pooling. Windows are clipped to the image, so padding adds no taps and the
 * average divides by the number of in-image taps, rounding half away from zero as TFLite's
 * reference kernel does.
 *
 * Channels are contiguous (NHWC), so both kernels take one output pixel's channels in
 * blocks of TE_POOLING_BLOCK into a local row (int32 sums or int8 maxima) and walk the
 * window's pixels over it: the full blocks have a compile-time trip count that the compiler
 * vectorises, the last block reuses the same code with the remaining count. A global pool
 * (one window over the whole image) is the common case and reads the input once. */
#include "te_pooling.h"

#include "te_fixedpoint.h"

enum { TE_POOLING_BLOCK = 64 };

typedef struct {
  int y0, y1, x0, x1; /* the in-image part [y0, y1) x [x0, x1) of a window */
} te_pooling_window;

static te_pooling_window te_pooling_window_at(const te_pooling_params* p, int oy, int ox) {
  const int iy = oy * p->stride_h - p->pad_top;
  const int ix = ox * p->stride_w - p->pad_left;
  te_pooling_window w;
  w.y0 = iy < 0 ? 0 : iy;
  w.y1 = iy + p->filter_h < p->in_h ? iy + p->filter_h : p->in_h;
  w.x0 = ix < 0 ? 0 : ix;
  w.x1 = ix + p->filter_w < p->in_w ? ix + p->filter_w : p->in_w;
  return w;
}

/* Average of ``n`` channels starting at ``in`` (the image's first pixel, offset to the block). */
static void te_pooling_avg_block(const te_pooling_params* p, const int8_t* in, te_pooling_window w, int8_t* out,
                                 int n) {
  const int c_n = p->channels, in_w = p->in_w;
  int32_t acc[TE_POOLING_BLOCK];
  for (int c = 0; c < n; ++c) acc[c] = 0;
  for (int y = w.y0; y < w.y1; ++y) {
    for (int x = w.x0; x < w.x1; ++x) {
      const int8_t* px = in + ((long)y * in_w + x) * c_n;
      for (int c = 0; c < n; ++c) acc[c] += px[c];
    }
  }
  const int32_t count = (int32_t)(w.y1 - w.y0) * (w.x1 - w.x0);
  const int32_t half = count / 2, lo = p->act_min, hi = p->act_max;
  for (int c = 0; c < n; ++c) {
    const int32_t a = acc[c];
    const int32_t avg = a > 0 ? (a + half) / count : (a - half) / count;
    out[c] = (int8_t)te_clamp(avg, lo, hi);
  }
}

/* Maximum of ``n`` channels starting at ``in`` over the window. */
static void te_pooling_max_block(const te_pooling_params* p, const int8_t* in, te_pooling_window w, int8_t* out,
                                 int n) {
  const int c_n = p->channels, in_w = p->in_w;
  int8_t best[TE_POOLING_BLOCK];
  for (int c = 0; c < n; ++c) best[c] = INT8_MIN;
  for (int y = w.y0; y < w.y1; ++y) {
    for (int x = w.x0; x < w.x1; ++x) {
      const int8_t* px = in + ((long)y * in_w + x) * c_n;
      for (int c = 0; c < n; ++c) best[c] = px[c] > best[c] ? px[c] : best[c];
    }
  }
  const int32_t lo = p->act_min, hi = p->act_max;
  for (int c = 0; c < n; ++c) out[c] = (int8_t)te_clamp(best[c], lo, hi);
}

/* The loops over batches, output pixels and blocks of channels, the same for both kinds:
 * defines NAME(p, input, output), which runs BLOCK on each block of TE_POOLING_BLOCK
 * channels (and on the last, shorter one). A macro rather than a function taking BLOCK as
 * a pointer, so that each kernel's block function is called directly and inlined. */
#define TE_POOLING_KERNEL(NAME, BLOCK)                                                          \
  void NAME(const te_pooling_params* p, const int8_t* input, int8_t* output) {                  \
    const int c_n = p->channels;                                                                \
    for (int b = 0; b < p->batches; ++b) {                                                      \
      const int8_t* in_batch = input + (long)b * p->in_h * p->in_w * c_n;                       \
      for (int oy = 0; oy < p->out_h; ++oy) {                                                   \
        for (int ox = 0; ox < p->out_w; ++ox) {                                                 \
          const te_pooling_window w = te_pooling_window_at(p, oy, ox);                          \
          int8_t* out = output + (((long)b * p->out_h + oy) * p->out_w + ox) * c_n;             \
          int c = 0;                                                                            \
          for (; c + TE_POOLING_BLOCK <= c_n; c += TE_POOLING_BLOCK) {                          \
            BLOCK(p, in_batch + c, w, out + c, TE_POOLING_BLOCK);                               \
          }                                                                                     \
          if (c < c_n) BLOCK(p, in_batch + c, w, out + c, c_n - c);                             \
        }                                                                                       \
      }                                                                                         \
    }                                                                                           \
  }

TE_POOLING_KERNEL(te_pooling_avg_s8, te_pooling_avg_block)

TE_POOLING_KERNEL(te_pooling_max_s8, te_pooling_max_block)
