/* Quantise, requantise and dequantise element by element. The float paths reproduce TFLite
 * Micro's float32 arithmetic exactly: one float division (not a multiply by the reciprocal,
 * which rounds differently) and round-half-away-from-zero, without <math.h>. */
#include "te_quantize.h"

#include <string.h>

#include "te_fixedpoint.h"

/* std::round, then the zero point and the int8 clamp, for a quotient of magnitude below 256:
 * t = trunc(v * 2^16) is exact (a power-of-two scale, |t| < 2^24), and since 2^15 is an
 * integer, |v| rounds half away from zero to floor((|t| + 2^15) / 2^16); for t < 0 that
 * negated equals floor((t + 2^15 - 1) / 2^16), an arithmetic shift. */
static int8_t te_quantize_small(float v, int32_t zero_point) {
  const int32_t t = (int32_t)(v * 65536.0f);
  const int32_t rounded = (t + (t >> 31) + 32768) >> 16;
  return te_sat8(rounded + zero_point);
}

void te_quantize_f32_s8(const te_quantize_params* p, const float* input, int8_t* output) {
  /* Quotients of magnitude below 256 (an integer compare of the float's bits) are rounded,
   * offset and clamped to int8, which saturates exactly those outside (-128 - zero_point,
   * 127 - zero_point); larger ones, infinities and NaN (whose bits compare larger too) take
   * the float compare, keeping the float -> int conversion defined (NaN gives -128). The
   * parameters are read once: an int8 store may alias them, and would make the compiler
   * reload them. */
  const int32_t size = p->size, zero_point = p->zero_point;
  const float scale = p->scale;
  const float high = (float)(127 - zero_point);
  for (int i = 0; i < size; ++i) {
    const float quotient = input[i] / scale;
    uint32_t bits;
    memcpy(&bits, &quotient, sizeof bits);
    if ((bits & 0x7FFFFFFFu) < 0x43800000u) { /* |quotient| < 256.0f */
      output[i] = te_quantize_small(quotient, zero_point);
    } else {
      output[i] = quotient >= high ? 127 : -128;
    }
  }
}

void te_quantize_s8_s8(const te_requantize_params* p, const int8_t* input, int8_t* output) {
  for (int i = 0; i < p->size; ++i) {
    const int32_t centred = (int32_t)input[i] - p->input_zero_point;
    const int32_t q = te_requantize(centred, p->multiplier, p->shift) + p->output_zero_point;
    output[i] = (int8_t)te_clamp(q, -128, 127);
  }
}

void te_dequantize_s8_f32(const te_dequantize_params* p, const int8_t* input, float* output) {
  /* TFLM multiplies in double; that product is exact (24-bit scale times a 9-bit integer),
   * so rounding it to float equals this single-rounded float product. */
  for (int i = 0; i < p->size; ++i) output[i] = (float)((int32_t)input[i] - p->zero_point) * p->scale;
}
