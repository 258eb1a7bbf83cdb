/* model_config: the hyper-parameters of a transformer model preset. */
#ifndef AURL_MODEL_CONFIG_H
#define AURL_MODEL_CONFIG_H

#include "engine/nn/attention.h"

/* Positions: an absolute table added to the embeddings (fixed sinusoidal or
 * learned `wpe`), or rotary (RoPE: each head's query and key pairs rotated
 * by pos * theta_i inside attention, no table; engine/nn/rope). */
typedef enum { POS_SINUSOIDAL = 0, POS_LEARNED = 1, POS_ROTARY = 2 } model_pos;

typedef struct {
    int vocab_size;  /* 774 */
    int d_model;
    int n_layers;
    int n_heads;
    int d_ff;
    int max_seq_len;
    attn_config attn;
    float dropout;
    model_pos positions; /* how the model knows a token's position (model_pos) */
    int tokenizer;   /* token vocabulary version the model reads and writes: 1 or 2 (data/tokenizer.h);
                      * 0 (a zeroed config) means 1 */
} model_config;

/* 1 if the model adds a position table to its embeddings (learned or sinusoidal). */
static inline int model_pos_table(const model_config *c) { return c->positions != POS_ROTARY; }

/* The token vocabulary of a model config: 2 for v2, else 1. */
static inline int model_vocab(const model_config *c) { return c->tokenizer == 2 ? 2 : 1; }

#endif
