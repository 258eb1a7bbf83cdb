/* stage_model: the trainer's model interface, one switch per operation
 * between a transformer with its optimiser (mode transformer) and a vaegan
 * (modes vae / vae_gan, owning its optimisers): build, free, save, load,
 * initialise from the previous stage, count, train one step, evaluate one
 * batch, share rank 0's state with the other ranks, hash it for the replica
 * check. The only place that looks at which model a stage trains. */
#ifndef AURL_STAGE_MODEL_H
#define AURL_STAGE_MODEL_H

#include <cjson/cJSON.h>

#include "engine/train/stage_run.h"
#include "util/errmsg.h"

#define STEP_MAX_METRICS (VAEGAN_N_METRICS + 8)

/* What one training step reports: the train record's terms (before the
 * trainer's throughput fields), the loss, tokens and the NaN guard. */
typedef struct {
    float loss;
    int skipped;
    float lr_mult;
    int tokens;
    int n;
    const char *names[STEP_MAX_METRICS];
    double vals[STEP_MAX_METRICS];
} step_result;

/* Build the stage's model and optimiser(s) from r->cfg. 0 or -1 (err set). */
int stage_model_build(stage_run *r, const adamw_config *ac, char err[AURL_ERR_LEN]);
/* Free the model (NULL-safe). */
void stage_model_free(stage_run *r);
/* The transformer whose logits the stage trains (the vaegan's decoder). */
transformer *stage_model_logits_source(stage_run *r);
/* Save the model (and optimiser) with metadata META to PATH, atomically. 0 or -1. */
int stage_model_save(stage_run *r, const char *path, const cJSON *meta, char err[AURL_ERR_LEN]);
/* Load PATH into the model (optimiser too if WITH_OPTIMIZER); *meta (may be NULL) its metadata. 0 or -1. */
int stage_model_load(stage_run *r, const char *path, int with_optimizer, cJSON **meta, char err[AURL_ERR_LEN]);
/* Start from the previous stage's weights at PATH (vaegan: its decoder). 0 or -1. */
int stage_model_init_from(stage_run *r, const char *path, char err[AURL_ERR_LEN]);
/* Trainable parameters. */
size_t stage_model_n_params(const stage_run *r);
/* One optimiser step on batch BATCH of EPOCH (data-parallel or accumulated
 * when r->parallel); its record in *o. 0 or -1 (logged). */
int stage_model_train_step(stage_run *r, long long step, uint64_t epoch, size_t batch, step_result *o);
/* Every rank takes rank 0's stage record (r->ss), weights, moments and
 * optimiser state. 0 or -1 (logged). */
int stage_model_sync(stage_run *r);
/* A hash of the parameters (and the discriminator's spectral-norm state)
 * for the replica check. */
uint64_t stage_model_param_hash(stage_run *r);
/* The loss of the batch in r->inputs/targets without learning; *count
 * targets, *recon and *kl its parts (transformer: kl 0). */
double stage_model_eval_batch(stage_run *r, int *count, double *recon, double *kl);
#endif
