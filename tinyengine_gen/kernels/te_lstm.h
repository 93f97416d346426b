/* UNIDIRECTIONAL_SEQUENCE_LSTM, int8 activations and weights, int16 gates and cell state
 * (TFLite Micro's integer LSTM, lstm_eval.h semantics). The hidden and cell states persist
 * between invokes. Gates are in TFLite's tensor order: input, forget, cell, output. */
#ifndef TE_LSTM_H
#define TE_LSTM_H

#include <stdint.h>

typedef struct {
  int32_t batch, time_steps, n_input, n_cell;
  int32_t time_major; /* input and output [time][batch][...] instead of [batch][time][...] */
  int32_t input_zero_point, hidden_zero_point;
  int32_t input_multiplier[4], input_shift[4];         /* input * weight scale / 2^-12 */
  int32_t recurrent_multiplier[4], recurrent_shift[4]; /* hidden * weight scale / 2^-12 */
  int32_t forget_multiplier, forget_shift;             /* forget gate x cell -> cell */
  int32_t update_multiplier, update_shift;             /* input gate x cell gate -> cell */
  int32_t hidden_multiplier, hidden_shift;             /* tanh(cell) x output gate -> hidden */
  int32_t clip_cell, cell_clip;                        /* clip the cell state to +-cell_clip */
  int32_t tanh_multiplier, tanh_shift;                 /* cell state -> tanh table input */
} te_lstm_params;

/* hidden: [batch][n_cell] int8 and cell: [batch][n_cell] int16, updated in place;
 * scratch: 4 * n_cell int16; sigmoid_table: sigmoid(i / 24) in unsigned 0.16, i = 0..255. */
void te_lstm_s8_s16(const te_lstm_params* p, const int8_t* input, const int8_t* const input_weights[4],
                    const int8_t* const recurrent_weights[4], const int32_t* const biases[4], int8_t* hidden,
                    int16_t* cell, int16_t* scratch, const uint16_t* sigmoid_table, int8_t* output);

#endif
