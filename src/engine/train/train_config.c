/* train_config: stage + profile YAML -> train_config, with validation. */
#include "engine/train/train_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/tokenizer.h"
#include "engine/model/model_yaml.h"
#include "util/fileio.h"
#include "util/hash.h"
#include "util/yaml_doc.h"

void train_config_defaults(train_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->stage = 1;
    snprintf(cfg->name, sizeof cfg->name, "base");
    snprintf(cfg->mode, sizeof cfg->mode, "transformer");
    cfg->model = (model_config){
        .vocab_size = TOK_VOCAB_SIZE, .d_model = 256, .n_layers = 4, .n_heads = 4, .d_ff = 1024,
        .max_seq_len = 512, .attn = {.kind = ATTN_FULL, .window = 256, .stride = 64},
        .dropout = 0.1f, .positions = POS_LEARNED, .tokenizer = TOK_VOCAB_V2};
    cfg->seq_len = 512;
    cfg->stride = 256;
    cfg->augment = 0;
    augment_config_none(&cfg->aug);
    cfg->batch_size = 8;
    cfg->accumulate = 1;
    cfg->epochs = 20;
    cfg->max_steps = 0;
    cfg->lr = 3e-4;
    cfg->min_lr = 3e-5;
    cfg->warmup_steps = 200;
    cfg->weight_decay = 0.1;
    cfg->beta1 = 0.9;
    cfg->beta2 = 0.95;
    cfg->eps = 1e-8;
    cfg->grad_clip = 1.0;
    cfg->eval_every = 500;
    cfg->eval_batches = 50;
    cfg->checkpoint_every = 500;
    cfg->keep_checkpoints = 2;
    cfg->log_every = 10;
    cfg->sample_every = -1;
    cfg->sample_seconds = 8;
    cfg->seed = 1234;
    cfg->init_from_previous = 1;
    vae_config_defaults(&cfg->vae);
    cfg->disc = disc_config_default();
    vaegan_config_defaults(&cfg->gan);
}

int train_config_is_vae(const train_config *cfg)
{
    return !strcmp(cfg->mode, "vae_gan") || !strcmp(cfg->mode, "vae");
}

static const char *const TOP_KEYS[] = {"stage", "name", "mode", "model", "data", "augmentation", "training", "vae", "gan", NULL};
static const char *const VAE_KEYS[] = {"encoder_layers", "latent_global", "latent_segment", "latent_fine", "segments",
                                       "fine_segments", "free_bits", "beta", NULL};
static const char *const BETA_KEYS[] = {"schedule", "max", "warmup_steps", "cycle_steps", NULL};
static const char *const GAN_KEYS[] = {"loss", "d_lr", "d_beta1", "d_beta2", "d_weight_decay", "n_critic", "tau",
                                       "tau_min", "tau_anneal_steps", "adv_weight", "adv_weight_max", "fm_weight",
                                       "start_step", "embed", "hidden", "layers", "kernel", "scales", "sn_iters", NULL};
static const char *const DATA_KEYS[] = {"seq_len", "stride", "augment", "subset", NULL};
static const char *const TRAIN_KEYS[] = {"batch_size", "epochs", "max_steps", "lr", "min_lr", "warmup_steps",
                                         "weight_decay", "beta1", "beta2", "eps", "grad_clip", "eval_every",
                                         "eval_batches", "patience", "min_delta", "checkpoint_every", "keep_checkpoints", "log_every",
                                         "sample_every", "sample_seconds", "seed", "init_from_previous", "accumulate",
                                         NULL};
static const char *const AUG_KEYS[] = {"transpose", "time_stretch", "velocity", "instrument", "rhythm", NULL};

/* One augmentation operation: `name: {p: .., <a>: .., <b>: ..}`. */
static int read_aug_op(yaml_doc *d, yaml_node_t *aug, const char *name, float *p, const char *ka, float *a,
                       double amin, double amax, const char *kb, float *b, double bmin, double bmax,
                       char err[AURL_ERR_LEN])
{
    yaml_node_t *op;
    if (yaml_doc_map(d, aug, name, &op, err)) return -1;
    if (!op) return 0;
    const char *allowed[] = {"p", ka, kb, NULL};
    if (yaml_doc_check_keys(d, op, allowed, err) || yaml_doc_float(d, op, "p", 0, 1, p, err)) return -1;
    if (ka && yaml_doc_float(d, op, ka, amin, amax, a, err)) return -1;
    if (kb && yaml_doc_float(d, op, kb, bmin, bmax, b, err)) return -1;
    return 0;
}

static int read_augmentation(yaml_doc *d, yaml_node_t *aug, augment_config *ac, char err[AURL_ERR_LEN])
{
    if (!aug) return 0;
    if (yaml_doc_check_keys(d, aug, AUG_KEYS, err)) return -1;
    float tmax = (float)ac->transpose_max;
    if (read_aug_op(d, aug, "transpose", &ac->transpose_p, "max", &tmax, 0, 24, NULL, NULL, 0, 0, err) ||
        read_aug_op(d, aug, "time_stretch", &ac->stretch_p, "min", &ac->stretch_min, 0.25, 4, "max",
                    &ac->stretch_max, 0.25, 4, err) ||
        read_aug_op(d, aug, "velocity", &ac->velocity_p, "min", &ac->velocity_min, 0.05, 4, "max",
                    &ac->velocity_max, 0.05, 4, err) ||
        read_aug_op(d, aug, "instrument", &ac->instrument_p, NULL, NULL, 0, 0, NULL, NULL, 0, 0, err) ||
        read_aug_op(d, aug, "rhythm", &ac->rhythm_p, "swing_max", &ac->swing_max, 0, 0.5, "humanize_ms",
                    &ac->humanize_ms, 0, 100, err))
        return -1;
    ac->transpose_max = (int)tmax;
    if (ac->stretch_min > ac->stretch_max || ac->velocity_min > ac->velocity_max) {
        yaml_doc_error(d, aug, err, "augmentation: a min is larger than its max");
        return -1;
    }
    return 0;
}

/* A string key parsed by PARSE (0 ok / -1 unknown); absent: untouched. */
static int read_enum(yaml_doc *d, yaml_node_t *map, const char *key, const char *expected, int (*parse)(const char *, void *),
                     void *out, char err[AURL_ERR_LEN])
{
    char text[32] = "";
    if (yaml_doc_string(d, map, key, text, sizeof text, err)) return -1;
    if (!text[0] || parse(text, out) == 0) return 0;
    yaml_doc_error(d, yaml_doc_get(d, map, key), err, "%s: expected %s, got '%s'", key, expected, text);
    return -1;
}

static int parse_beta_kind(const char *s, void *out) { return beta_kind_parse(s, (beta_kind *)out); }
static int parse_gan_loss(const char *s, void *out) { return gan_loss_kind_parse(s, (gan_loss_kind *)out); }

static int read_vae(yaml_doc *d, yaml_node_t *v, vae_config *vc, char err[AURL_ERR_LEN])
{
    yaml_node_t *beta;
    long long warm = vc->beta.warmup_steps, cycle = vc->beta.cycle_steps;
    if (!v) return 0;
    if (yaml_doc_check_keys(d, v, VAE_KEYS, err) || yaml_doc_int(d, v, "encoder_layers", 1, 64, &vc->enc_layers, err) ||
        yaml_doc_int(d, v, "latent_global", 1, 4096, &vc->latent_dim[0], err) ||
        yaml_doc_int(d, v, "latent_segment", 1, 4096, &vc->latent_dim[1], err) ||
        yaml_doc_int(d, v, "latent_fine", 1, 4096, &vc->latent_dim[2], err) ||
        yaml_doc_int(d, v, "segments", 1, 65536, &vc->n_segments[1], err) ||
        yaml_doc_int(d, v, "fine_segments", 1, 65536, &vc->n_segments[2], err) ||
        yaml_doc_float(d, v, "free_bits", 0, 100, &vc->free_bits, err) || yaml_doc_map(d, v, "beta", &beta, err) ||
        yaml_doc_check_keys(d, beta, BETA_KEYS, err) ||
        read_enum(d, beta, "schedule", "linear or cyclical", parse_beta_kind, &vc->beta.kind, err) ||
        yaml_doc_float(d, beta, "max", 0, 1000, &vc->beta.beta_max, err) ||
        yaml_doc_i64(d, beta, "warmup_steps", 0, 1000000000LL, &warm, err) ||
        yaml_doc_i64(d, beta, "cycle_steps", 1, 1000000000LL, &cycle, err))
        return -1;
    vc->beta.warmup_steps = (long)warm;
    vc->beta.cycle_steps = (long)cycle;
    return 0;
}

/* gan.scales: a sequence of 1..DISC_MAX_SCALES pooling factors. */
static int read_scales(yaml_doc *d, yaml_node_t *g, disc_config *dc, char err[AURL_ERR_LEN])
{
    yaml_node_t *s = yaml_doc_get(d, g, "scales");
    if (!s) return 0;
    int n = s->type == YAML_SEQUENCE_NODE ? (int)(s->data.sequence.items.top - s->data.sequence.items.start) : -1;
    if (n < 1 || n > DISC_MAX_SCALES) {
        yaml_doc_error(d, s, err, "scales: expected a list of 1 to %d pooling factors, e.g. [1, 4, 16]", DISC_MAX_SCALES);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        yaml_node_t *it = yaml_document_get_node(&d->doc, s->data.sequence.items.start[i]);
        const char *t = it && it->type == YAML_SCALAR_NODE ? (const char *)it->data.scalar.value : "";
        char *end;
        long v = strtol(t, &end, 10);
        if (!*t || *end || v < 1 || v > 4096) {
            yaml_doc_error(d, it ? it : s, err, "scales: expected an integer 1..4096, got '%s'", t);
            return -1;
        }
        dc->scales[i] = (int)v;
    }
    dc->n_scales = n;
    return 0;
}

static int read_gan(yaml_doc *d, yaml_node_t *g, disc_config *dc, vaegan_config *gc, char err[AURL_ERR_LEN])
{
    long long anneal = gc->tau_anneal_steps, start = gc->start_step;
    if (!g) return 0;
    if (yaml_doc_check_keys(d, g, GAN_KEYS, err) ||
        read_enum(d, g, "loss", "hinge or nonsaturating", parse_gan_loss, &dc->loss, err) ||
        yaml_doc_float(d, g, "d_lr", 1e-9, 10, &dc->lr, err) || yaml_doc_float(d, g, "d_beta1", 0, 0.999999, &dc->beta1, err) ||
        yaml_doc_float(d, g, "d_beta2", 0, 0.999999, &dc->beta2, err) ||
        yaml_doc_float(d, g, "d_weight_decay", 0, 10, &dc->weight_decay, err) ||
        yaml_doc_int(d, g, "n_critic", 1, 100, &dc->n_critic, err) || yaml_doc_float(d, g, "tau", 0.001, 100, &gc->tau, err) ||
        yaml_doc_float(d, g, "tau_min", 0.001, 100, &gc->tau_min, err) ||
        yaml_doc_i64(d, g, "tau_anneal_steps", 0, 1000000000LL, &anneal, err) ||
        yaml_doc_float(d, g, "adv_weight", 0, 1000, &gc->adv_weight, err) ||
        yaml_doc_float(d, g, "adv_weight_max", 0, 1e6, &gc->adv_weight_max, err) ||
        yaml_doc_float(d, g, "fm_weight", 0, 1000, &gc->fm_weight, err) ||
        yaml_doc_i64(d, g, "start_step", 0, 1000000000LL, &start, err) ||
        yaml_doc_int(d, g, "embed", 1, 4096, &dc->embed, err) || yaml_doc_int(d, g, "hidden", 1, 4096, &dc->hidden, err) ||
        yaml_doc_int(d, g, "layers", 1, DISC_MAX_LAYERS, &dc->n_layers, err) ||
        yaml_doc_int(d, g, "kernel", 1, 15, &dc->kernel, err) || yaml_doc_int(d, g, "sn_iters", 0, 100, &dc->sn_iters, err) ||
        read_scales(d, g, dc, err))
        return -1;
    if (dc->kernel % 2 == 0) {
        yaml_doc_error(d, yaml_doc_get(d, g, "kernel"), err, "kernel: must be odd, got %d", dc->kernel);
        return -1;
    }
    if (gc->tau_min > gc->tau) {
        yaml_doc_error(d, g, err, "gan: tau_min (%g) exceeds tau (%g)", gc->tau_min, gc->tau);
        return -1;
    }
    gc->tau_anneal_steps = (long)anneal;
    gc->start_step = (long)start;
    return 0;
}

/* Apply every key present in one file on top of cfg. */
static int apply_file(train_config *cfg, const char *path, char err[AURL_ERR_LEN])
{
    yaml_doc d;
    if (yaml_doc_load(&d, path, err) != 0) return -1;
    yaml_node_t *root = yaml_doc_root(&d), *model, *data, *training, *aug, *vae, *gan;
    long long seed = (long long)cfg->seed;
    int rc = -1;
    if (yaml_doc_check_keys(&d, root, TOP_KEYS, err) || yaml_doc_int(&d, root, "stage", 1, 3, &cfg->stage, err) ||
        yaml_doc_string(&d, root, "name", cfg->name, sizeof cfg->name, err) ||
        yaml_doc_string(&d, root, "mode", cfg->mode, sizeof cfg->mode, err) ||
        yaml_doc_map(&d, root, "model", &model, err) || yaml_doc_map(&d, root, "data", &data, err) ||
        yaml_doc_map(&d, root, "training", &training, err) || yaml_doc_map(&d, root, "augmentation", &aug, err) ||
        model_yaml_apply(&d, model, 1, &cfg->model, err) || yaml_doc_check_keys(&d, data, DATA_KEYS, err) ||
        yaml_doc_int(&d, data, "seq_len", 2, 65536, &cfg->seq_len, err) ||
        yaml_doc_int(&d, data, "stride", 1, 65536, &cfg->stride, err) ||
        yaml_doc_bool(&d, data, "augment", &cfg->augment, err) ||
        yaml_doc_i64(&d, data, "subset", 0, 1000000000000LL, &cfg->subset, err) || read_augmentation(&d, aug, &cfg->aug, err) ||
        yaml_doc_check_keys(&d, training, TRAIN_KEYS, err) ||
        yaml_doc_int(&d, training, "batch_size", 1, 4096, &cfg->batch_size, err) ||
        yaml_doc_int(&d, training, "accumulate", 1, 4096, &cfg->accumulate, err) ||
        yaml_doc_int(&d, training, "epochs", 1, 100000, &cfg->epochs, err) ||
        yaml_doc_i64(&d, training, "max_steps", 0, 1000000000000LL, &cfg->max_steps, err) ||
        yaml_doc_double(&d, training, "lr", 1e-9, 10, &cfg->lr, err) ||
        yaml_doc_double(&d, training, "min_lr", 0, 10, &cfg->min_lr, err) ||
        yaml_doc_int(&d, training, "warmup_steps", 0, 100000000, &cfg->warmup_steps, err) ||
        yaml_doc_double(&d, training, "weight_decay", 0, 10, &cfg->weight_decay, err) ||
        yaml_doc_double(&d, training, "beta1", 0, 0.999999, &cfg->beta1, err) ||
        yaml_doc_double(&d, training, "beta2", 0, 0.999999, &cfg->beta2, err) ||
        yaml_doc_double(&d, training, "eps", 1e-12, 1, &cfg->eps, err) ||
        yaml_doc_double(&d, training, "grad_clip", 0, 1e6, &cfg->grad_clip, err) ||
        yaml_doc_int(&d, training, "eval_every", 0, 100000000, &cfg->eval_every, err) ||
        yaml_doc_int(&d, training, "eval_batches", 0, 100000000, &cfg->eval_batches, err) ||
        yaml_doc_int(&d, training, "patience", 0, 1000000, &cfg->patience, err) ||
        yaml_doc_double(&d, training, "min_delta", 0, 100, &cfg->min_delta, err) ||
        yaml_doc_int(&d, training, "checkpoint_every", 1, 100000000, &cfg->checkpoint_every, err) ||
        yaml_doc_int(&d, training, "keep_checkpoints", 0, 1000, &cfg->keep_checkpoints, err) ||
        yaml_doc_int(&d, training, "log_every", 1, 100000000, &cfg->log_every, err) ||
        yaml_doc_int(&d, training, "sample_every", -1, 100000000, &cfg->sample_every, err) ||
        yaml_doc_double(&d, training, "sample_seconds", 1, 600, &cfg->sample_seconds, err) ||
        yaml_doc_i64(&d, training, "seed", 0, 9223372036854775807LL, &seed, err) ||
        yaml_doc_bool(&d, training, "init_from_previous", &cfg->init_from_previous, err) ||
        yaml_doc_map(&d, root, "vae", &vae, err) || read_vae(&d, vae, &cfg->vae, err) ||
        yaml_doc_map(&d, root, "gan", &gan, err) || read_gan(&d, gan, &cfg->disc, &cfg->gan, err))
        goto done;
    cfg->seed = (uint64_t)seed;
    if (strcmp(cfg->mode, "transformer") && !train_config_is_vae(cfg)) {
        yaml_doc_error(&d, yaml_doc_get(&d, root, "mode"), err, "mode: expected transformer or vae_gan (or vae), got '%s'",
                       cfg->mode);
        goto done;
    }
    rc = 0;
done:
    yaml_doc_free(&d);
    return rc;
}

int train_config_load(train_config *cfg, const char *stage_path, const char *profile_path, char err[AURL_ERR_LEN])
{
    train_config_defaults(cfg);
    if (stage_path && apply_file(cfg, stage_path, err)) return -1;
    if (profile_path && apply_file(cfg, profile_path, err)) return -1;
    const char *where = profile_path ? profile_path : stage_path ? stage_path : "built-in config";
    char msg[AURL_ERR_LEN];
    if (cfg->model.vocab_size != TOK_VOCAB_SIZE) {
        snprintf(err, AURL_ERR_LEN, "%s: model.vocab_size must be %d (token vocabulary v%d)", where, TOK_VOCAB_SIZE,
                 TOK_VERSION);
        return -1;
    }
    if (model_config_validate(&cfg->model, msg) != 0) {
        snprintf(err, AURL_ERR_LEN, "%s: model: %s", where, msg);
        return -1;
    }
    if (cfg->seq_len > cfg->model.max_seq_len) {
        snprintf(err, AURL_ERR_LEN, "%s: data.seq_len (%d) exceeds model.max_seq_len (%d)", where, cfg->seq_len,
                 cfg->model.max_seq_len);
        return -1;
    }
    if (cfg->min_lr > cfg->lr) {
        snprintf(err, AURL_ERR_LEN, "%s: training.min_lr (%g) exceeds training.lr (%g)", where, cfg->min_lr, cfg->lr);
        return -1;
    }
    cfg->disc.vocab = cfg->model.vocab_size;
    cfg->gan.use_gan = !strcmp(cfg->mode, "vae_gan");
    if (train_config_is_vae(cfg) &&
        (vae_config_validate(&cfg->vae, &cfg->model, cfg->seq_len, msg) != 0 ||
         (cfg->gan.use_gan && disc_config_validate(&cfg->disc, msg) != 0) || vaegan_config_validate(&cfg->gan, msg) != 0)) {
        snprintf(err, AURL_ERR_LEN, "%s: %s", where, msg);
        return -1;
    }
    return 0;
}

int train_config_check_parallel(const train_config *cfg, int ranks, const char *where, char err[AURL_ERR_LEN])
{
    long long parts = (long long)ranks * cfg->accumulate;
    if (cfg->batch_size % parts != 0) {
        snprintf(err, AURL_ERR_LEN,
                 "%s: training.batch_size (%d) must divide by ranks x training.accumulate (%d x %d = %lld)", where,
                 cfg->batch_size, ranks, cfg->accumulate, parts);
        return -1;
    }
    return 0;
}

static uint64_t mix_i(uint64_t h, long long v) { return hash_fnv1a64(&v, sizeof v, h); }
static uint64_t mix_d(uint64_t h, double v) { return hash_fnv1a64(&v, sizeof v, h); }
static uint64_t mix_s(uint64_t h, const char *s) { return hash_fnv1a64(s, strlen(s) + 1, h); }

void train_config_hash(const train_config *cfg, char out[32])
{
    /* Field by field: struct padding is not stable enough to hash. Only what
     * decides the weights step by step counts: the stage's length (epochs,
     * max_steps) and bookkeeping (evaluation, checkpoints, logging, early
     * stopping) may change between runs, so `--epochs N` extends a stage
     * that is under way instead of starting it again. */
    const model_config *m = &cfg->model;
    const augment_config *a = &cfg->aug;
    uint64_t h = HASH_FNV_SEED;
    h = mix_s(mix_s(mix_i(h, cfg->stage), cfg->name), cfg->mode);
    long long ints[] = {m->vocab_size, m->d_model, m->n_layers, m->n_heads, m->d_ff, m->max_seq_len,
                        m->attn.kind, m->attn.window, m->attn.stride, m->positions, cfg->seq_len, cfg->stride,
                        cfg->augment, a->transpose_max, cfg->batch_size, cfg->warmup_steps, (long long)cfg->seed,
                        cfg->init_from_previous, cfg->subset};
    double reals[] = {m->dropout, a->transpose_p, a->stretch_p, a->stretch_min, a->stretch_max, a->velocity_p,
                      a->velocity_min, a->velocity_max, a->instrument_p, a->rhythm_p, a->swing_max, a->humanize_ms,
                      cfg->lr, cfg->min_lr, cfg->weight_decay, cfg->beta1, cfg->beta2, cfg->eps, cfg->grad_clip};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) h = mix_i(h, ints[i]);
    if (model_vocab(m) != TOK_VOCAB_V1) h = mix_i(h, model_vocab(m)); /* v1 runs keep their hashes */
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) h = mix_d(h, reals[i]);
    if (train_config_is_vae(cfg)) { /* stage-3 settings only where they are used */
        const vae_config *v = &cfg->vae;
        const disc_config *dc = &cfg->disc;
        const vaegan_config *g = &cfg->gan;
        long long vi[] = {v->enc_layers, v->latent_dim[0], v->latent_dim[1], v->latent_dim[2], v->n_segments[0],
                          v->n_segments[1], v->n_segments[2], v->beta.kind, v->beta.warmup_steps, v->beta.cycle_steps,
                          dc->embed, dc->hidden, dc->n_layers, dc->kernel, dc->n_scales, dc->scales[0], dc->scales[1],
                          dc->scales[2], dc->scales[3], dc->sn_iters, dc->n_critic, dc->loss, g->use_gan,
                          g->tau_anneal_steps, g->start_step};
        double vr[] = {v->beta.beta_max, v->free_bits, dc->lr, dc->beta1, dc->beta2, dc->weight_decay, dc->leaky,
                       g->tau, g->tau_min, g->adv_weight, g->adv_weight_max, g->fm_weight};
        for (size_t i = 0; i < sizeof vi / sizeof vi[0]; i++) h = mix_i(h, vi[i]);
        for (size_t i = 0; i < sizeof vr / sizeof vr[0]; i++) h = mix_d(h, vr[i]);
    }
    snprintf(out, 32, "%016llx", (unsigned long long)h);
}

void train_config_find_dir(const char *exe_path, char *out, size_t len)
{
    snprintf(out, len, "configs");
    if (file_is_dir("configs/stages")) return;
    char exe[4096];
    if (!exe_path) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) return;
        exe[n] = 0;
    } else {
        snprintf(exe, sizeof exe, "%s", exe_path);
    }
    char *slash = strrchr(exe, '/');
    if (!slash) return;
    *slash = 0;
    char stages[4200];
    snprintf(stages, sizeof stages, "%s/configs/stages", exe);
    if (file_is_dir(stages)) snprintf(out, len, "%s/configs", exe);
}
