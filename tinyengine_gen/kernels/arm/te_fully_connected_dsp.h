/* te_fully_connected_dsp.h: the Armv7E-M steps of te_fully_connected.c's dot products.
 *
 * te_fully_connected.c includes this file at one point of its own text and only where
 * TE_DSP is set (te_fixedpoint.h), in place of its portable te_fc_dot2_by4 and
 * te_fc_dot1_by4 (same names; the portable ones take no step). Not a header to include on
 * its own. */
#ifndef TE_ARM_TE_FULLY_CONNECTED_DSP_H
#define TE_ARM_TE_FULLY_CONNECTED_DSP_H

/* Four input values widened in registers (SXTB16 and SXTB16-of-ROR-8: pairs (x0, x2),
 * (x1, x3)) once for both neurons, then each neuron's four weights the same way, two
 * products a step with SMLAD. */
TE_INLINE int te_fc_dot2_by4(const int8_t* x, const int8_t* w0, const int8_t* w1, int d, int end, int32_t* a0,
                             int32_t* a1) {
  for (; d + 4 <= end; d += 4) {
    const uint32_t v = te_load_u32(x + d);
    const uint32_t xe = te_sxtb16_even(v), xo = te_sxtb16_odd(v);
    const uint32_t u0 = te_load_u32(w0 + d);
    *a0 = te_smlad(xe, te_sxtb16_even(u0), *a0);
    *a0 = te_smlad(xo, te_sxtb16_odd(u0), *a0);
    const uint32_t u1 = te_load_u32(w1 + d);
    *a1 = te_smlad(xe, te_sxtb16_even(u1), *a1);
    *a1 = te_smlad(xo, te_sxtb16_odd(u1), *a1);
  }
  return d;
}

TE_INLINE int te_fc_dot1_by4(const int8_t* x, const int8_t* w, int d, int end, int32_t* a) {
  for (; d + 4 <= end; d += 4) {
    const uint32_t v = te_load_u32(x + d), u = te_load_u32(w + d);
    *a = te_smlad(te_sxtb16_even(v), te_sxtb16_even(u), *a);
    *a = te_smlad(te_sxtb16_odd(v), te_sxtb16_odd(u), *a);
  }
  return d;
}

#endif /* TE_ARM_TE_FULLY_CONNECTED_DSP_H */
