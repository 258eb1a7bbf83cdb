/* train_state: outputs/training_state.json — where a training run is, so
 * `aurl train` resumes and `aurl status`/the TUI can report it. Written
 * atomically (temp, fsync, rename); a damaged file is reported by name and
 * moved aside (renamed *.corrupt-<time>), never silently overwritten. */
#ifndef AURL_TRAIN_STATE_H
#define AURL_TRAIN_STATE_H

#include <stdint.h>

#include "util/fileio.h"

/* Where a stage stands; the numbers are what training_state.json stores. */
typedef enum {
    STAGE_NOT_STARTED = 0,
    STAGE_PARTIAL = 1,  /* running, stopped or interrupted: resumable */
    STAGE_COMPLETE = 2
} stage_status;

#define TRAIN_MAX_STAGES 3

typedef struct {
    stage_status status;
    int epoch;               /* current epoch (0-based) */
    int64_t step;            /* optimiser steps done in this stage */
    int64_t total_steps;     /* planned steps for this stage (for ETA) */
    double best_val_loss;    /* +inf (written as null) if none yet */
    int64_t best_step;
    int evals_since_best;    /* evaluations since the best one (early-stopping patience) */
    int stopped_early;       /* 1 if the stage ended by early stopping */
    char best_checkpoint[512]; /* path relative to outputs dir, "" if none */
    char last_checkpoint[512];
    char config_path[512];
    char config_hash[32];    /* hex FNV of the config text */
    double started_at;       /* unix time, 0 if not started */
    double updated_at;
    double finished_at;
} train_stage_state;

typedef struct {
    int version;             /* 1 */
    int current_stage;       /* 1..3 */
    train_stage_state stages[TRAIN_MAX_STAGES];
    int trainer_pid;         /* last pid (informational; the lock file is authoritative) */
    char profile[64];
    int ranks;               /* data-parallel ranks of the latest run (1: one process) */
} train_state;

/* Fresh state: stage 1, nothing done. */
void train_state_init(train_state *st);
/* Load PATH. Returns 1 if loaded, 0 if the file does not exist (st is
 * initialised), -1 if it is damaged (err names the file and problem; the
 * file is moved aside to PATH.corrupt-<unixtime>; st initialised). */
int train_state_load(const char *path, train_state *st, char err[AURL_ERR_LEN]);
/* For viewers (status, the TUI, checkpoint lookup): like train_state_load
 * but a damaged file is only reported, never moved (the trainer owns it). */
int train_state_read(const char *path, train_state *st, char err[AURL_ERR_LEN]);
/* Atomic write. 0 or -1. */
int train_state_save(const char *path, const train_state *st, char err[AURL_ERR_LEN]);
/* JSON text (malloc'd) of the state, as saved; for `aurl status --json`.
 * NULL if out of memory. */
char *train_state_to_json(const train_state *st);
#endif
