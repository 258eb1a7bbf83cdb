/* gen_sidecar: the JSON sidecar beside each generated piece (<stem>.json
 * next to <stem>.mid), owned in one place: a struct with every member
 * `aurl generate` writes, its writer (atomic, via util/fileio) and a
 * tolerant reader (the TUI's pieces list). The file's layout:
 *   midi, checkpoint, stage, tokenizer ("v1" | "v2"),
 *   settings { mode, strategy, temperature, top_k, top_p, beams,
 *              length_penalty, repetition_penalty, length, seconds,
 *              min_tokens, max_note_seconds, note_limits ("data"|"flat"),
 *              note_age_bias, grammar, mask, precision ("fp32"|"bf16": the
 *              KV cache's, resolved), seed, prime|null },
 *   tokens, prime_end, prime_seconds, generated_tokens, notes,
 *   duration_seconds, seconds_taken, first_token_seconds, tokens_per_s,
 *   grammar_errors, created_at,
 *   vae { window, latent_dim, z: "prior", z_seed }
 *     | vae { window, latent_dim, z: "interpolation", a, b, t, index, steps, method }
 *     (VAE mode only).
 * Unknown values (what a reader found missing, mistyped or out of range)
 * are -1 for numbers, "" for strings, -1 for settings.grammar; a missing
 * "vae" object is vae.present = 0. */
#ifndef AURL_GEN_SIDECAR_H
#define AURL_GEN_SIDECAR_H

#include <stddef.h>

#include "data/score.h"
#include "engine/sample/sampler.h"
#include "util/errmsg.h"

#define GEN_SIDECAR_PATH_MAX 4096
#define GEN_SIDECAR_NAME_MAX 32
/* Largest sidecar gen_sidecar_read accepts. */
#define GEN_SIDECAR_MAX_BYTES (1u << 20)

/* The "settings" member: the sampler settings of the piece as the user gave them. */
typedef struct {
    char mode[GEN_SIDECAR_NAME_MAX];     /* "transformer" | "vae" */
    char strategy[GEN_SIDECAR_NAME_MAX]; /* sampler_strategy_name */
    double temperature, top_p, length_penalty, repetition_penalty;
    long long top_k, beams;
    long long length;                    /* max_tokens */
    double seconds;                      /* max_seconds; 0 = no limit */
    long long min_tokens;
    double max_note_seconds;
    char note_limits[8];                 /* "data" (per-family limits from the data) | "flat"; "" unknown */
    double note_age_bias;                /* with data limits; -1 unknown */
    int grammar;                         /* 1 mask on, 0 off */
    char mask[8];                        /* sampler_mask_name: raw | plain | typed; "" unknown */
    char precision[8];                   /* the KV cache's, resolved: fp32 | bf16; "" unknown */
    long long seed;
    char prime[GEN_SIDECAR_PATH_MAX];    /* --prime file; "" none (null in the file) */
} gen_sidecar_settings;

/* The "vae" member (VAE mode): the window decoded and where z came from. */
typedef struct {
    int present;                         /* 0: no "vae" member */
    long long window, latent_dim;
    char z[GEN_SIDECAR_NAME_MAX];        /* "prior" | "interpolation" */
    long long z_seed;                    /* prior: the seed of z */
    char a[GEN_SIDECAR_PATH_MAX], b[GEN_SIDECAR_PATH_MAX]; /* interpolation: the two ends */
    double t;                            /* interpolation: position 0..1 */
    long long index, steps;              /* interpolation: piece index of steps + 1 */
    char method[GEN_SIDECAR_NAME_MAX];   /* interpolation: vae_interp_name */
} gen_sidecar_vae;

typedef struct {
    char midi[GEN_SIDECAR_PATH_MAX];       /* the .mid written */
    char checkpoint[GEN_SIDECAR_PATH_MAX]; /* the checkpoint sampled */
    long long stage;
    char tokenizer[4];                   /* token vocabulary of the model, "v1" | "v2"; "" unknown */
    gen_sidecar_settings settings;
    long long tokens, prime_end;         /* token count (START..END), first generated index */
    double prime_seconds;                /* music before prime_end */
    long long generated_tokens, notes;
    double duration_seconds;             /* of the decoded music */
    double seconds_taken, first_token_seconds, tokens_per_s;
    long long grammar_errors;
    double created_at;                   /* wall clock, seconds since the epoch */
    gen_sidecar_vae vae;
} gen_sidecar;

/* Every value unknown (see the top of this file). */
void gen_sidecar_init(gen_sidecar *sc);
/* Fill the settings (floats rounded to the 6 digits a user types), the
 * counts and timings from a sampling run (prime_seconds from r's tokens,
 * notes and duration from the decoded MUSIC) and created_at (now). mode,
 * prime, midi, checkpoint, stage and vae are the caller's. */
void gen_sidecar_fill(gen_sidecar *sc, const sampler_settings *s, const sampler_result *r, const score *music);
/* The sidecar as JSON text (indented when PRETTY, else one line), malloc'd;
 * NULL when out of memory. */
char *gen_sidecar_to_json(const gen_sidecar *sc, int pretty);
/* Atomically replace PATH with the indented JSON of SC. 0, or -1 with err set. */
int gen_sidecar_write(const char *path, const gen_sidecar *sc, char err[AURL_ERR_LEN]);
/* Parse sidecar JSON TEXT (LEN bytes) into SC. Missing or mistyped members
 * stay unknown; only text that is not a JSON object fails: -1 with err
 * "not valid JSON" / "not a JSON object" (no file name). Returns 0 or -1. */
int gen_sidecar_parse(const char *text, size_t len, gen_sidecar *sc, char err[AURL_ERR_LEN]);
/* Read the sidecar at PATH into SC (gen_sidecar_parse). Returns 0, or -1 with
 * err "<path>: <reason>" (missing, unreadable, too large, not JSON, not an
 * object); never crashes on a damaged file. */
int gen_sidecar_read(const char *path, gen_sidecar *sc, char err[AURL_ERR_LEN]);
#endif
