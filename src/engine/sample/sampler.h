/* sampler: autoregressive generation from a trained transformer with a KV
 * cache (each new token costs O(context), not a full forward pass), every
 * strategy of docs/DESIGN.md §8 (greedy, temperature, top-k, top-p, beam search,
 * repetition penalty), the token grammar mask, priming, length in tokens or
 * seconds, and a sliding context past the model's max_seq_len. Seeded and
 * reproducible: same model, settings, prefix and seed give the same tokens. */
#ifndef AURL_SAMPLER_H
#define AURL_SAMPLER_H

#include <stdint.h>

#include "engine/model/transformer.h"
#include "util/errmsg.h"

typedef enum {
    SAMPLER_GREEDY = 0,
    SAMPLER_TEMPERATURE,
    SAMPLER_TOP_K,
    SAMPLER_TOP_P,
    SAMPLER_BEAM
} sampler_strategy;

typedef struct {
    sampler_strategy strategy;
    float temperature;        /* > 0; used by temperature, top_k, top_p */
    int top_k;                /* >= 1 */
    float top_p;              /* (0, 1] */
    int beams;                /* >= 1, beam search only */
    float length_penalty;     /* beam score = logp / len^length_penalty */
    float repetition_penalty; /* >= 1; 1 = off (CTRL-style on recent tokens) */
    int max_tokens;           /* tokens to generate after the prefix (> 0) */
    double max_seconds;       /* > 0: also stop once the music reaches this length */
    int min_tokens;           /* the mask forbids END before this many generated tokens */
    double max_note_seconds;  /* the mask force-closes notes sounding longer (default 8) */
    int grammar;              /* 1: apply the grammar mask (default); 0: sample raw */
    uint64_t seed;
} sampler_settings;

/* Defaults: top_p 0.9, temperature 1.0, top_k 40, beams 4, length_penalty
 * 1.0, repetition_penalty 1.0, max_tokens 1024, max_seconds 0,
 * min_tokens 64, max_note_seconds 8, grammar 1, seed 1. */
void sampler_settings_default(sampler_settings *s);
/* Check ranges; returns 0, or -1 with a message naming the bad setting. */
int sampler_settings_validate(const sampler_settings *s, char err[AURL_ERR_LEN]);
/* "greedy" | "temperature" | "top_k" | "top_p" | "beam"; returns 0 or -1. */
int sampler_strategy_parse(const char *name, sampler_strategy *out);
const char *sampler_strategy_name(sampler_strategy s);

typedef struct {
    int32_t *tokens;        /* START, prefix (without its START/END), generated..., END (malloc'd) */
    int n_tokens;
    int prime_end;          /* index in tokens of the first generated token */
    int n_generated;
    int grammar_errors;     /* generated tokens the grammar mask forbids (counted also when grammar = 0) */
    double seconds_taken;   /* wall time of generation */
    double first_token_seconds; /* time to the first generated token (prefix processing included) */
} sampler_result;

/* Called after each generated token; a nonzero return cancels (the result
 * keeps what was generated, closed with END). */
typedef int (*sampler_progress_fn)(void *ctx, int generated, int total);

/* Generate after `prefix` (tokens without START/END; may be empty).
 * `cond` (NULL for plain transformer mode) holds cond_rows x d_model floats:
 * row i is added to the input embedding at sequence position i (the VAE's
 * latent conditioning); positions >= cond_rows get nothing. The model's
 * weights are only read. Returns 0, or -1 with err set. */
int sampler_generate(const transformer *m, const sampler_settings *s, const int32_t *prefix, int n_prefix,
                     const float *cond, int cond_rows, sampler_progress_fn progress, void *progress_ctx,
                     sampler_result *out, char err[AURL_ERR_LEN]);

/* Most pieces one sampler_generate_batch call takes. */
#define SAMPLER_BATCH_MAX 256

/* N_PIECES pieces after the same prefix (1..SAMPLER_BATCH_MAX), piece i
 * with seed s->seed + i, into out[0..n_pieces). Piece i is token for token
 * the piece sampler_generate gives with that seed; the pieces decode
 * together (one cache of n_pieces sequences, one batched step for all live
 * pieces per token), except under beam search, which runs them one after
 * the other. progress sees the tokens of all pieces (total n_pieces x
 * max_tokens). Each result's first_token_seconds and seconds_taken count
 * from the call. Returns 0, or -1 with err set (no result kept). */
int sampler_generate_batch(const transformer *m, const sampler_settings *s, const int32_t *prefix, int n_prefix,
                           const float *cond, int cond_rows, int n_pieces, sampler_progress_fn progress,
                           void *progress_ctx, sampler_result *out, char err[AURL_ERR_LEN]);
void sampler_result_free(sampler_result *r);
#endif
