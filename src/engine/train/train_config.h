/* train_config: one training stage's settings — model, data windows,
 * optimiser, schedule, evaluation, checkpointing, augmentation — read from a
 * stage YAML (configs/stages/stageN_*.yaml) with an optional profile YAML
 * (configs/profiles/NAME.yaml) layered on top: a key in the profile
 * overrides the stage's. Every value is range-checked; errors name the file
 * and line:column. */
#ifndef AURL_TRAIN_CONFIG_H
#define AURL_TRAIN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "data/augment.h"
#include "engine/model/model_config.h"
#include "engine/model/vaegan.h"
#include "util/fileio.h"

typedef struct {
    int stage;               /* 1..3 */
    char name[64];           /* "base", "augmented", "advanced" */
    char mode[16];           /* "transformer", "vae_gan" or "vae" (VAE-GAN without the GAN) */
    model_config model;
    /* data */
    int seq_len;             /* T: windows of T+1 tokens */
    int stride;              /* window stride in tokens */
    long long subset;        /* > 0: train on this many windows only (a fixed, seeded choice) */
    int augment;             /* 0/1: use aug below */
    augment_config aug;
    /* optimisation */
    int batch_size;          /* the global batch: windows per optimiser step over all ranks */
    int accumulate;          /* micro-batches per rank per step (batch_size / (ranks x accumulate) windows each) */
    int epochs;
    long long max_steps;     /* > 0 caps the stage's steps */
    double lr, min_lr;
    int warmup_steps;
    double weight_decay, beta1, beta2, eps, grad_clip;
    /* evaluation and bookkeeping */
    int eval_every;          /* steps between validations (0: once per epoch) */
    int eval_batches;        /* validation batches per evaluation (0: all) */
    int patience;            /* early stop after this many evaluations without improvement (0: never) */
    double min_delta;        /* an evaluation improves when it beats the best by more than this */
    int checkpoint_every;    /* steps between `last` checkpoints */
    int keep_checkpoints;    /* step checkpoints kept besides best/last */
    int log_every;           /* steps between train metric records */
    int sample_every;        /* music samples (engine/train/train_sample): -1 at each validation (default),
                                0 never, N > 0 every N steps */
    double sample_seconds;   /* music per sample (default 8: 15 s cost >3% of a quick_test stage) */
    uint64_t seed;
    int init_from_previous;  /* start from the previous stage's best weights */
    /* stage 3 (modes vae / vae_gan): the `vae:` and `gan:` sections. They
     * are accepted (and validated for type/range) in every file, so one
     * profile can size all stages, but only used by vae / vae_gan stages;
     * gan.opt is not read from YAML (the trainer fills it from training). */
    vae_config vae;
    disc_config disc;
    vaegan_config gan;
} train_config;

/* 1 if cfg's mode is vae or vae_gan (the vaegan model). */
int train_config_is_vae(const train_config *cfg);

/* Built-in defaults (the reference stage-1 model). */
void train_config_defaults(train_config *cfg);
/* Defaults, then STAGE_PATH, then PROFILE_PATH (may be NULL). 0 or -1. */
int train_config_load(train_config *cfg, const char *stage_path, const char *profile_path,
                      char err[AURL_ERR_LEN]);
/* Check that the global batch splits over RANKS x accumulate micro-batches
 * (every mode does); the message names WHERE. 0 or -1. */
int train_config_check_parallel(const train_config *cfg, int ranks, const char *where, char err[AURL_ERR_LEN]);
/* FNV-1a hex digest of the settings that decide the weights (model, data,
 * augmentation, optimiser, seed; not the stage's length or bookkeeping), so
 * a stage resumes only under the configuration it started with. */
void train_config_hash(const train_config *cfg, char out[32]);

/* The configs directory (holding stages/ and profiles/) that `aurl train`
 * and the TUI use: ./configs when it has stages/, else configs/ beside the
 * executable EXE_PATH (NULL: this process's, /proc/self/exe) when that has
 * stages/, else "configs". Writes it to OUT (LEN bytes). */
void train_config_find_dir(const char *exe_path, char *out, size_t len);
#endif
