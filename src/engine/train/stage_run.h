/* stage_run: the state of one training stage while it runs, shared by the
 * trainer's loop (trainer.c), its model interface (stage_model) and its
 * checkpoints and resume (stage_ckpt). Internal to engine/train. */
#ifndef AURL_STAGE_RUN_H
#define AURL_STAGE_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "engine/model/transformer.h"
#include "engine/model/vaegan.h"
#include "engine/nn/adamw.h"
#include "engine/train/metrics.h"
#include "engine/train/train_config.h"
#include "engine/train/train_state.h"
#include "engine/train/train_step.h"
#include "engine/train/trainer.h"

typedef struct {
    const trainer_opts *opts;
    const train_config *cfg;
    train_state *state;
    train_stage_state *ss;
    const char *state_path;
    /* the model: a transformer with its optimiser (mode transformer) or a
     * vaegan (modes vae / vae_gan, owning its optimisers); the stage_model_*
     * functions (stage_model) are the only places that look at which */
    transformer *model;
    adamw opt;
    vaegan *vg;
    dataset *train, *val;
    metrics *met;
    int32_t *inputs, *targets;
    size_t batches_per_epoch;
    long long total_steps;
    double unigram_entropy; /* nats/token of the training split */
    /* this process's session on the stage: throughput and ETA */
    long long start_step;     /* the step it started (or resumed) at */
    double started;           /* clock_monotonic() then */
    double window_start;      /* start of the current throughput window */
    long long window_tokens, window_steps;
    double window_comm;       /* dist_comm_seconds() at the window's start */
    float last_loss;          /* of the latest step */
    /* data parallelism (dist.h): ranks x accumulate micro-batches per step */
    int rank, ranks;
    int parallel;             /* 1: steps go through train_dp_step */
    int model_b;              /* windows per forward: micro_b when parallel, else batch_size */
    train_dp dp;
} stage_run;
#endif
