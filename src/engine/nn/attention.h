/* attention: multi-head self-attention (causal, or bidirectional for encoders) on packed qkv (B, T, 3C),
 * q | k | v along the last dimension, heads of size C/NH; out (B, T, C) is
 * the concatenated head outputs (before the output projection).
 * Variants:
 *   ATTN_FULL          position t sees 0..t
 *   ATTN_SLIDING       t sees max(0,t-W+1)..t   (time and memory O(T*W))
 *   ATTN_HIERARCHICAL  t sees its sliding window plus every "global"
 *                      position g < t-W+1 with g % stride == stride-1
 *   ATTN_BIDIRECTIONAL t sees every position 0..T-1 (non-causal: only for
 *                      encoders such as the VAE's; model configs reject it)
 * No causal variant ever lets position t see a position > t. */
#ifndef AURL_ATTENTION_H
#define AURL_ATTENTION_H

#include <stddef.h>

typedef enum { ATTN_FULL = 0, ATTN_SLIDING = 1, ATTN_HIERARCHICAL = 2, ATTN_BIDIRECTIONAL = 3 } attn_kind;

typedef struct {
    attn_kind kind;
    int window; /* W for sliding/hierarchical */
    int stride; /* global stride for hierarchical */
} attn_config;

/* Floats of scratch the forward pass saves for backward (attention
 * probabilities, in whatever layout the variant uses). */
size_t attn_saved_size(const attn_config *cfg, int B, int T, int NH);
/* Floats of temporary workspace forward/backward need (reusable, not saved). */
size_t attn_work_size(const attn_config *cfg, int B, int T, int C, int NH);

/* out = softmax(mask(Q K^T / sqrt(hs))) V per (batch, head). saved (of
 * attn_saved_size floats) receives what attn_backward needs; work holds
 * attn_work_size floats of scratch. */
void attn_forward(float *out, float *saved, float *work, const float *qkv,
                  const attn_config *cfg, int B, int T, int C, int NH);
/* Gradient of the forward with the same qkv and saved: accumulates (+=)
 * into dqkv; work as for attn_forward. */
void attn_backward(float *dqkv, float *work, const float *dout, const float *qkv,
                   const float *saved, const attn_config *cfg, int B, int T, int C, int NH);
/* Parse "full" | "sliding_window" | "hierarchical" (the decoder kinds a
 * model config may name; not "bidirectional"); returns 0 or -1. */
int attn_kind_parse(const char *name, attn_kind *kind);
const char *attn_kind_name(attn_kind kind);
#endif
