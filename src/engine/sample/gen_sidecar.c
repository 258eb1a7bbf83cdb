/* gen_sidecar: writer and tolerant reader of a generated piece's JSON
 * sidecar (layout and unknown values in gen_sidecar.h). */
#include "engine/sample/gen_sidecar.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"
#include "util/clock.h"
#include "util/fileio.h"
#include "util/json_num.h"

void gen_sidecar_init(gen_sidecar *sc)
{
    memset(sc, 0, sizeof *sc);
    gen_sidecar_settings *st = &sc->settings;
    st->temperature = st->top_p = st->length_penalty = st->repetition_penalty = -1;
    st->top_k = st->beams = st->length = st->min_tokens = st->seed = -1;
    st->seconds = st->max_note_seconds = st->note_age_bias = -1;
    st->grammar = -1;
    sc->stage = sc->tokens = sc->prime_end = sc->generated_tokens = sc->notes = sc->grammar_errors = -1;
    sc->prime_seconds = sc->duration_seconds = sc->seconds_taken = sc->first_token_seconds = -1;
    sc->tokens_per_s = sc->created_at = -1;
    gen_sidecar_vae *v = &sc->vae;
    v->window = v->latent_dim = v->z_seed = v->index = v->steps = -1;
    v->t = -1;
}

/* ---------- filling ---------- */

/* A float setting as the user wrote it (0.9, not 0.899999976). */
static double setting(float x)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.6g", (double)x);
    return strtod(buf, NULL);
}

/* Seconds of music before token index `end` (time shifts up to there). */
static double seconds_before(const int32_t *tok, int end)
{
    long long steps = 0;
    for (int i = 0; i < end; i++)
        if (tok[i] >= TOK_TIME_SHIFT && tok[i] < TOK_VELOCITY) steps += tok_shift_steps((uint16_t)tok[i]);
    return (double)steps / TOK_STEPS_PER_SECOND;
}

void gen_sidecar_fill(gen_sidecar *sc, const sampler_settings *s, const sampler_result *r, const score *music)
{
    gen_sidecar_settings *st = &sc->settings;
    snprintf(st->strategy, sizeof st->strategy, "%s", sampler_strategy_name(s->strategy));
    st->temperature = setting(s->temperature);
    st->top_k = s->top_k;
    st->top_p = setting(s->top_p);
    st->beams = s->beams;
    st->length_penalty = setting(s->length_penalty);
    st->repetition_penalty = setting(s->repetition_penalty);
    st->length = s->max_tokens;
    st->seconds = s->max_seconds;
    st->min_tokens = s->min_tokens;
    st->max_note_seconds = s->max_note_seconds;
    snprintf(st->note_limits, sizeof st->note_limits, "%s", s->data_limits ? "data" : "flat");
    st->note_age_bias = s->data_limits ? setting(s->note_age_bias) : 0;
    st->grammar = s->grammar ? 1 : 0;
    snprintf(st->mask, sizeof st->mask, "%s", sampler_mask_name(s->grammar));
    snprintf(st->precision, sizeof st->precision, "%s", kv_precision_name(kv_precision_resolve(s->precision)));
    st->seed = (long long)s->seed;
    snprintf(sc->tokenizer, sizeof sc->tokenizer, "%s", tok_vocab_name(r->vocab == TOK_VOCAB_V2 ? 2 : 1));
    sc->tokens = r->n_tokens;
    sc->prime_end = r->prime_end;
    sc->prime_seconds = seconds_before(r->tokens, r->prime_end);
    sc->generated_tokens = r->n_generated;
    sc->notes = (long long)music->n_notes;
    sc->duration_seconds = score_duration(music);
    sc->seconds_taken = r->seconds_taken;
    sc->first_token_seconds = r->first_token_seconds;
    sc->tokens_per_s = r->seconds_taken > 0 ? r->n_generated / r->seconds_taken : 0.0;
    sc->grammar_errors = r->grammar_errors;
    sc->created_at = clock_wall();
}

/* ---------- writing ---------- */

/* cJSON_Add* that clears *ok when the member could not be added. */
static void add_num(cJSON *o, const char *key, double v, int *ok)
{
    if (!cJSON_AddNumberToObject(o, key, v)) *ok = 0;
}

static void add_str(cJSON *o, const char *key, const char *v, int *ok)
{
    if (!cJSON_AddStringToObject(o, key, v)) *ok = 0;
}

static void add_settings(cJSON *j, const gen_sidecar_settings *s, int *ok)
{
    cJSON *st = cJSON_AddObjectToObject(j, "settings");
    if (!st) {
        *ok = 0;
        return;
    }
    add_str(st, "mode", s->mode, ok);
    add_str(st, "strategy", s->strategy, ok);
    add_num(st, "temperature", s->temperature, ok);
    add_num(st, "top_k", (double)s->top_k, ok);
    add_num(st, "top_p", s->top_p, ok);
    add_num(st, "beams", (double)s->beams, ok);
    add_num(st, "length_penalty", s->length_penalty, ok);
    add_num(st, "repetition_penalty", s->repetition_penalty, ok);
    add_num(st, "length", (double)s->length, ok);
    add_num(st, "seconds", s->seconds, ok);
    add_num(st, "min_tokens", (double)s->min_tokens, ok);
    add_num(st, "max_note_seconds", s->max_note_seconds, ok);
    if (s->note_limits[0]) add_str(st, "note_limits", s->note_limits, ok);
    if (s->note_age_bias >= 0) add_num(st, "note_age_bias", s->note_age_bias, ok);
    if (!cJSON_AddBoolToObject(st, "grammar", s->grammar > 0)) *ok = 0;
    if (s->mask[0]) add_str(st, "mask", s->mask, ok);
    if (s->precision[0]) add_str(st, "precision", s->precision, ok);
    add_num(st, "seed", (double)s->seed, ok);
    if (s->prime[0]) add_str(st, "prime", s->prime, ok);
    else if (!cJSON_AddNullToObject(st, "prime")) *ok = 0;
}

static void add_vae(cJSON *j, const gen_sidecar_vae *v, int *ok)
{
    cJSON *vj = cJSON_AddObjectToObject(j, "vae");
    if (!vj) {
        *ok = 0;
        return;
    }
    add_num(vj, "window", (double)v->window, ok);
    add_num(vj, "latent_dim", (double)v->latent_dim, ok);
    add_str(vj, "z", v->z, ok);
    if (!strcmp(v->z, "interpolation")) {
        add_str(vj, "a", v->a, ok);
        add_str(vj, "b", v->b, ok);
        add_num(vj, "t", v->t, ok);
        add_num(vj, "index", (double)v->index, ok);
        add_num(vj, "steps", (double)v->steps, ok);
        add_str(vj, "method", v->method, ok);
    } else {
        add_num(vj, "z_seed", (double)v->z_seed, ok);
    }
}

/* The sidecar as a cJSON tree; NULL when out of memory. */
static cJSON *to_cjson(const gen_sidecar *sc)
{
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    int ok = 1;
    add_str(j, "midi", sc->midi, &ok);
    add_str(j, "checkpoint", sc->checkpoint, &ok);
    add_num(j, "stage", (double)sc->stage, &ok);
    if (sc->tokenizer[0]) add_str(j, "tokenizer", sc->tokenizer, &ok);
    add_settings(j, &sc->settings, &ok);
    add_num(j, "tokens", (double)sc->tokens, &ok);
    add_num(j, "prime_end", (double)sc->prime_end, &ok);
    add_num(j, "prime_seconds", sc->prime_seconds, &ok);
    add_num(j, "generated_tokens", (double)sc->generated_tokens, &ok);
    add_num(j, "notes", (double)sc->notes, &ok);
    add_num(j, "duration_seconds", sc->duration_seconds, &ok);
    add_num(j, "seconds_taken", sc->seconds_taken, &ok);
    add_num(j, "first_token_seconds", sc->first_token_seconds, &ok);
    add_num(j, "tokens_per_s", sc->tokens_per_s, &ok);
    add_num(j, "grammar_errors", (double)sc->grammar_errors, &ok);
    add_num(j, "created_at", sc->created_at, &ok);
    if (sc->vae.present) add_vae(j, &sc->vae, &ok);
    if (!ok) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

char *gen_sidecar_to_json(const gen_sidecar *sc, int pretty)
{
    cJSON *j = to_cjson(sc);
    char *text = !j ? NULL : pretty ? cJSON_Print(j) : cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return text;
}

int gen_sidecar_write(const char *path, const gen_sidecar *sc, char err[AURL_ERR_LEN])
{
    char *text = gen_sidecar_to_json(sc, 1);
    if (!text) {
        errmsg_set(err, "%s: out of memory", path);
        return -1;
    }
    int rc = file_write_atomic(path, text, strlen(text), err);
    free(text);
    return rc;
}

/* ---------- reading ---------- */

/* Member KEY of O as an integer in [0, hi], else -1 (unknown). */
static long long int_of(const cJSON *o, const char *key, double hi)
{
    int64_t v;
    return json_num_int_field(o, key, 0, hi, &v) ? -1 : (long long)v;
}

/* Member KEY of O as a finite number in [0, hi], else -1 (unknown). */
static double num_of(const cJSON *o, const char *key, double hi)
{
    double v = json_num_field(o, key, -1);
    return v >= 0 && v <= hi ? v : -1;
}

/* Member KEY of O, a string, into buf (truncated); else buf stays "". */
static void str_of(const cJSON *o, const char *key, char *buf, size_t len)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsString(it) && it->valuestring) snprintf(buf, len, "%s", it->valuestring);
}

#define COUNT_MAX 1e12 /* tokens, notes, counts */
#define SECONDS_MAX 1e12

static void read_settings(const cJSON *st, gen_sidecar_settings *s)
{
    str_of(st, "mode", s->mode, sizeof s->mode);
    str_of(st, "strategy", s->strategy, sizeof s->strategy);
    s->temperature = num_of(st, "temperature", 1e9);
    s->top_k = int_of(st, "top_k", COUNT_MAX);
    s->top_p = num_of(st, "top_p", 1);
    s->beams = int_of(st, "beams", COUNT_MAX);
    s->length_penalty = num_of(st, "length_penalty", 1e9);
    s->repetition_penalty = num_of(st, "repetition_penalty", 1e9);
    s->length = int_of(st, "length", COUNT_MAX);
    s->seconds = num_of(st, "seconds", SECONDS_MAX);
    s->min_tokens = int_of(st, "min_tokens", COUNT_MAX);
    s->max_note_seconds = num_of(st, "max_note_seconds", SECONDS_MAX);
    str_of(st, "note_limits", s->note_limits, sizeof s->note_limits);
    s->note_age_bias = num_of(st, "note_age_bias", 100);
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(st, "grammar");
    s->grammar = cJSON_IsBool(g) ? cJSON_IsTrue(g) : -1;
    str_of(st, "mask", s->mask, sizeof s->mask);
    str_of(st, "precision", s->precision, sizeof s->precision);
    s->seed = int_of(st, "seed", JSON_NUM_INT_MAX);
    str_of(st, "prime", s->prime, sizeof s->prime);
}

static void read_vae(const cJSON *vj, gen_sidecar_vae *v)
{
    v->present = 1;
    v->window = int_of(vj, "window", COUNT_MAX);
    v->latent_dim = int_of(vj, "latent_dim", COUNT_MAX);
    str_of(vj, "z", v->z, sizeof v->z);
    v->z_seed = int_of(vj, "z_seed", JSON_NUM_INT_MAX);
    str_of(vj, "a", v->a, sizeof v->a);
    str_of(vj, "b", v->b, sizeof v->b);
    v->t = num_of(vj, "t", 1);
    v->index = int_of(vj, "index", COUNT_MAX);
    v->steps = int_of(vj, "steps", COUNT_MAX);
    str_of(vj, "method", v->method, sizeof v->method);
}

int gen_sidecar_parse(const char *text, size_t len, gen_sidecar *sc, char err[AURL_ERR_LEN])
{
    gen_sidecar_init(sc);
    cJSON *j = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(j)) {
        errmsg_set(err, "%s", j ? "not a JSON object" : "not valid JSON");
        cJSON_Delete(j);
        return -1;
    }
    str_of(j, "midi", sc->midi, sizeof sc->midi);
    str_of(j, "checkpoint", sc->checkpoint, sizeof sc->checkpoint);
    sc->stage = int_of(j, "stage", 1000);
    str_of(j, "tokenizer", sc->tokenizer, sizeof sc->tokenizer);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "settings");
    if (cJSON_IsObject(st)) read_settings(st, &sc->settings);
    sc->tokens = int_of(j, "tokens", COUNT_MAX);
    sc->prime_end = int_of(j, "prime_end", COUNT_MAX);
    sc->prime_seconds = num_of(j, "prime_seconds", SECONDS_MAX);
    sc->generated_tokens = int_of(j, "generated_tokens", COUNT_MAX);
    sc->notes = int_of(j, "notes", COUNT_MAX);
    sc->duration_seconds = num_of(j, "duration_seconds", SECONDS_MAX);
    sc->seconds_taken = num_of(j, "seconds_taken", SECONDS_MAX);
    sc->first_token_seconds = num_of(j, "first_token_seconds", SECONDS_MAX);
    sc->tokens_per_s = num_of(j, "tokens_per_s", 1e15);
    sc->grammar_errors = int_of(j, "grammar_errors", COUNT_MAX);
    sc->created_at = num_of(j, "created_at", 1e15);
    const cJSON *vj = cJSON_GetObjectItemCaseSensitive(j, "vae");
    if (cJSON_IsObject(vj)) read_vae(vj, &sc->vae);
    cJSON_Delete(j);
    return 0;
}

int gen_sidecar_read(const char *path, gen_sidecar *sc, char err[AURL_ERR_LEN])
{
    unsigned char *text = NULL;
    size_t len = 0;
    gen_sidecar_init(sc);
    if (file_read_all(path, GEN_SIDECAR_MAX_BYTES, &text, &len, err)) return -1;
    char why[AURL_ERR_LEN];
    int rc = gen_sidecar_parse((const char *)text, len, sc, why);
    free(text);
    if (rc) errmsg_set(err, "%s: %s", path, why);
    return rc;
}
