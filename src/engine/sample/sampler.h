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
#include "engine/sample/grammar.h"
#include "engine/sample/kv_cache.h"
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
    int beam_sampled;         /* 1 (default): each beam's candidates are drawn from the tempered
                               * distribution (Gumbel-top-k), 0: the exact top candidates */
    float length_penalty;     /* beam score = logp / len^length_penalty */
    float repetition_penalty; /* >= 1; 1 = off (CTRL-style on recent tokens) */
    int max_tokens;           /* tokens to generate after the prefix (> 0) */
    double max_seconds;       /* > 0: also stop once the music reaches this length */
    int min_tokens;           /* the mask forbids END before this many generated tokens */
    double max_note_seconds;  /* the mask force-closes notes sounding longer (default 8), unless data_limits */
    int data_limits;          /* 1: limits (the data's, engine/sample/note_limits) replace max_note_seconds */
    grammar_limits limits;    /* with data_limits: per-family note-length and polyphony limits */
    float note_age_bias;      /* >= 0, with data_limits and a mask: a sounding note's NOTE_OFF logit
                               * gains bias x log2(age / typical length) once older than typical */
    int grammar;              /* SAMPLER_MASK_*: how the grammar mask applies (default TYPED) */
    uint64_t seed;
    kv_precision precision;   /* the KV cache's number format (default KV_PREC_AUTO: kv_precision_resolve) */
} sampler_settings;

/* How the grammar mask meets the model's distribution:
 *   RAW    no mask: the model's own tokens (errors are counted);
 *   PLAIN  forbidden tokens are removed and the rest renormalised together;
 *   TYPED  the mass the model gave a token type (NOTE_ON, NOTE_OFF,
 *          TIME_SHIFT, ...) stays with that type: forbidden tokens' mass is
 *          spread over the allowed tokens of their own type; and a NOTE_OFF
 *          of a pitch that sounds on another instrument (the model's most
 *          common slip: the right pitch in the wrong instrument context) is
 *          kept and routed, written as INSTRUMENT j then NOTE_OFF. The
 *          intention to release a note is not turned into a new onset.
 *          Likewise a NOTE_ON that only the polyphony limit (data limits)
 *          forbids steals a voice: NOTE_OFF of the instrument's oldest
 *          note, then the NOTE_ON, as a synthesiser with that many voices
 *          would play it; and a NOTE_ON of a sounding note is a re-strike
 *          (its NOTE_OFF, then the NOTE_ON). */
enum { SAMPLER_MASK_RAW = 0, SAMPLER_MASK_PLAIN = 1, SAMPLER_MASK_TYPED = 2 };
/* "raw" | "plain" | "typed"; returns 0 or -1. */
int sampler_mask_parse(const char *name, int *out);
const char *sampler_mask_name(int mode);

/* The TYPED mask on one row of logits (V >= TOK_VOCAB_SIZE entries):
 * allowed[] (V bytes, out) is the grammar's mask plus, when ROUTE, the
 * NOTE_OFFs grammar_route_of can route; each token type's allowed logits are
 * shifted by log(type mass / allowed mass of the type), the rest set to
 * -inf. A type with nothing allowed loses its mass to the others. */
void sampler_typed_mask(float *logits, int V, const grammar_state *g, uint8_t *allowed, int route);

/* Defaults: top_p 0.9, temperature 1.0, top_k 40, beams 4, length_penalty
 * 1.0, repetition_penalty 1.0, max_tokens 1024, max_seconds 0,
 * min_tokens 64, max_note_seconds 8, no data limits, note_age_bias 0.5, beam_sampled 1,
 * grammar SAMPLER_MASK_TYPED, seed 1. */
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
    int vocab;              /* token vocabulary of tokens (the model's, TOK_VOCAB_V1 or _V2) */
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
 * the piece sampler_generate gives with that seed. With more than one
 * OpenMP thread (and not called inside a parallel region) the batch splits
 * into groups of consecutive pieces, about eight a group, at least one per
 * thread, decoded on the threads at once; the pieces of a group decode
 * together (one cache, one batched step for all its live pieces per
 * token), except under beam search, which runs a group's pieces one after
 * the other. progress sees the tokens of all pieces (total n_pieces x
 * max_tokens); its calls are serialised but may come from any of the
 * threads, and in groups, once it cancels it is not called again. Each result's
 * first_token_seconds and seconds_taken count from the call. Returns 0, or
 * -1 with err set (no result kept). */
int sampler_generate_batch(const transformer *m, const sampler_settings *s, const int32_t *prefix, int n_prefix,
                           const float *cond, int cond_rows, int n_pieces, sampler_progress_fn progress,
                           void *progress_ctx, sampler_result *out, char err[AURL_ERR_LEN]);
void sampler_result_free(sampler_result *r);
#endif
