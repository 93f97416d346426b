/* SUB, int8 (TFLite Micro reference Sub semantics), with broadcasting: ADD's parameters. */
#ifndef TE_SUB_H
#define TE_SUB_H

#include <stdint.h>

#include "te_add.h"

void te_sub_s8(const te_add_params* p, const int8_t* input1, const int8_t* input2, int8_t* output);

#endif
