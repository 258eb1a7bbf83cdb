/* train_config: stage + profile YAML -> train_config, with validation. */
#include "engine/train_config.h"

#include <stdio.h>
#include <string.h>

#include "data/tokenizer.h"
#include "engine/model_yaml.h"
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
        .dropout = 0.1f, .learned_pos = 1};
    cfg->seq_len = 512;
    cfg->stride = 256;
    cfg->augment = 0;
    augment_config_none(&cfg->aug);
    cfg->batch_size = 8;
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
    cfg->seed = 1234;
    cfg->init_from_previous = 1;
}

static const char *const TOP_KEYS[] = {"stage", "name", "mode", "model", "data", "augmentation", "training", NULL};
static const char *const DATA_KEYS[] = {"seq_len", "stride", "augment", "subset", NULL};
static const char *const TRAIN_KEYS[] = {"batch_size", "epochs", "max_steps", "lr", "min_lr", "warmup_steps",
                                         "weight_decay", "beta1", "beta2", "eps", "grad_clip", "eval_every",
                                         "eval_batches", "patience", "min_delta", "checkpoint_every", "keep_checkpoints", "log_every",
                                         "seed", "init_from_previous", NULL};
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

/* Apply every key present in one file on top of cfg. */
static int apply_file(train_config *cfg, const char *path, char err[AURL_ERR_LEN])
{
    yaml_doc d;
    if (yaml_doc_load(&d, path, err) != 0) return -1;
    yaml_node_t *root = yaml_doc_root(&d), *model, *data, *training, *aug;
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
        yaml_doc_i64(&d, training, "seed", 0, 9223372036854775807LL, &seed, err) ||
        yaml_doc_bool(&d, training, "init_from_previous", &cfg->init_from_previous, err))
        goto done;
    cfg->seed = (uint64_t)seed;
    if (strcmp(cfg->mode, "transformer") && strcmp(cfg->mode, "vae_gan")) {
        yaml_doc_error(&d, yaml_doc_get(&d, root, "mode"), err, "mode: expected transformer or vae_gan, got '%s'",
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
    return 0;
}

static uint64_t mix_i(uint64_t h, long long v) { return hash_fnv1a64(&v, sizeof v, h); }
static uint64_t mix_d(uint64_t h, double v) { return hash_fnv1a64(&v, sizeof v, h); }
static uint64_t mix_s(uint64_t h, const char *s) { return hash_fnv1a64(s, strlen(s) + 1, h); }

void train_config_hash(const train_config *cfg, char out[32])
{
    /* Field by field: struct padding is not stable enough to hash. */
    const model_config *m = &cfg->model;
    const augment_config *a = &cfg->aug;
    uint64_t h = HASH_FNV_SEED;
    h = mix_s(mix_s(mix_i(h, cfg->stage), cfg->name), cfg->mode);
    long long ints[] = {m->vocab_size, m->d_model, m->n_layers, m->n_heads, m->d_ff, m->max_seq_len,
                        m->attn.kind, m->attn.window, m->attn.stride, m->learned_pos, cfg->seq_len, cfg->stride,
                        cfg->augment, a->transpose_max, cfg->batch_size, cfg->epochs, cfg->max_steps,
                        cfg->warmup_steps, cfg->eval_every, cfg->eval_batches, cfg->checkpoint_every,
                        cfg->keep_checkpoints, cfg->log_every, (long long)cfg->seed, cfg->init_from_previous,
                        cfg->subset, cfg->patience};
    double reals[] = {m->dropout, a->transpose_p, a->stretch_p, a->stretch_min, a->stretch_max, a->velocity_p,
                      a->velocity_min, a->velocity_max, a->instrument_p, a->rhythm_p, a->swing_max, a->humanize_ms,
                      cfg->lr, cfg->min_lr, cfg->weight_decay, cfg->beta1, cfg->beta2, cfg->eps, cfg->grad_clip,
                      cfg->min_delta};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) h = mix_i(h, ints[i]);
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) h = mix_d(h, reals[i]);
    snprintf(out, 32, "%016llx", (unsigned long long)h);
}
