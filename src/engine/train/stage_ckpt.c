/* stage_ckpt: training state, checkpoints and resume of a stage (see stage_ckpt.h). */
#include "engine/train/stage_ckpt.h"

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
#include "util/json_num.h"
#include "util/log.h"
#include "engine/train/stage_model.h"



void stage_ckpt_path(const stage_run *r, const char *kind, char *out, size_t len)
{
    snprintf(out, len, "%s/checkpoints/stage%d_%s.ckpt", r->opts->outputs_dir, r->cfg->stage, kind);
}

/* Relative to the outputs dir, as the state file stores it. */
const char *stage_relative_path(const stage_run *r, const char *path)
{
    size_t n = strlen(r->opts->outputs_dir);
    if (!strncmp(path, r->opts->outputs_dir, n) && path[n] == '/') return path + n + 1;
    return path;
}

int stage_save_state(stage_run *r)
{
    char err[AURL_ERR_LEN];
    if (r->rank != 0) return 0; /* rank 0 alone writes the outputs */
    r->ss->updated_at = time(NULL);
    r->state->trainer_pid = getpid();
    if (train_state_save(r->state_path, r->state, err) != 0) {
        log_error("%s", err);
        return -1;
    }
    return 0;
}

/* Write a checkpoint of the model, optimiser and position at the current step. */
int stage_save_checkpoint(stage_run *r, const char *path, double val_loss)
{
    char err[AURL_ERR_LEN];
    if (r->rank != 0) return 0;
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddNumberToObject(meta, "stage", r->cfg->stage);
    cJSON_AddNumberToObject(meta, "step", (double)r->ss->step);
    cJSON_AddNumberToObject(meta, "epoch", r->ss->epoch);
    cJSON_AddStringToObject(meta, "config_hash", r->ss->config_hash);
    cJSON_AddNumberToObject(meta, "seed", (double)r->cfg->seed);
    if (isfinite(val_loss)) cJSON_AddNumberToObject(meta, "val_loss", val_loss);
    int rc = stage_model_save(r, path, meta, err);
    if (rc != 0) log_error("%s", err);
    cJSON_Delete(meta);
    if (rc == 0 && r->met) {
        char note[256];
        snprintf(note, sizeof note, "checkpoint %s written", stage_relative_path(r, path));
        metrics_log(r->met, "event", r->ss->step, 0, NULL, NULL, note);
    }
    return rc;
}

/* Load model weights (and, if WITH_OPTIMIZER, moments and optimiser
 * counters) from PATH; *step_out gets the checkpoint's step. 0 or -1. */
int stage_load_checkpoint(stage_run *r, const char *path, int with_optimizer, long long *step_out,
                           char err[AURL_ERR_LEN])
{
    cJSON *meta;
    if (stage_model_load(r, path, with_optimizer, &meta, err) != 0) return -1;
    double step = json_num_field(meta, "step", -1);
    cJSON_Delete(meta);
    if (step_out) {
        if (!(step >= 0 && step < 1e15)) {
            errmsg_set(err, "%s: checkpoint has no valid step", path);
            return -1;
        }
        *step_out = (long long)step;
    }
    return 0;
}

/* Steps of this stage's numbered checkpoints (stageN_stepK.ckpt), up to
 * max of them, in no particular order. */
static int list_step_checkpoints(const stage_run *r, long long *steps, int max)
{
    char dir[4096], prefix[32];
    snprintf(dir, sizeof dir, "%s/checkpoints", r->opts->outputs_dir);
    snprintf(prefix, sizeof prefix, "stage%d_step", r->cfg->stage);
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        long long s;
        char tail[16];
        if (!strncmp(e->d_name, prefix, strlen(prefix)) &&
            sscanf(e->d_name + strlen(prefix), "%lld%15s", &s, tail) == 2 && !strcmp(tail, ".ckpt"))
            steps[n++] = s;
    }
    closedir(d);
    return n;
}

static void step_checkpoint_path(const stage_run *r, long long step, char *out, size_t len)
{
    char kind[48];
    snprintf(kind, sizeof kind, "step%lld", step);
    stage_ckpt_path(r, kind, out, len);
}

/* Delete step checkpoints of this stage beyond keep_checkpoints (oldest first). */
static void prune_step_checkpoints(stage_run *r)
{
    long long steps[1024];
    if (r->rank != 0) return;
    int n = list_step_checkpoints(r, steps, 1024);
    while (n > r->cfg->keep_checkpoints) {
        int oldest = 0;
        for (int i = 1; i < n; i++)
            if (steps[i] < steps[oldest]) oldest = i;
        char path[4096];
        step_checkpoint_path(r, steps[oldest], path, sizeof path);
        unlink(path);
        steps[oldest] = steps[--n];
    }
}

/* The periodic `last` checkpoint plus state; also a numbered copy. */
int stage_checkpoint_last(stage_run *r)
{
    char path[4096];
    stage_ckpt_path(r, "last", path, sizeof path);
    if (stage_save_checkpoint(r, path, NAN) != 0) return -1;
    snprintf(r->ss->last_checkpoint, sizeof r->ss->last_checkpoint, "%s", stage_relative_path(r, path));
    if (r->cfg->keep_checkpoints > 0) {
        char step_path[4096];
        step_checkpoint_path(r, r->ss->step, step_path, sizeof step_path);
        if (stage_save_checkpoint(r, step_path, NAN) == 0) prune_step_checkpoints(r);
    }
    return stage_save_state(r);
}

/* Resume from the stage's `last` checkpoint or, if that is damaged, from
 * the newest numbered one that loads. 0 if resumed, -1 if none could be. */
static int resume_from_checkpoints(stage_run *r)
{
    char err[AURL_ERR_LEN], path[4096];
    long long steps[1024];
    int n = list_step_checkpoints(r, steps, 1024);
    for (int attempt = -1; attempt < n; attempt++) {
        if (attempt < 0) {
            snprintf(path, sizeof path, "%s/%s", r->opts->outputs_dir, r->ss->last_checkpoint);
        } else {
            int newest = attempt; /* selection: newest remaining first */
            for (int i = attempt + 1; i < n; i++)
                if (steps[i] > steps[newest]) newest = i;
            long long t = steps[attempt];
            steps[attempt] = steps[newest];
            steps[newest] = t;
            step_checkpoint_path(r, steps[attempt], path, sizeof path);
        }
        long long step;
        if (stage_load_checkpoint(r, path, 1, &step, err) == 0 && step >= 0) {
            r->ss->step = step;
            log_info("stage %d: resuming at step %lld from %s", r->cfg->stage, step, path);
            return 0;
        }
        log_warn("%s", err);
    }
    log_warn("stage %d: no usable checkpoint; starting the stage again", r->cfg->stage);
    return -1;
}

/* Read the step, validation loss (NAN if none) and config hash from a
 * checkpoint's header without loading its tensors. 0 or -1. */
static int read_checkpoint_meta(const char *path, long long *step, double *val_loss, char hash[32])
{
    char err[AURL_ERR_LEN];
    ckpt_file *f;
    if (ckpt_open(path, &f, err) != 0) return -1;
    cJSON *h = cJSON_Parse(ckpt_header_json(f));
    ckpt_close(f);
    double s = json_num_field(h, "step", -1);
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(h, "config_hash");
    int ok = h && s >= 0 && s < 1e15 && cJSON_IsString(ch) && strlen(ch->valuestring) < 32;
    if (ok) {
        *step = (long long)s;
        *val_loss = json_num_field(h, "val_loss", NAN);
        snprintf(hash, 32, "%s", ch->valuestring);
    }
    cJSON_Delete(h);
    return ok ? 0 : -1;
}

/* The state file has no record of this stage (it was damaged and moved
 * aside, or deleted) but the stage's checkpoints are still there for the
 * same configuration: rebuild the record from their headers so the run
 * resumes from them instead of overwriting them. 1 if recovered. */
static int recover_stage_from_checkpoints(stage_run *r, const char *hash)
{
    train_stage_state *ss = r->ss;
    char path[4096], ckhash[32];
    long long step;
    double val;
    stage_ckpt_path(r, "last", path, sizeof path);
    if (read_checkpoint_meta(path, &step, &val, ckhash) != 0 || strcmp(ckhash, hash) != 0) return 0;
    ss->status = STAGE_PARTIAL;
    ss->step = step;
    snprintf(ss->config_hash, sizeof ss->config_hash, "%s", hash);
    snprintf(ss->last_checkpoint, sizeof ss->last_checkpoint, "%s", stage_relative_path(r, path));
    stage_ckpt_path(r, "best", path, sizeof path);
    if (read_checkpoint_meta(path, &step, &val, ckhash) == 0 && strcmp(ckhash, hash) == 0 && isfinite(val)) {
        ss->best_val_loss = val;
        ss->best_step = step;
        snprintf(ss->best_checkpoint, sizeof ss->best_checkpoint, "%s", stage_relative_path(r, path));
    }
    log_warn("stage %d: the training state had no record of this stage; recovered it from its checkpoints "
             "(step %lld)", r->cfg->stage, (long long)ss->step);
    return 1;
}

/* Initialise weights: resume this stage, or start from the previous stage's
 * best, or from scratch. Returns 0 or -1. */
int stage_prepare_weights(stage_run *r, train_stage_state *prev)
{
    char err[AURL_ERR_LEN], path[4096];
    train_stage_state *ss = r->ss;
    char hash[32];
    train_config_hash(r->cfg, hash);
    if (ss->status == STAGE_NOT_STARTED && !ss->last_checkpoint[0]) {
        ss->best_val_loss = INFINITY;
        recover_stage_from_checkpoints(r, hash);
    }
    if (ss->status == STAGE_PARTIAL && ss->last_checkpoint[0]) {
        if (strcmp(hash, ss->config_hash) != 0) {
            log_warn("stage %d: its configuration changed since the last run; starting the stage again",
                     r->cfg->stage);
        } else {
            if (resume_from_checkpoints(r) == 0) return 0;
        }
    }
    /* fresh start of the stage */
    double keep_started = ss->started_at;
    memset(ss, 0, sizeof *ss);
    ss->best_val_loss = INFINITY;
    ss->started_at = keep_started ? keep_started : time(NULL);
    ss->status = STAGE_PARTIAL;
    snprintf(ss->config_hash, sizeof ss->config_hash, "%s", hash);
    if (r->cfg->init_from_previous && prev && prev->best_checkpoint[0]) {
        snprintf(path, sizeof path, "%s/%s", r->opts->outputs_dir, prev->best_checkpoint);
        if (stage_model_init_from(r, path, err) == 0)
            log_info("stage %d: starting from the previous stage's best weights (%s)%s", r->cfg->stage, path,
                     r->vg ? " for the decoder; encoder, latent heads and discriminator start fresh" : "");
        else
            log_warn("stage %d: cannot start from the previous stage (%s); starting from fresh weights",
                     r->cfg->stage, err);
    } else if (r->cfg->init_from_previous && prev) {
        log_warn("stage %d: stage %d has no best checkpoint yet; starting from fresh weights", r->cfg->stage,
                 r->cfg->stage - 1);
    }
    return 0;
}
