/* attn_decode: causal self-attention of one query row over cached keys and
 * values, the inner kernel of KV-cached decoding (engine/sample/kv_cache).
 * Keys and values are rows of C = NH * hs floats (all heads of a position
 * side by side), given as a few contiguous spans of positions (the cache's
 * global slots and its ring, split where it wraps); each row is read once,
 * whole, for every head: one streaming pass over the keys, one over the
 * values. The result for a row depends only on that row and its spans
 * (never on other rows of a batch). Rows are float32 (attn_decode_row) or
 * bf16 (attn_decode_row_bf16). */
#ifndef AURL_ATTN_DECODE_H
#define AURL_ATTN_DECODE_H

#include <stdint.h>

/* Spans a call may take. */
#define ATTN_DECODE_MAX_SPANS 4

/* Positions start..start+n-1 of the cache: key and value rows, stride C. */
typedef struct {
    const float *k, *v;
    int n;
} attn_span;

/* out (C floats) = for each head h: softmax(q_h . k_h / sqrt(hs)) over all
 * positions of the NSPANS (<= ATTN_DECODE_MAX_SPANS, total >= 1) spans, weighted sum of v_h. sc is scratch of
 * min(NH, 64) * per floats, per >= the total number of positions. With AVX-512 and
 * hs a multiple of 16 the passes are explicit vector code holding the output
 * in registers; otherwise portable loops (16 lanes reduced by a fixed tree,
 * as the training attention's dot products). */
void attn_decode_row(float *out, const float *q, const attn_span *spans, int nspans, int NH, int hs, float *sc,
                     int per);

/* The portable version, whatever the CPU (reference for the tests). */
void attn_decode_row_portable(float *out, const float *q, const attn_span *spans, int nspans, int NH, int hs,
                              float *sc, int per);

/* Positions of a bf16 cache (engine/nn/bf16): key and value rows of C bf16. */
typedef struct {
    const uint16_t *k, *v;
    int n;
} attn_span16;

/* attn_decode_row over bf16 keys and values (widened exactly; the query,
 * scores and sums stay float32). The vector passes (AVX-512, unless
 * bf16_force_portable) and the portable ones give the same bits when
 * hs % 16 == 0. */
void attn_decode_row_bf16(float *out, const float *q, const attn_span16 *spans, int nspans, int NH, int hs,
                          float *sc, int per);
void attn_decode_row_bf16_portable(float *out, const float *q, const attn_span16 *spans, int nspans, int NH,
                                   int hs, float *sc, int per);
#endif
