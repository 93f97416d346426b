/* int8 LSTM with int16 gates and cell state. Per time step and batch row: each gate sums
 * two int8 fully connected layers requantised to int16 Q3.12 (the input one with the gate
 * bias), saturating; sigmoid or tanh by table interpolation gives Q0.15; the cell state
 * becomes forget * cell + input * cell gate (each product requantised, the sum saturated
 * and optionally clipped); the new hidden state, tanh(cell) * output gate requantised to
 * int8, is the step's output. Gates read the previous hidden state, so all four are
 * computed before it changes. Sums wrap like TFLite's int32 ones (through uint32). */
#include "te_lstm.h"

#include <string.h>

#include "te_fixedpoint.h"

enum { TE_LSTM_INPUT, TE_LSTM_FORGET, TE_LSTM_CELL, TE_LSTM_OUTPUT };

TE_INLINE int32_t te_lstm_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

/* int8 row x int8 weight row, less the row's zero point, int32 wrapping sum. */
TE_INLINE int32_t te_lstm_dot(const int8_t* row, const int8_t* weights, int32_t n, int32_t zero_point) {
  int32_t acc = 0;
  for (int32_t k = 0; k < n; ++k) acc = te_lstm_add(acc, (int32_t)weights[k] * ((int32_t)row[k] - zero_point));
  return acc;
}

/* Q3.12 -> Q0.15 sigmoid (TFLite's int16 Logistic with multiplier 0, shift 0). */
TE_INLINE int16_t te_lstm_sigmoid(int32_t x, const uint16_t* table) {
  const int32_t value = x * 3;
  const uint32_t magnitude = (uint32_t)(value < 0 ? -value : value);
  const uint32_t high = magnitude >> 9;
  uint32_t result;
  if (high >= 255) {
    result = 0x7FFFu << 10;
  } else {
    const uint32_t low = table[high], up = table[high + 1];
    result = (low << 9) + (magnitude & 0x1FFu) * (up - low);
  }
  result = value >= 0 ? result + (1u << 9) : (1u << 25) - result + (1u << 9) - 1u;
  return (int16_t)(result >> 10);
}

/* Q0.15 tanh of x * multiplier >> shift (TFLite's int16 Tanh, its power-of-two case). */
TE_INLINE int16_t te_lstm_tanh(int32_t x, int32_t multiplier, int32_t shift, const uint16_t* table) {
  const int32_t rounding = shift > 0 ? (1 << (shift - 1)) : 0;
  const int32_t value = (x * multiplier + rounding) >> shift;
  const uint32_t magnitude = (uint32_t)(value < 0 ? -value : value);
  const uint32_t high = magnitude >> 8;
  int32_t result;
  if (high >= 255) {
    result = 0xFFFF << 8;
  } else {
    const uint32_t low = table[high], up = table[high + 1];
    result = (int32_t)((low << 8) + (magnitude & 0xFFu) * (up - low));
  }
  result = value >= 0 ? result - (1 << 23) + (1 << 7) : -result + (1 << 23) + (1 << 7) - 1;
  return (int16_t)(result >> 8);
}

TE_INLINE int32_t te_lstm_product(int32_t a, int32_t b, int32_t multiplier, int32_t shift) {
  return te_requantize(a * b, multiplier, shift);
}

static void te_lstm_gates(const te_lstm_params* p, const int8_t* x, const int8_t* h, const int8_t* const input_weights[4],
                          const int8_t* const recurrent_weights[4], const int32_t* const biases[4],
                          const uint16_t* table, int16_t* gates) {
  for (int32_t g = 0; g < 4; ++g) {
    int16_t* out = gates + g * p->n_cell;
    for (int32_t c = 0; c < p->n_cell; ++c) {
      const int32_t acc = te_lstm_add(te_lstm_dot(x, input_weights[g] + c * p->n_input, p->n_input, p->input_zero_point),
                                      biases[g][c]);
      const int32_t a = te_clamp(te_requantize(acc, p->input_multiplier[g], p->input_shift[g]), -32768, 32767);
      const int32_t rec = te_lstm_dot(h, recurrent_weights[g] + c * p->n_cell, p->n_cell, p->hidden_zero_point);
      const int32_t b = te_clamp(te_requantize(rec, p->recurrent_multiplier[g], p->recurrent_shift[g]), -32768, 32767);
      const int32_t sum = te_clamp(a + b, -32768, 32767);
      out[c] = g == TE_LSTM_CELL ? te_lstm_tanh(sum, 3, 0, table) : te_lstm_sigmoid(sum, table);
    }
  }
}

static void te_lstm_update(const te_lstm_params* p, const int16_t* gates, const uint16_t* table, int8_t* h,
                           int16_t* cell) {
  const int16_t* input_gate = gates + TE_LSTM_INPUT * p->n_cell;
  const int16_t* forget_gate = gates + TE_LSTM_FORGET * p->n_cell;
  const int16_t* cell_gate = gates + TE_LSTM_CELL * p->n_cell;
  const int16_t* output_gate = gates + TE_LSTM_OUTPUT * p->n_cell;
  for (int32_t c = 0; c < p->n_cell; ++c) {
    const int32_t kept = te_clamp(te_lstm_product(forget_gate[c], cell[c], p->forget_multiplier, p->forget_shift),
                                  -32768, 32767);
    const int32_t update = te_clamp(te_lstm_product(input_gate[c], cell_gate[c], p->update_multiplier,
                                                    p->update_shift), -32768, 32767);
    int32_t value = te_clamp(kept + update, -32768, 32767);
    if (p->clip_cell) value = te_clamp(value, -p->cell_clip, p->cell_clip);
    cell[c] = (int16_t)value;
    const int32_t squashed = te_lstm_tanh(value, p->tanh_multiplier, p->tanh_shift, table);
    const int32_t y = p->hidden_zero_point +
                      te_lstm_product(squashed, output_gate[c], p->hidden_multiplier, p->hidden_shift);
    h[c] = (int8_t)te_clamp(y, -128, 127);
  }
}

void te_lstm_s8_s16(const te_lstm_params* p, const int8_t* input, const int8_t* const input_weights[4],
                    const int8_t* const recurrent_weights[4], const int32_t* const biases[4], int8_t* hidden,
                    int16_t* cell, int16_t* scratch, const uint16_t* sigmoid_table, int8_t* output) {
  for (int32_t b = 0; b < p->batch; ++b) {
    int8_t* h = hidden + b * p->n_cell;
    int16_t* c = cell + b * p->n_cell;
    for (int32_t t = 0; t < p->time_steps; ++t) {
      const int32_t row = p->time_major ? t * p->batch + b : b * p->time_steps + t;
      te_lstm_gates(p, input + row * p->n_input, h, input_weights, recurrent_weights, biases, sigmoid_table, scratch);
      te_lstm_update(p, scratch, sigmoid_table, h, c);
      memcpy(output + row * p->n_cell, h, (size_t)p->n_cell);
    }
  }
}
