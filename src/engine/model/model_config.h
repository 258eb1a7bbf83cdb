/* model_config: the hyper-parameters of a transformer model preset. */
#ifndef AURL_MODEL_CONFIG_H
#define AURL_MODEL_CONFIG_H

#include "engine/nn/attention.h"

typedef struct {
    int vocab_size;  /* 774 */
    int d_model;
    int n_layers;
    int n_heads;
    int d_ff;
    int max_seq_len;
    attn_config attn;
    float dropout;
    int learned_pos; /* 1 learned position table, 0 fixed sinusoidal */
    int tokenizer;   /* token vocabulary version the model reads and writes: 1 or 2 (data/tokenizer.h);
                      * 0 (a zeroed config) means 1 */
} model_config;

/* The token vocabulary of a model config: 2 for v2, else 1. */
static inline int model_vocab(const model_config *c) { return c->tokenizer == 2 ? 2 : 1; }

#endif
