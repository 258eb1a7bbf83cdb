/* train_sample: a short seeded piece from the model in training, written
 * beside its sidecar and music metrics, logged to metrics (see the header). */
#include "engine/train/train_sample.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/cache.h"
#include "data/dataset.h"
#include "data/midi_write.h"
#include "data/score.h"
#include "data/tokenizer.h"
#include "engine/eval/music_compare.h"
#include "engine/eval/music_stats.h"
#include "engine/model/vae.h"
#include "engine/sample/gen_sidecar.h"
#include "engine/sample/note_limits.h"
#include "engine/sample/sampler.h"
#include "engine/sample/vae_sample.h"
#include "util/clock.h"
#include "util/fileio.h"
#include "util/log.h"

/* Tokens allowed per second of music: the length in seconds stops first. */
#define TOKENS_PER_SECOND_CAP 100

/* The data's statistics, computed once per process for one data dir. */
static struct {
    char data_dir[4096];
    int tried, have, have_limits;
    music_stats stats;
    note_limits limits; /* the decoding limits `aurl generate` uses by default */
    char source[4200];
} g_data;

int train_sample_due(const train_config *cfg, long long step, int evaluated)
{
    if (cfg->sample_every < 0) return evaluated;
    if (cfg->sample_every == 0) return 0;
    return step > 0 && step % cfg->sample_every == 0;
}

void train_sample_path(const char *outputs_dir, int stage, long long step, const char *ext, char *out, size_t len)
{
    snprintf(out, len, "%s/samples/stage%d/step_%07lld%s", outputs_dir, stage, step, ext);
}

/* Write the data column (key -> value) and its source to data_stats.json. */
static void write_data_stats(const char *outputs_dir)
{
    music_compare c;
    music_compare_stats(&g_data.stats, NULL, &c);
    cJSON *o = cJSON_CreateObject(), *v = cJSON_AddObjectToObject(o, "values");
    cJSON_AddStringToObject(o, "source", g_data.source);
    cJSON_AddNumberToObject(o, "pieces", g_data.stats.n_pieces);
    cJSON_AddNumberToObject(o, "seconds", g_data.stats.seconds);
    for (int i = 0; i < c.n_rows; i++)
        if (isfinite(c.rows[i].gen)) cJSON_AddNumberToObject(v, c.rows[i].key, c.rows[i].gen);
    char *text = cJSON_Print(o), path[4200], err[AURL_ERR_LEN];
    cJSON_Delete(o);
    snprintf(path, sizeof path, "%s/samples", outputs_dir);
    if (file_mkdirs(path, err) != 0) log_warn("%s", err);
    snprintf(path, sizeof path, "%s/samples/data_stats.json", outputs_dir);
    if (text && file_write_atomic(path, text, strlen(text), err) != 0) log_warn("%s", err);
    free(text);
}

/* The data's statistics (the training split of DATA_DIR's cache), computed
 * on the first call for that dir (writing data_stats.json below OUTPUTS_DIR
 * unless NULL); NULL when there is no usable cache. */
static const music_stats *data_stats(const char *data_dir, const char *outputs_dir)
{
    if (!data_dir) return NULL;
    if (g_data.tried && !strcmp(g_data.data_dir, data_dir)) return g_data.have ? &g_data.stats : NULL;
    g_data.tried = 1;
    g_data.have = g_data.have_limits = 0;
    snprintf(g_data.data_dir, sizeof g_data.data_dir, "%s", data_dir);
    char err[AURL_ERR_LEN];
    cache *c;
    if (cache_open(data_dir, &c, err) != 0) {
        log_warn("music metrics: no data column (%s)", err);
        return NULL;
    }
    size_t k = 0;
    dataset_seq *seqs = dataset_split_seqs(c, CACHE_TRAIN, &k);
    g_data.have_limits = seqs && note_limits_from_seqs(seqs, k, &g_data.limits, err) == 0;
    if (seqs && k > 0 && music_stats_of_sequences(seqs, k, &g_data.stats) == 0) {
        g_data.have = 1;
        snprintf(g_data.source, sizeof g_data.source, "training split of %s", cache_dir(c));
        if (outputs_dir) write_data_stats(outputs_dir);
    }
    free(seqs);
    cache_close(c);
    return g_data.have ? &g_data.stats : NULL;
}

/* Generate the piece: the transformer, or the VAE's decoder from the prior.
 * VAE: *window and *latent get T and the latent size. 0 or -1. */
static int generate(const train_config *cfg, const transformer *model, vaegan *vg, sampler_settings *s,
                    sampler_result *res, int *window, int *latent, char err[AURL_ERR_LEN])
{
    if (!vg) {
        if (!model) return errmsg_set(err, "no model to sample"), -1;
        return sampler_generate(model, s, NULL, 0, NULL, 0, NULL, NULL, res, err);
    }
    vae *v = vaegan_vae(vg);
    int T = vae_sample_window_len(&cfg->vae, cfg->seq_len), D = vae_latent_dim(v);
    if (T < 2) return errmsg_set(err, "no window of at most %d tokens fits the VAE's segments", cfg->seq_len), -1;
    if (s->max_tokens > T - 1) s->max_tokens = T - 1;
    if (s->min_tokens > s->max_tokens) s->min_tokens = s->max_tokens;
    float *z = malloc((size_t)D * sizeof *z);
    if (!z) return errmsg_set(err, "out of memory"), -1;
    vae_sample_prior(z, D, s->seed);
    int rc = vae_sample_decode(v, T, z, s, NULL, NULL, res, err);
    free(z);
    *window = T;
    *latent = D;
    return rc;
}

/* The compare rows as JSON text (malloc'd) for <stem>.music.json. */
static char *compare_json(const music_compare *c, long long step, int stage)
{
    cJSON *o = cJSON_CreateObject(), *rows = cJSON_AddArrayToObject(o, "rows");
    cJSON_AddNumberToObject(o, "stage", stage);
    cJSON_AddNumberToObject(o, "step", (double)step);
    if (isfinite(c->distance)) cJSON_AddNumberToObject(o, "distance", c->distance);
    else cJSON_AddNullToObject(o, "distance");
    for (int i = 0; i < c->n_rows; i++) {
        const music_compare_row *r = &c->rows[i];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "key", r->key);
        cJSON_AddStringToObject(j, "label", r->label);
        cJSON_AddNumberToObject(j, "decimals", r->decimals);
        const char *names[] = {"gen", "data", "ratio", "term"};
        double vals[] = {r->gen, r->data, r->ratio, r->term};
        for (int k = 0; k < 4; k++)
            if (isfinite(vals[k])) cJSON_AddNumberToObject(j, names[k], vals[k]);
            else cJSON_AddNullToObject(j, names[k]);
        cJSON_AddItemToArray(rows, j);
    }
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    return text;
}

/* Log the "music" record: every row's value, the distance and the cost. */
static void log_music(metrics *met, long long step, const music_compare *c, const score *sc, double cost)
{
    const char *names[MUSIC_COMPARE_MAX_ROWS + 4];
    double vals[MUSIC_COMPARE_MAX_ROWS + 4];
    int n = 0;
    names[n] = "distance", vals[n++] = c->distance;
    names[n] = "sample_seconds", vals[n++] = cost;
    names[n] = "notes", vals[n++] = (double)sc->n_notes;
    names[n] = "duration", vals[n++] = score_duration(sc);
    for (int i = 0; i < c->n_rows; i++)
        if (isfinite(c->rows[i].gen)) names[n] = c->rows[i].key, vals[n++] = c->rows[i].gen;
    metrics_log(met, "music", step, n, names, vals, NULL);
}

/* Decode RES, write the .mid, its sidecar and the .music.json; fill C. */
static int write_piece(const train_config *cfg, const char *outputs_dir, const char *data_dir, long long step,
                       const sampler_settings *s, const sampler_result *res, int window, int latent, score *sc,
                       music_compare *c, char err[AURL_ERR_LEN])
{
    char mid[4200], side[4200], mus[4200];
    train_sample_path(outputs_dir, cfg->stage, step, ".mid", mid, sizeof mid);
    train_sample_path(outputs_dir, cfg->stage, step, ".json", side, sizeof side);
    train_sample_path(outputs_dir, cfg->stage, step, ".music.json", mus, sizeof mus);
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/samples/stage%d", outputs_dir, cfg->stage);
    if (file_mkdirs(dir, err) != 0) return -1;
    uint16_t *t16 = malloc((size_t)res->n_tokens * sizeof *t16 + 1);
    if (!t16) return errmsg_set(err, "out of memory"), -1;
    for (int k = 0; k < res->n_tokens; k++)
        t16[k] = (uint16_t)(res->tokens[k] >= 0 && res->tokens[k] < TOK_VOCAB_SIZE ? res->tokens[k] : TOK_UNK);
    int rc = tok_decode_vocab(t16, (size_t)res->n_tokens, res->vocab, sc);
    free(t16);
    if (rc != 0) return errmsg_set(err, "out of memory while decoding the sample"), -1;
    if (midi_write_file(mid, sc, err) != 0) return -1;
    gen_sidecar *j = malloc(sizeof *j);
    if (!j) return errmsg_set(err, "out of memory"), -1;
    gen_sidecar_init(j);
    gen_sidecar_fill(j, s, res, sc);
    snprintf(j->midi, sizeof j->midi, "%s", mid);
    snprintf(j->checkpoint, sizeof j->checkpoint, "training stage %d step %lld", cfg->stage, step);
    j->stage = cfg->stage;
    snprintf(j->settings.mode, sizeof j->settings.mode, "%s", window ? "vae" : "transformer");
    if (window) {
        j->vae.present = 1;
        j->vae.window = window;
        j->vae.latent_dim = latent;
        snprintf(j->vae.z, sizeof j->vae.z, "prior");
        j->vae.z_seed = (long long)s->seed;
    }
    rc = gen_sidecar_write(side, j, err);
    free(j);
    if (rc != 0) return -1;
    data_stats(data_dir, outputs_dir); /* computed (and data_stats.json written) once */
    return train_sample_measure(sc, data_dir, mus, cfg->stage, step, c, err);
}

int train_sample_measure(const score *sc, const char *data_dir, const char *music_json_path, int stage,
                         long long step, music_compare *out, char err[AURL_ERR_LEN])
{
    music_stats gs;
    if (music_stats_of_score(sc, &gs) != 0) return errmsg_set(err, "out of memory measuring the piece"), -1;
    music_compare_stats(&gs, data_stats(data_dir, NULL), out);
    char *text = compare_json(out, step, stage);
    if (!text) return errmsg_set(err, "out of memory"), -1;
    int rc = file_write_atomic(music_json_path, text, strlen(text), err);
    free(text);
    return rc;
}

void train_sample_format_line(const music_compare *c, char *out, size_t len)
{
    double v[3] = {NAN, NAN, NAN};
    const char *keys[3] = {"notes_per_second", "polyphony", "pitch_class_entropy"};
    for (int i = 0; i < c->n_rows; i++)
        for (int k = 0; k < 3; k++)
            if (!strcmp(c->rows[i].key, keys[k])) v[k] = c->rows[i].gen;
    char d[32];
    if (isfinite(c->distance)) snprintf(d, sizeof d, "%.2f", c->distance);
    else snprintf(d, sizeof d, "- (no data cache)");
    snprintf(out, len, "music: %.1f notes/s, polyphony %.2f, pitch-class entropy %.2f bits, distance to data %s", v[0],
             v[1], v[2], d);
}

int train_sample_run(const train_config *cfg, const char *outputs_dir, const char *data_dir, long long step,
                     const transformer *model, vaegan *vg, metrics *met, double *cost_seconds,
                     char err[AURL_ERR_LEN])
{
    double t0 = clock_monotonic();
    sampler_settings s;
    sampler_settings_default(&s);
    s.max_seconds = cfg->sample_seconds;
    s.max_tokens = (int)(cfg->sample_seconds * TOKENS_PER_SECOND_CAP);
    if (s.min_tokens > s.max_tokens) s.min_tokens = s.max_tokens;
    s.seed = cfg->seed;
    data_stats(data_dir, outputs_dir); /* computed (and data_stats.json written) once */
    if (g_data.have_limits) { /* decoded as `aurl generate` decodes by default */
        s.data_limits = 1;
        s.limits = g_data.limits.limits;
    }
    sampler_result res;
    memset(&res, 0, sizeof res);
    int window = 0, latent = 0;
    if (generate(cfg, model, vg, &s, &res, &window, &latent, err) != 0) return -1;
    score sc;
    score_init(&sc);
    music_compare *c = malloc(sizeof *c);
    int rc = c ? write_piece(cfg, outputs_dir, data_dir, step, &s, &res, window, latent, &sc, c, err) : -1;
    if (!c) errmsg_set(err, "out of memory");
    *cost_seconds = clock_monotonic() - t0;
    if (rc == 0 && met) log_music(met, step, c, &sc, *cost_seconds);
    free(c);
    score_free(&sc);
    sampler_result_free(&res);
    return rc;
}

void train_sample_maybe(const train_config *cfg, const char *outputs_dir, const char *data_dir, long long step,
                        int evaluated, const transformer *model, vaegan *vg, metrics *met)
{
    if (!met || !train_sample_due(cfg, step, evaluated)) return;
    char err[AURL_ERR_LEN];
    double cost = 0;
    if (train_sample_run(cfg, outputs_dir, data_dir ? data_dir : "data", step, model, vg, met, &cost, err) != 0) {
        char note[AURL_ERR_LEN + 64];
        snprintf(note, sizeof note, "training sample at step %lld failed: %s", step, err);
        log_warn("%s", note);
        metrics_log(met, "event", step, 0, NULL, NULL, note);
        return;
    }
    log_info("stage %d step %lld: music sample in %.2f s", cfg->stage, step, cost);
}
