/* kv_cache: incremental decoding over a trained transformer. Each of n_seq
 * independent sequences keeps, per layer, the keys and values of the
 * positions it has seen, so a new token costs one pass of its own row
 * through the weights plus attention over the cached keys (O(context)), not
 * a full forward pass. The maths is transformer_forward's (pre-LN blocks,
 * tied head) restricted to new rows; the model is only read.
 * Attention variants, as attention.c defines them:
 *   full          keys 0..t, a buffer of max_seq_len positions;
 *   sliding       keys max(0,t-W+1)..t, a ring of W + KV_CACHE_CHUNK - 1
 *                 slots (the extra slots let a prefill chunk write its keys
 *                 before its first rows read the older ones);
 *   hierarchical  the sliding ring plus every global position g < t-W+1
 *                 with g % stride == stride-1, kept in their own array.
 * Positions are model positions 0..max_seq_len-1: the caller slides the
 * context (kv_cache_reset + kv_cache_prefill of the kept tail) before a
 * sequence passes max_seq_len. Optional `cond` rows (kv_cache_set_cond)
 * are added to the input embedding at model position i (the VAE latent).
 * A cache is float32 or bf16 (kv_precision; the same interface either
 * way, and either way a sequence's logits do not depend on the others in
 * its batch). */
#ifndef AURL_KV_CACHE_H
#define AURL_KV_CACHE_H

#include <stdint.h>

#include "engine/model/transformer.h"
#include "util/errmsg.h"

/* Issue 12's sampling targets on the reference model (bench/reference.yaml),
 * which gen_bench and `aurl bench` print as met / not met: KV-cached
 * tokens/s at batch 1, and in all at batch KV_BENCH_BATCH. */
#define KV_TARGET_B1_TPS 5000.0
#define KV_TARGET_B16_TPS 20000.0
#define KV_BENCH_BATCH 16

/* Rows processed per batched prefill pass. */
#define KV_CACHE_CHUNK 64

typedef struct kv_cache kv_cache;

/* The number format of a cache's keys and values and of its decode-step
 * weights (engine/nn/bf16). FP32: float32 throughout. BF16: keys, values
 * and the packed weights rounded to bf16 (half the bytes a step streams);
 * activations, queries, scores and every sum stay float32, and prefill
 * chunks keep the float32 weights. AUTO: kv_precision_resolve. */
typedef enum { KV_PREC_AUTO = 0, KV_PREC_FP32 = 1, KV_PREC_BF16 = 2 } kv_precision;
/* "auto" | "fp32" | "bf16"; returns 0 or -1. */
int kv_precision_parse(const char *name, kv_precision *out);
const char *kv_precision_name(kv_precision p);
/* FP32 and BF16 as they are; AUTO -> BF16 where the CPU runs the
 * AVX512_BF16 kernels (bf16_native), FP32 elsewhere. */
kv_precision kv_precision_resolve(kv_precision p);

/* A cache for n_seq sequences over model M (which must outlive it and not
 * change while it is used). Returns 0, or -1 with err set. */
int kv_cache_create(kv_cache **out, const transformer *m, int n_seq, char err[AURL_ERR_LEN]);
/* The same in precision PREC (kv_cache_create is FP32). */
int kv_cache_create_prec(kv_cache **out, const transformer *m, int n_seq, kv_precision prec,
                         char err[AURL_ERR_LEN]);
/* The cache's precision, resolved (FP32 or BF16). */
kv_precision kv_cache_precision(const kv_cache *c);
void kv_cache_free(kv_cache *c);

/* Rows of cond (rows x d_model floats, borrowed; NULL for none) added to
 * the embedding of model position i < rows, for every sequence. */
void kv_cache_set_cond(kv_cache *c, const float *cond, int rows);

/* Forget sequence SEQ's context (its next token gets position 0). */
void kv_cache_reset(kv_cache *c, int seq);
/* Positions sequence SEQ holds (= the position its next token gets). */
int kv_cache_len(const kv_cache *c, int seq);
int kv_cache_n_seq(const kv_cache *c);

/* Append N tokens to sequence SEQ (batched in chunks of KV_CACHE_CHUNK);
 * logits (V floats, may be NULL) receives the prediction after the last
 * one. len + n must not exceed max_seq_len. Returns 0, or -1 if it would. */
int kv_cache_prefill(kv_cache *c, int seq, const int32_t *tokens, int n, float *logits);

/* Append one token to each of the first N sequences (tokens[i] to sequence
 * i) in one batched pass; logits (n x V) receives their predictions. Every
 * sequence must have room (len < max_seq_len). Returns 0 or -1. */
int kv_cache_step(kv_cache *c, const int32_t *tokens, int n, float *logits);

/* Append tokens[i] to sequence seqs[i] for i < N (distinct sequences, each
 * with room) in one batched pass; logits row i (n x V) receives sequence
 * seqs[i]'s prediction. A sequence's logits are bit-for-bit the same
 * whichever other sequences share the pass. Returns 0 or -1. */
int kv_cache_step_seqs(kv_cache *c, const int *seqs, const int32_t *tokens, int n, float *logits);

/* Reorder the first N sequences: new sequence i becomes a copy of old
 * sequence src[i] (duplicates allowed; beam search). Returns 0 or -1 (OOM). */
int kv_cache_reorder(kv_cache *c, const int *src, int n);
#endif
