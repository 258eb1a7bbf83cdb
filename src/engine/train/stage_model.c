/* stage_model: the trainer's model interface (see stage_model.h). */
#include "engine/train/stage_model.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "data/cache.h"
#include "data/dataset.h"
#include "data/tokenizer.h"
#include "engine/model/checkpoint.h"
#include "engine/model/model_ckpt.h"
#include "engine/model/transformer.h"
#include "engine/model/vaegan.h"
#include "engine/nn/loss.h"
#include "util/clock.h"
#include "util/dist.h"
#include "util/fileio.h"
#include "util/hash.h"
#include "util/json_num.h"
#include "util/log.h"

/* ---- the model interface: one switch per operation ---------------------- */

/* Build the stage's model for B x T with the optimiser settings AC. */
int stage_model_build(stage_run *r, const adamw_config *ac, char err[AURL_ERR_LEN])
{
    const train_config *c = r->cfg;
    if (!train_config_is_vae(c)) {
        if (transformer_create(&r->model, &c->model, r->model_b, c->seq_len, c->seed, err) != 0) return -1;
        adamw_init(&r->opt, ac);
        return 0;
    }
    vaegan_config gc = c->gan;
    gc.opt = *ac;
    if (vaegan_create(&r->vg, &c->model, &c->vae, &c->disc, &gc, r->model_b, c->seq_len, c->seed, err) != 0)
        return -1;
    vaegan_split sp = {r->rank, r->ranks, r->parallel ? c->accumulate : 1, r->model_b};
    return vaegan_set_split(r->vg, &sp, err);
}

void stage_model_free(stage_run *r)
{
    transformer_free(r->model);
    vaegan_free(r->vg);
    r->model = NULL;
    r->vg = NULL;
}

/* The transformer whose logits the evaluation reads (the VAE's decoder). */
transformer *stage_model_logits_source(stage_run *r) { return r->vg ? vaegan_decoder(r->vg) : r->model; }

int stage_model_save(stage_run *r, const char *path, const cJSON *meta, char err[AURL_ERR_LEN])
{
    return r->vg ? vaegan_save(path, r->vg, meta, err) : model_ckpt_save(path, r->model, &r->opt, meta, err);
}

int stage_model_load(stage_run *r, const char *path, int with_optimizer, cJSON **meta, char err[AURL_ERR_LEN])
{
    return r->vg ? vaegan_load(path, r->vg, with_optimizer, meta, err)
                 : model_ckpt_load(path, r->model, with_optimizer ? &r->opt : NULL, meta, err);
}

/* Start from the previous stage's weights: all of them (transformer), or
 * the decoder only (vaegan: encoder, latent heads and D stay fresh). */
int stage_model_init_from(stage_run *r, const char *path, char err[AURL_ERR_LEN])
{
    return r->vg ? vaegan_load_decoder_from(r->vg, path, err) : model_ckpt_load(path, r->model, NULL, NULL, err);
}

size_t stage_model_n_params(const stage_run *r)
{
    return r->vg ? vaegan_n_params_vae(r->vg) + vaegan_n_params_disc(r->vg) : transformer_n_params(r->model);
}


/* The data-parallel (or accumulated) transformer step. 0 or -1 (logged). */
static int stage_model_train_step_dp(stage_run *r, long long step, uint64_t epoch, size_t batch, step_result *o)
{
    const train_config *c = r->cfg;
    char err[AURL_ERR_LEN];
    train_dp_result d;
    const augment_config *aug = c->augment ? &c->aug : NULL;
    if (train_dp_step(&r->dp, r->model, &r->opt, r->train, aug, c->seed, epoch, batch, step, r->inputs, r->targets,
                      &d, err, sizeof err) != 0) {
        log_error("%s", err);
        return -1;
    }
    o->loss = d.loss;
    o->skipped = d.skipped;
    o->lr_mult = d.lr_mult;
    o->tokens = (int)d.tokens;
    const char *names[] = {"loss", "lr", "grad_norm"};
    double vals[] = {d.loss, d.lr, d.grad_norm};
    for (o->n = 0; o->n < 3; o->n++) o->names[o->n] = names[o->n], o->vals[o->n] = vals[o->n];
    return 0;
}

/* The vaegan's step: this rank's micro-batches of the step's global batch
 * (all of it on one process without accumulation). 0 or -1 (logged). */
static int stage_model_train_step_vaegan(stage_run *r, long long step, uint64_t epoch, size_t batch, step_result *o)
{
    const train_config *c = r->cfg;
    const augment_config *aug = c->augment ? &c->aug : NULL;
    int M = r->parallel ? c->accumulate : 1, b = r->model_b, T = c->seq_len;
    for (int j = 0; j < M; j++) {
        size_t index = r->parallel ? train_dp_micro_index(&r->dp, batch, r->rank * M + j) : batch;
        size_t off = (size_t)j * b * T;
        dataset_get_batch(r->train, b, c->seed, epoch, index, 1, aug, r->inputs + off, r->targets + off);
    }
    vaegan_metrics mt;
    char err[AURL_ERR_LEN];
    int rc = vaegan_train_step_split(r->vg, r->inputs, r->targets, T, (long)step, c->seed, &mt, err, sizeof err);
    if (rc < 0) {
        log_error("%s", err);
        return -1;
    }
    o->loss = mt.loss;
    o->skipped = rc != 0;
    o->lr_mult = vaegan_opt(r->vg)->lr_mult;
    o->tokens = mt.tokens;
    o->n = vaegan_metrics_list(&mt, o->names, o->vals, STEP_MAX_METRICS);
    return 0;
}

/* One optimiser step on batch BATCH of EPOCH. 0 or -1 (a collective failed). */
int stage_model_train_step(stage_run *r, long long step, uint64_t epoch, size_t batch, step_result *o)
{
    const train_config *c = r->cfg;
    int B = c->batch_size, T = c->seq_len;
    memset(o, 0, sizeof *o);
    if (r->vg) return stage_model_train_step_vaegan(r, step, epoch, batch, o);
    if (r->parallel) return stage_model_train_step_dp(r, step, epoch, batch, o);
    dataset_get_batch(r->train, B, c->seed, epoch, batch, 1, c->augment ? &c->aug : NULL, r->inputs, r->targets);
    uint64_t dropout_seed = train_dp_dropout_seed(c->seed, step, 0);
    float loss = transformer_forward(r->model, r->inputs, r->targets, B, T, 1, dropout_seed);
    transformer_backward(r->model);
    adamw_result res = transformer_step(r->model, &r->opt, loss);
    o->loss = loss;
    o->skipped = res.skipped;
    o->lr_mult = res.lr_mult;
    o->tokens = transformer_target_count(r->model);
    const char *names[] = {"loss", "lr", "grad_norm"};
    double vals[] = {loss, res.lr, res.grad_norm};
    for (o->n = 0; o->n < 3; o->n++) o->names[o->n] = names[o->n], o->vals[o->n] = vals[o->n];
    return 0;
}

int stage_model_sync(stage_run *r)
{
    char err[AURL_ERR_LEN];
    if (!r->vg) return train_dp_sync(r->model, &r->opt, r->ss, sizeof *r->ss);
    if (dist_broadcast(r->ss, sizeof *r->ss, 0, err, sizeof err) != 0 || vaegan_broadcast(r->vg, err, sizeof err) != 0) {
        log_error("%s", err);
        return -1;
    }
    return 0;
}

uint64_t stage_model_param_hash(stage_run *r)
{
    if (r->vg) return vaegan_param_hash(r->vg);
    return hash_fnv1a64(transformer_params(r->model), transformer_n_params(r->model) * sizeof(float), HASH_FNV_SEED);
}

/* Loss of one validation batch (mean over its non-PAD targets: the
 * transformer's cross-entropy; the vaegan's recon + KL/T, see vaegan.h),
 * its target count, and the vaegan's recon and KL (nats per window). */
double stage_model_eval_batch(stage_run *r, int *count, double *recon, double *kl)
{
    const train_config *c = r->cfg;
    int B = r->model_b, T = c->seq_len;
    if (r->vg) return vaegan_eval(r->vg, r->inputs, r->targets, B, T, recon, kl, count);
    float loss = transformer_forward(r->model, r->inputs, r->targets, B, T, 0, 0);
    *count = transformer_target_count(r->model);
    *recon = loss;
    *kl = 0;
    return loss;
}
