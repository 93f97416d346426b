/* SVDF, int8 input and output, int16 time weights and state (TFLite Micro
 * EvalIntegerSvdfReference semantics). The state persists between invokes. */
#ifndef TE_SVDF_H
#define TE_SVDF_H

#include <stdint.h>

typedef struct {
  int32_t batch, n_input, n_filter, n_memory, rank;
  int32_t input_zero_point, state_zero_point, output_zero_point;
  int32_t feature_multiplier, feature_shift; /* input * feature scale / state scale */
  int32_t output_multiplier, output_shift;   /* state * time scale / output scale */
} te_svdf_params;

/* state: [batch][n_filter][n_memory] int16, updated in place; scratch: batch * (n_filter +
 * n_filter / rank) int32. */
void te_svdf_s8_s16(const te_svdf_params* p, const int8_t* input, const int8_t* weights_feature,
                    const int16_t* weights_time, const int32_t* bias, int16_t* state, int32_t* scratch,
                    int8_t* output);

#endif
