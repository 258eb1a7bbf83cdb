/* trainer: the headless training engine behind `aurl train` (docs/DESIGN.md §3,
 * §9). Runs the stages from where training_state.json says (or one stage),
 * owns the outputs directory (lock, state, checkpoints, logs, metrics), and
 * resumes a stopped run exactly: model, optimiser, schedule and data
 * position all come back from the checkpoint. SIGINT/SIGTERM finish the
 * current step, checkpoint and return 0; SIGUSR1 checkpoints now. */
#ifndef AURL_TRAINER_H
#define AURL_TRAINER_H

#include <stddef.h>

#include "data/cache.h"

/* What the trainer reports to trainer_opts.on_progress. */
typedef enum {
    TRAIN_PROGRESS_STEP, /* a train record was written (every log_every steps): the fields below */
    TRAIN_PROGRESS_BREAK /* the trainer is about to log (evaluation, stop, end of stage): a progress
                            line drawn in place should end first; no other field is set */
} train_progress_kind;

typedef struct {
    train_progress_kind kind;
    int stage;             /* 1..TRAIN_MAX_STAGES */
    int epoch;             /* 1-based */
    long long step;        /* optimiser steps done in the stage */
    long long total_steps; /* planned steps of the stage */
    double loss;           /* training loss of the latest step */
    double best_val_loss;  /* best validation loss so far; not finite if none yet */
    double tokens_per_s;   /* since the previous report */
    double eta_seconds;    /* the steps left at this run's rate; 0 if not known yet */
} train_progress;

/* Called on the training thread; USER is trainer_opts.progress_user. */
typedef void (*train_progress_fn)(const train_progress *p, void *user);

typedef struct {
    const char *outputs_dir;
    const char *data_dir;
    const char *configs_dir; /* holds stages/ and profiles/ */
    const char *profile;     /* profile name (configs/profiles/NAME.yaml) or NULL */
    const char *config_file; /* explicit stage config (runs that stage only) or NULL */
    int only_stage;          /* 1..3: run just this stage; 0: resume through all */
    int epochs;              /* > 0 overrides every stage's epochs */
    long long max_steps;     /* > 0 overrides every stage's max_steps */
    int jobs;                /* cache build workers (0: cores) */
    /* Reports (each may be NULL; the trainer itself prints nothing but its
     * log messages): training progress, and the token cache's build. */
    train_progress_fn on_progress;
    cache_progress_fn on_cache_progress;
    void *progress_user;     /* passed to both */
} trainer_opts;

/* Run training. Returns the process exit code: AURL_EXIT_OK done or
 * stopped cleanly, AURL_EXIT_RUNTIME runtime failure, AURL_EXIT_USAGE bad
 * configuration or input. */
int trainer_run(const trainer_opts *opts);

/* Locate the config for STAGE under configs_dir/stages (stage<N>_*.yaml).
 * 0 or -1 (err set). */
int trainer_stage_config_path(const char *configs_dir, int stage, char *out, size_t out_len, char *err,
                              size_t err_len);
#endif
