/* int8 fully connected layer: a dot product per output neuron, read straight from the int8
 * input (no scratch: the layer's peak is its input and output, the live-tensor bound).
 *
 * TFLite computes sum_d (w + weights_offset) * (x + input_offset) + bias. Expanded, that is
 * dot(w, x) + weights_offset * sum(x) + [bias + input_offset * sum(w + weights_offset)]; the
 * bracket depends only on constants and arrives precomputed as folded_bias, and the middle
 * term is computed only when weights_offset is not 0 (TFLite's int8 weights are symmetric).
 *
 * Speed: two neurons per pass over the input. DSP builds widen four input values in
 * registers (SXTB16 and SXTB16-of-ROR-8: pairs (x0, x2), (x1, x3)) once for both neurons,
 * then each neuron widens its four weights the same way and adds two products a step with
 * SMLAD: 13 instructions per 8 MACs, fewer than widening the input once into an int16
 * scratch row and reloading it per neuron (7 per 4), and no scratch. The weights stay one
 * forward stream per neuron; portable builds run the same loop on int8 values, the pattern
 * compilers turn into multiply-add vectors.
 *
 * Exactness: the products are summed in int32 over chunks of at most TE_FC_CHUNK terms
 * (|x * w| <= 2^14, so a chunk stays below 2^30 and never overflows), and chunks, row term
 * and bias are added modulo 2^32 (uint32_t). That gives TFLite's int32 result bit for bit
 * whenever TFLite does not overflow, and is never undefined behaviour. */
#include "te_fully_connected.h"

#include "te_fixedpoint.h"

enum { TE_FC_CHUNK = 1 << 16 }; /* a multiple of 4: the DSP steps never straddle a chunk */

/* te_fc_dot2_by4(x, w0, w1, d, end, &a0, &a1) and te_fc_dot1_by4(x, w, d, end, &a): the
 * products from d on, four a step, as many steps as fit before end, added to the sums;
 * they return where they stopped, and the loops below take the rest one at a time. DSP
 * builds step with SMLAD (arm/te_fully_connected_dsp.h); portable builds take no step. */
#ifdef TE_DSP
#include "arm/te_fully_connected_dsp.h"
#else
TE_INLINE int te_fc_dot2_by4(const int8_t* x, const int8_t* w0, const int8_t* w1, int d, int end, int32_t* a0,
                             int32_t* a1) {
  (void)x, (void)w0, (void)w1, (void)end, (void)a0, (void)a1;
  return d;
}
TE_INLINE int te_fc_dot1_by4(const int8_t* x, const int8_t* w, int d, int end, int32_t* a) {
  (void)x, (void)w, (void)end, (void)a;
  return d;
}
#endif

/* dot(x, w0) and dot(x, w1) modulo 2^32, added to sums[0] and sums[1]. */
static void te_fc_dot2(const int8_t* x, const int8_t* w0, const int8_t* w1, int depth, uint32_t* sums) {
  for (int start = 0; start < depth; start += TE_FC_CHUNK) {
    const int end = depth - start > TE_FC_CHUNK ? start + TE_FC_CHUNK : depth;
    int32_t a0 = 0, a1 = 0;
    int d = te_fc_dot2_by4(x, w0, w1, start, end, &a0, &a1);
    for (; d < end; ++d) {
      a0 += (int32_t)x[d] * w0[d];
      a1 += (int32_t)x[d] * w1[d];
    }
    sums[0] += (uint32_t)a0;
    sums[1] += (uint32_t)a1;
  }
}

/* dot(x, w) modulo 2^32: the last neuron of an odd count. */
static uint32_t te_fc_dot1(const int8_t* x, const int8_t* w, int depth) {
  uint32_t acc = 0;
  for (int start = 0; start < depth; start += TE_FC_CHUNK) {
    const int end = depth - start > TE_FC_CHUNK ? start + TE_FC_CHUNK : depth;
    int32_t a = 0;
    int d = te_fc_dot1_by4(x, w, start, end, &a);
    for (; d < end; ++d) a += (int32_t)x[d] * w[d];
    acc += (uint32_t)a;
  }
  return acc;
}

TE_INLINE int8_t te_fc_output(const te_fully_connected_params* p, uint32_t acc, int32_t multiplier, int32_t shift) {
  const int32_t scaled = te_requantize_kernel((int32_t)acc, multiplier, shift) + p->output_offset;
  return (int8_t)te_clamp(scaled, p->act_min, p->act_max);
}

void te_fully_connected_s8(const te_fully_connected_params* p, const int8_t* input, const int8_t* filter,
                           const int32_t* folded_bias, const int32_t* multiplier, const int8_t* shift,
                           int8_t* output) {
  const int depth = p->depth;
  const int out_c = p->out_c;
  const int per_channel = p->per_channel;
  for (int b = 0; b < p->batches; ++b) {
    const int8_t* x = input + (long)b * depth;
    int8_t* out = output + (long)b * out_c;
    uint32_t row_term = 0;
    if (p->weights_offset != 0) {
      uint32_t row_sum = 0;
      for (int d = 0; d < depth; ++d) row_sum += (uint32_t)(int32_t)x[d];
      row_term = (uint32_t)p->weights_offset * row_sum;
    }
    int o = 0;
    for (; o + 2 <= out_c; o += 2) {
      const int8_t* w = filter + (long)o * depth;
      uint32_t sums[2] = {row_term + (uint32_t)folded_bias[o], row_term + (uint32_t)folded_bias[o + 1]};
      te_fc_dot2(x, w, w + depth, depth, sums);
      const int q = per_channel ? o : 0;
      out[o] = te_fc_output(p, sums[0], multiplier[q], shift[q]);
      out[o + 1] = te_fc_output(p, sums[1], multiplier[q + per_channel], shift[q + per_channel]);
    }
    if (o < out_c) {
      const uint32_t acc = te_fc_dot1(x, filter + (long)o * depth, depth) + row_term + (uint32_t)folded_bias[o];
      const int q = per_channel ? o : 0;
      out[o] = te_fc_output(p, acc, multiplier[q], shift[q]);
    }
  }
}
