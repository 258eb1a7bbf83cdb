/* trainer: stage loop, evaluation, signals and progress (checkpoints and
 * resume: stage_ckpt; the model interface: stage_model)
 * for `aurl train`. The data order, dropout masks and augmentation are pure
 * functions of (seed, step), so resuming from a checkpoint at step k
 * replays exactly what an uninterrupted run would have done. */
#include "engine/train/trainer.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "data/cache.h"
#include "data/dataset.h"
#include "data/tokenizer.h"
#include "util/dist.h"
#include "engine/model/checkpoint.h"
#include "engine/train/metrics.h"
#include "engine/model/model_ckpt.h"
#include "engine/train/run_lock.h"
#include "engine/train/stage_ckpt.h"
#include "engine/train/stage_model.h"
#include "engine/train/train_config.h"
#include "engine/train/train_state.h"
#include "engine/train/train_sample.h"
#include "engine/train/train_step.h"
#include "engine/model/transformer.h"
#include "engine/model/vaegan.h"
#include "engine/nn/loss.h"
#include "util/clock.h"
#include "util/fileio.h"
#include "util/globals.h"
#include "util/json_num.h"
#include "util/log.h"

static volatile sig_atomic_t g_stop_requested;
static volatile sig_atomic_t g_checkpoint_requested;

static void on_stop_signal(int sig) { g_stop_requested = sig; }
static void on_checkpoint_signal(int sig) { g_checkpoint_requested = sig; }

static void install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_checkpoint_signal;
    sigaction(SIGUSR1, &sa, NULL);
    dist_watch_stop_flag((const volatile int *)&g_stop_requested);
}

int trainer_stage_config_path(const char *configs_dir, int stage, char *out, size_t out_len, char *err,
                              size_t err_len)
{
    char dir[4096], prefix[32];
    snprintf(dir, sizeof dir, "%s/stages", configs_dir);
    snprintf(prefix, sizeof prefix, "stage%d_", stage);
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, err_len, "%s: cannot open the stage configs directory", dir);
        return -1;
    }
    struct dirent *e;
    char best[256] = "";
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (!strncmp(e->d_name, prefix, strlen(prefix)) && n > 5 && !strcmp(e->d_name + n - 5, ".yaml") &&
            (!best[0] || strcmp(e->d_name, best) < 0))
            snprintf(best, sizeof best, "%s", e->d_name);
    }
    closedir(d);
    if (!best[0]) {
        snprintf(err, err_len, "%s: no %s*.yaml for stage %d", dir, prefix, stage);
        return -1;
    }
    snprintf(out, out_len, "%s/%s", dir, best);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* one training stage                                                      */

/* Steps between replica checks (parameter hashes agreed over the ranks). */
#define REPLICA_CHECK_EVERY 50

/* Mean validation loss (nats/token) and accuracy over eval_batches; for
 * the vaegan also the mean recon (nats/token) and KL (nats/window). The
 * windows of those batches are cut into model_b-sized pieces shared
 * round-robin over the ranks; the sums of nats and counts are reduced. */
static double evaluate(stage_run *r, double *accuracy, double *recon_out, double *kl_out)
{
    const train_config *c = r->cfg;
    size_t nb = dataset_batches_per_epoch(r->val, c->batch_size);
    if (c->eval_batches > 0 && (size_t)c->eval_batches < nb) nb = (size_t)c->eval_batches;
    size_t pieces = nb * (size_t)(c->batch_size / r->model_b);
    /* loss, count, correct, recon, kl, pieces */
    double sums[6] = {0, 0, 0, 0, 0, 0};
    int V = c->model.vocab_size, T = c->seq_len, B = r->model_b;
    for (size_t b = (size_t)r->rank; b < pieces; b += (size_t)r->ranks) {
        dataset_get_batch(r->val, B, c->seed, 0, b, 0, NULL, r->inputs, r->targets);
        int n = 0;
        double recon = 0, kl = 0;
        double loss = stage_model_eval_batch(r, &n, &recon, &kl);
        sums[0] += loss * n;
        sums[1] += n;
        sums[2] += loss_argmax_correct(transformer_logits(stage_model_logits_source(r)), r->targets, B * T, V, TOK_PAD);
        sums[3] += recon * n;
        sums[4] += kl;
        sums[5] += 1;
    }
    char err[AURL_ERR_LEN];
    if (dist_allreduce_sum_f64(sums, 6, err, sizeof err) != 0) {
        log_error("%s", err);
        sums[1] = sums[5] = 0;
    }
    double count = sums[1];
    *accuracy = count > 0 ? sums[2] / count : 0;
    *recon_out = count > 0 ? sums[3] / count : NAN;
    *kl_out = sums[5] > 0 ? sums[4] / sums[5] : NAN;
    return count > 0 ? sums[0] / count : NAN;
}

static void run_eval(stage_run *r)
{
    double acc, recon, kl;
    double vl = evaluate(r, &acc, &recon, &kl);
    if (r->vg) {
        /* perplexity of the reconstruction (posterior-mean z) */
        const char *names[] = {"loss", "recon", "kl", "accuracy", "perplexity", "unigram_entropy"};
        double vals[] = {vl, recon, kl, acc, exp(recon), r->unigram_entropy};
        metrics_log(r->met, "val", r->ss->step, 6, names, vals, NULL);
    } else {
        const char *names[] = {"loss", "accuracy", "perplexity", "unigram_entropy"};
        double vals[] = {vl, acc, exp(vl), r->unigram_entropy};
        metrics_log(r->met, "val", r->ss->step, 4, names, vals, NULL);
    }
    int improved = isfinite(vl) && (!isfinite(r->ss->best_val_loss) || vl < r->ss->best_val_loss - r->cfg->min_delta);
    log_info("stage %d step %lld: val loss %.4f (accuracy %.1f%%, unigram entropy %.3f)%s", r->cfg->stage,
             (long long)r->ss->step, vl, 100 * acc, r->unigram_entropy, improved ? ", new best" : "");
    if (improved) {
        char path[4096];
        stage_ckpt_path(r, "best", path, sizeof path);
        if (stage_save_checkpoint(r, path, vl) == 0) {
            r->ss->best_val_loss = vl;
            r->ss->best_step = r->ss->step;
            snprintf(r->ss->best_checkpoint, sizeof r->ss->best_checkpoint, "%s", stage_relative_path(r, path));
            stage_save_state(r);
        }
    }
    r->ss->evals_since_best = improved ? 0 : r->ss->evals_since_best + 1;
}

/* Early stopping: patience evaluations in a row without improvement. */
static int patience_exhausted(const stage_run *r)
{
    return r->cfg->patience > 0 && r->ss->evals_since_best >= r->cfg->patience;
}

/* Hand P to the caller's progress hook, if there is one. */
static void report(const stage_run *r, train_progress p)
{
    if (r->opts->on_progress) r->opts->on_progress(&p, r->opts->progress_user);
}

/* The trainer is about to log: a progress line drawn in place should end. */
static void report_break(const stage_run *r) { report(r, (train_progress){.kind = TRAIN_PROGRESS_BREAK}); }

/* Progress after a train record, with the ETA at this session's rate. */
static void report_progress(const stage_run *r, float loss, double tok_per_s)
{
    long long done = r->ss->step - r->start_step, left = r->total_steps - r->ss->step;
    double rate = done > 0 ? done / (clock_monotonic() - r->started) : 0;
    report(r, (train_progress){.kind = TRAIN_PROGRESS_STEP,
                               .stage = r->cfg->stage,
                               .epoch = r->ss->epoch + 1,
                               .step = r->ss->step,
                               .total_steps = r->total_steps,
                               .loss = loss,
                               .best_val_loss = r->ss->best_val_loss,
                               .tokens_per_s = tok_per_s,
                               .eta_seconds = rate > 0 ? left / rate : 0});
}

/* Entropy of the training tokens' unigram distribution (in the dataset's vocabulary). */
static double unigram_entropy_nats(const dataset *train)
{
    double *p = calloc(TOK_VOCAB_SIZE, sizeof *p);
    if (!p) return NAN;
    size_t n;
    const dataset_seq *seqs = dataset_sequences(train, &n);
    dataset_seqs_unigram(seqs, n, p);
    double h = 0;
    for (int i = 0; i < TOK_VOCAB_SIZE; i++)
        if (p[i] > 0) h -= p[i] * log(p[i]);
    free(p);
    return h;
}

/* run_stage's result besides the AURL_EXIT_* codes: stopped by a signal
 * after writing a checkpoint. */
#define RUN_STAGE_STOPPED 3

/* Open the training and validation windows, choose the subset, size the
 * stage (batches per epoch, total steps) and allocate the batch buffers.
 * AURL_EXIT_OK, or the exit code of the failure (logged). */
static int stage_open_data(stage_run *r, cache *c)
{
    const train_config *cfg = r->cfg;
    const char *data_dir = r->opts->data_dir;
    char err[AURL_ERR_LEN];
    int B = cfg->batch_size, T = cfg->seq_len;
    int vocab = model_vocab(&cfg->model);
    if (dataset_open_vocab(&r->train, c, CACHE_TRAIN, T, cfg->stride, vocab, err) != 0) {
        log_error("%s; put MIDI files under %s/midi (or run `aurl data fetch`), see `aurl data stats`", err,
                  data_dir);
        return AURL_EXIT_USAGE;
    }
    if (dataset_open_vocab(&r->val, c, CACHE_VAL, T, cfg->stride, vocab, err) != 0) {
        /* e.g. a collection of one file: validate on the training windows */
        log_warn("%s; validating on the training data instead (add more MIDI files for a real held-out loss)", err);
        if (dataset_open_vocab(&r->val, c, CACHE_TRAIN, T, cfg->stride, vocab, err) != 0) {
            log_error("%s", err);
            return AURL_EXIT_USAGE;
        }
    }
    if (cfg->subset > 0 && (size_t)cfg->subset < dataset_n_windows(r->train)) {
        log_info("stage %d: training on a fixed subset of %lld of the %zu training windows", cfg->stage,
                 cfg->subset, dataset_n_windows(r->train));
        if (dataset_keep_subset(r->train, (size_t)cfg->subset, cfg->seed) != 0) {
            log_error("out of memory choosing the training subset");
            return AURL_EXIT_RUNTIME;
        }
    }
    r->batches_per_epoch = dataset_batches_per_epoch(r->train, B);
    if (r->batches_per_epoch == 0) {
        log_error("%s: not enough training data for one batch of %d windows", data_dir, B);
        return AURL_EXIT_USAGE;
    }
    r->total_steps = (long long)r->batches_per_epoch * cfg->epochs;
    if (cfg->max_steps > 0 && cfg->max_steps < r->total_steps) r->total_steps = cfg->max_steps;
    r->inputs = malloc(sizeof(int32_t) * B * T);
    r->targets = malloc(sizeof(int32_t) * B * T);
    if (!r->inputs || !r->targets) {
        log_error("out of memory");
        return AURL_EXIT_RUNTIME;
    }
    return AURL_EXIT_OK;
}

/* Build the model and its optimiser for the stage's schedule and set its
 * weights (stage_prepare_weights). AURL_EXIT_OK or the failure's exit code. */
static int stage_build_model(stage_run *r, const char *config_path)
{
    const train_config *cfg = r->cfg;
    char err[AURL_ERR_LEN];
    adamw_config ac = adamw_default_config((float)cfg->lr, (float)cfg->min_lr, cfg->warmup_steps, r->total_steps);
    ac.beta1 = (float)cfg->beta1;
    ac.beta2 = (float)cfg->beta2;
    ac.eps = (float)cfg->eps;
    ac.weight_decay = (float)cfg->weight_decay;
    ac.grad_clip = (float)cfg->grad_clip;
    r->parallel = r->ranks * cfg->accumulate > 1;
    r->model_b = r->parallel ? cfg->batch_size / (r->ranks * cfg->accumulate) : cfg->batch_size;
    if (stage_model_build(r, &ac, err) != 0) {
        log_error("%s: %s", config_path, err);
        return AURL_EXIT_USAGE;
    }
    if (r->parallel && train_dp_init(&r->dp, r->rank, r->ranks, cfg->accumulate, cfg->batch_size, cfg->seq_len,
                                     r->vg ? 0 : transformer_n_params(r->model)) != 0) {
        log_error("out of memory for the gradient buffer");
        return AURL_EXIT_RUNTIME;
    }
    train_stage_state *prev = cfg->stage > 1 ? &r->state->stages[cfg->stage - 2] : NULL;
    if (r->rank != 0) return AURL_EXIT_OK; /* weights and position come from rank 0 (sync_replicas) */
    return stage_prepare_weights(r, prev) == 0 ? AURL_EXIT_OK : AURL_EXIT_RUNTIME;
}

/* Every rank takes rank 0's stage record, weights and optimiser state. */
static int sync_replicas(stage_run *r)
{
    if (r->ranks == 1) return AURL_EXIT_OK;
    return stage_model_sync(r) == 0 ? AURL_EXIT_OK : AURL_EXIT_RUNTIME;
}

/* Stop the job if the ranks' parameters differ. 0 or -1 (logged). */
static int replica_check(stage_run *r)
{
    if (r->ranks == 1) return 0;
    int rc = train_dp_replica_check(stage_model_param_hash(r));
    if (rc > 0)
        log_error("stage %d step %lld: the ranks' parameters differ (replica check failed); stopping. Resume "
                  "from the last checkpoint", r->cfg->stage, (long long)r->ss->step);
    return rc == 0 ? 0 : -1;
}

/* Log what the stage trains: sizes, windows, steps, and the VAE-GAN's settings. */
static void log_stage_plan(const stage_run *r)
{
    const train_config *cfg = r->cfg;
    if (r->parallel)
        log_info("stage %d: global batch %d = %d ranks x %d micro-batches x %d windows", cfg->stage, cfg->batch_size,
                 r->ranks, cfg->accumulate, r->model_b);
    log_info("stage %d (%s, %s): %zu parameters, %zu train / %zu val windows of %d tokens, %zu batches per "
             "epoch, %lld steps; unigram entropy %.3f nats",
             cfg->stage, cfg->name, cfg->mode, stage_model_n_params(r), dataset_n_windows(r->train),
             dataset_n_windows(r->val), cfg->seq_len, r->batches_per_epoch, r->total_steps, r->unigram_entropy);
    if (!r->vg) return;
    const vae_config *v = &cfg->vae;
    const disc_config *dc = &cfg->disc;
    log_info("stage %d: vae %zu parameters (encoder %d layers, latents %d/%d/%d over %d/%d/%d segments, free bits "
             "%g, beta %s max %g warmup %ld), discriminator %zu (embed %d, hidden %d, %d scales, %s loss, n_critic "
             "%d, lr %g), total %zu; GAN from step %ld, tau %g, adv weight %g (max ratio %g), fm weight %g",
             cfg->stage, vaegan_n_params_vae(r->vg), v->enc_layers, v->latent_dim[0], v->latent_dim[1],
             v->latent_dim[2], v->n_segments[0], v->n_segments[1], v->n_segments[2], v->free_bits,
             beta_kind_name(v->beta.kind), v->beta.beta_max, v->beta.warmup_steps, vaegan_n_params_disc(r->vg),
             dc->embed, dc->hidden, dc->n_scales, gan_loss_kind_name(dc->loss), dc->n_critic, dc->lr,
             stage_model_n_params(r), cfg->gan.start_step, cfg->gan.tau, cfg->gan.adv_weight, cfg->gan.adv_weight_max,
             cfg->gan.fm_weight);
}

/* Everything before the first step: data, model, weights (resumed or
 * fresh), the state and metrics files. AURL_EXIT_OK or the exit code. */
static int stage_setup(stage_run *r, cache *c, const char *config_path)
{
    const train_config *cfg = r->cfg;
    char err[AURL_ERR_LEN];
    int rc = stage_open_data(r, c);
    if (rc == AURL_EXIT_OK) rc = stage_build_model(r, config_path);
    rc = train_dp_agree_rc(rc);
    if (rc == AURL_EXIT_OK) rc = sync_replicas(r);
    if (rc != AURL_EXIT_OK) return rc;
    r->ss->total_steps = r->total_steps;
    snprintf(r->ss->config_path, sizeof r->ss->config_path, "%s", config_path);
    r->state->current_stage = cfg->stage;
    if (r->rank == 0 && metrics_open(&r->met, r->opts->outputs_dir, cfg->stage, err) != 0) {
        log_error("%s", err);
        return AURL_EXIT_RUNTIME;
    }
    r->unigram_entropy = unigram_entropy_nats(r->train);
    log_stage_plan(r);
    char note[128];
    snprintf(note, sizeof note, "stage %d %s at step %lld", cfg->stage, r->ss->step ? "resumed" : "started",
             (long long)r->ss->step);
    metrics_log(r->met, "event", r->ss->step, 0, NULL, NULL, note);
    return stage_save_state(r) == 0 ? AURL_EXIT_OK : AURL_EXIT_RUNTIME;
}

/* The train record of the steps since the last one (loss, lr, grad_norm,
 * throughput and epoch first: what `aurl status` reads; then the model's
 * other terms), and the progress report. */
static void log_train_record(stage_run *r, const step_result *res, uint64_t epoch, size_t batch)
{
    assert(res->n >= 3 && res->n <= STEP_MAX_METRICS);
    double t = clock_monotonic();
    double tps = r->window_tokens / fmax(t - r->window_start, 1e-9);
    double sps = r->window_steps / fmax(t - r->window_start, 1e-9);
    const char *names[STEP_MAX_METRICS + 4] = {res->names[0], res->names[1], res->names[2], "tokens_per_s",
                                               "steps_per_s", "epoch"};
    double vals[STEP_MAX_METRICS + 4] = {res->vals[0], res->vals[1], res->vals[2], tps, sps,
                                         (double)epoch + (double)batch / r->batches_per_epoch};
    int n = 6;
    for (int i = 3; i < res->n; i++, n++) names[n] = res->names[i], vals[n] = res->vals[i];
    if (r->ranks > 1) { /* seconds in collectives (all-reduce, waiting for peers) since the last record */
        names[n] = "comm_s";
        vals[n++] = dist_comm_seconds() - r->window_comm;
        r->window_comm = dist_comm_seconds();
    }
    metrics_log(r->met, "train", r->ss->step, n, names, vals, NULL);
    report_progress(r, res->loss, tps);
    r->window_start = t;
    r->window_tokens = r->window_steps = 0;
}

/* One optimiser step at r->ss->step: its batch (a function of seed and
 * step), the update, and every log_every steps the train record. 0, or -1
 * when the ranks lost each other (logged). */
static int train_one_step(stage_run *r)
{
    const train_config *cfg = r->cfg;
    assert(r->batches_per_epoch > 0 && r->ss->step < r->total_steps);
    long long step = r->ss->step;
    uint64_t epoch = (uint64_t)(step / (long long)r->batches_per_epoch);
    size_t batch = (size_t)(step % (long long)r->batches_per_epoch);
    if ((int)epoch != r->ss->epoch) {
        char note[64];
        snprintf(note, sizeof note, "epoch %d started", (int)epoch + 1);
        metrics_log(r->met, "event", step, 0, NULL, NULL, note);
    }
    r->ss->epoch = (int)epoch;
    step_result res;
    if (stage_model_train_step(r, step, epoch, batch, &res) != 0) return -1;
    if (res.skipped) {
        char note[128];
        snprintf(note, sizeof note, "non-finite loss or gradient at step %lld: step skipped, lr x%.3g", step,
                 res.lr_mult);
        metrics_log(r->met, "event", step, 0, NULL, NULL, note);
    }
    r->ss->step = step + 1;
    r->window_tokens += res.tokens;
    r->window_steps++;
    r->last_loss = res.loss;
    if (r->ss->step % cfg->log_every == 0 || r->ss->step == r->total_steps) log_train_record(r, &res, epoch, batch);
    return 0;
}

/* The ranks agree at a step boundary on the stop and checkpoint requests
 * (one small all-reduce), so all of them checkpoint and stop at the same
 * step: *stop gets the signal number (0: none), *ckpt 1 if a checkpoint
 * was asked for on any rank. 0 or -1 (logged). */
static int agree_signals(stage_run *r, int *stop, int *ckpt)
{
    char err[AURL_ERR_LEN];
    double f[2] = {(double)g_stop_requested, g_checkpoint_requested ? 1 : 0};
    if (f[1] > 0) g_checkpoint_requested = 0;
    if (r->ranks > 1 && dist_allreduce_sum_f64(f, 2, err, sizeof err) != 0) {
        log_error("%s", err);
        return -1;
    }
    *stop = f[0] > 0 ? (g_stop_requested ? (int)g_stop_requested : SIGTERM) : 0;
    *ckpt = f[1] > 0;
    return 0;
}

/* What the step loop does after a step. */
typedef enum { LOOP_CONTINUE, LOOP_EARLY_STOP, LOOP_SIGNALLED, LOOP_FAILED } loop_next;

/* After a step: validation when due (and early stopping), the periodic or
 * requested checkpoint, and a stop signal (checkpoint, then stop). */
static loop_next after_step(stage_run *r)
{
    const train_config *cfg = r->cfg;
    assert(cfg->checkpoint_every > 0);
    int stop, ckpt;
    if (agree_signals(r, &stop, &ckpt) != 0) return LOOP_FAILED;
    if (r->ss->step % REPLICA_CHECK_EVERY == 0 && replica_check(r) != 0) return LOOP_FAILED;
    int epoch_end = r->ss->step % (long long)r->batches_per_epoch == 0;
    int want_eval = cfg->eval_every > 0 ? r->ss->step % cfg->eval_every == 0 : epoch_end;
    int evaluated = want_eval || r->ss->step == r->total_steps;
    if (evaluated) {
        report_break(r);
        run_eval(r);
        if (patience_exhausted(r) && r->ss->step < r->total_steps) {
            char note[160];
            snprintf(note, sizeof note, "early stop at step %lld: no improvement over %.4f in %d evaluations",
                     (long long)r->ss->step, r->ss->best_val_loss, r->ss->evals_since_best);
            metrics_log(r->met, "event", r->ss->step, 0, NULL, NULL, note);
            log_info("stage %d: %s", cfg->stage, note);
            r->ss->stopped_early = 1;
            return LOOP_EARLY_STOP;
        }
    }
    /* rank 0 alone samples (the others hold no metrics writer) */
    if (r->met) train_sample_maybe(cfg, r->opts->outputs_dir, r->opts->data_dir, r->ss->step, evaluated, r->model, r->vg, r->met);
    if (r->ss->step % cfg->checkpoint_every == 0 || ckpt) {
        if (stage_checkpoint_last(r) != 0) return LOOP_FAILED;
    }
    if (stop) {
        report_break(r);
        log_info("stopping at step %lld (signal %d): writing a checkpoint", (long long)r->ss->step, stop);
        if (stage_checkpoint_last(r) != 0) return LOOP_FAILED;
        metrics_log(r->met, "event", r->ss->step, 0, NULL, NULL, "stopped by signal");
        return LOOP_SIGNALLED;
    }
    return LOOP_CONTINUE;
}

/* Step until the stage's last step, an early stop or a stop signal.
 * AURL_EXIT_OK (stage to finish), RUN_STAGE_STOPPED or AURL_EXIT_RUNTIME. */
static int stage_loop(stage_run *r)
{
    if (r->model) transformer_zero_grad(r->model); /* transformer_step zeroes them after every step */
    r->start_step = r->ss->step;
    r->started = r->window_start = clock_monotonic();
    r->window_tokens = r->window_steps = 0;
    r->window_comm = dist_comm_seconds();
    r->last_loss = NAN;
    while (r->ss->step < r->total_steps) {
        double t0 = clock_monotonic();
        if (train_one_step(r) != 0) return AURL_EXIT_RUNTIME;
        dist_note_step_seconds(clock_monotonic() - t0);
        switch (after_step(r)) {
        case LOOP_CONTINUE: break;
        case LOOP_EARLY_STOP: return AURL_EXIT_OK;
        case LOOP_SIGNALLED: return RUN_STAGE_STOPPED;
        case LOOP_FAILED: return AURL_EXIT_RUNTIME;
        }
    }
    return AURL_EXIT_OK;
}

/* The stage is done: final checkpoint, status complete, the next stage
 * current (when running through all of them). AURL_EXIT_OK or RUNTIME. */
static int stage_finish(stage_run *r)
{
    const train_config *cfg = r->cfg;
    const trainer_opts *o = r->opts;
    report_break(r);
    if (stage_checkpoint_last(r) != 0) return AURL_EXIT_RUNTIME;
    r->ss->status = STAGE_COMPLETE;
    r->ss->finished_at = time(NULL);
    if (cfg->stage < TRAIN_MAX_STAGES && !o->only_stage && !o->config_file) r->state->current_stage = cfg->stage + 1;
    if (stage_save_state(r) != 0) return AURL_EXIT_RUNTIME;
    char note[128];
    snprintf(note, sizeof note, "stage %d complete: best val loss %.4f at step %lld", cfg->stage,
             r->ss->best_val_loss, (long long)r->ss->best_step);
    metrics_log(r->met, "event", r->ss->step, 0, NULL, NULL, note);
    log_info("%s (last train loss %.4f)", note, r->last_loss);
    return AURL_EXIT_OK;
}

/* Free what stage_setup opened (any part of it may be missing). */
static void stage_close(stage_run *r)
{
    metrics_close(r->met);
    stage_model_free(r);
    dataset_close(r->train);
    dataset_close(r->val);
    free(r->inputs);
    free(r->targets);
    train_dp_free(&r->dp);
}

/* Train one stage to completion or until a stop signal. Returns
 * AURL_EXIT_OK (done), RUN_STAGE_STOPPED (stopped by signal,
 * checkpointed), AURL_EXIT_RUNTIME or AURL_EXIT_USAGE (bad config/data). */
static int run_stage(const trainer_opts *o, const train_config *cfg, train_state *st, const char *state_path,
                     const char *config_path, cache *c)
{
    assert(cfg->stage >= 1 && cfg->stage <= TRAIN_MAX_STAGES);
    stage_run r = {.opts = o, .cfg = cfg, .state = st, .ss = &st->stages[cfg->stage - 1],
                   .state_path = state_path, .rank = dist_rank(), .ranks = dist_size()};
    int rc = stage_setup(&r, c, config_path);
    if (rc == AURL_EXIT_OK) rc = stage_loop(&r);
    if (rc == AURL_EXIT_OK) rc = stage_finish(&r);
    stage_close(&r);
    return rc;
}

/* Remove the temp files of atomic writes (NAME.tmp.XXXXXX) that a killed
 * trainer left in DIR. Only called while holding the run lock, so no
 * writer is using them. */
static void remove_stale_temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        const char *t = strstr(e->d_name, ".tmp.");
        if (!t || strlen(t) != 11) continue; /* ".tmp." + mkstemp's six characters */
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) == 0) log_info("removed %s, left by an interrupted write", path);
    }
    closedir(d);
}

/* ---------------------------------------------------------------------- */

/* Rank 0's part of the start: the outputs directories, the lock, the log
 * file, stale temp files and the state file. AURL_EXIT_OK or the code. */
static int open_outputs(const trainer_opts *o, run_lock *lock, int *locked, const char *state_path, train_state *st)
{
    char err[AURL_ERR_LEN], path[4096];
    snprintf(path, sizeof path, "%s/logs", o->outputs_dir);
    if (file_mkdirs(path, err) != 0) {
        log_error("%s", err);
        return AURL_EXIT_RUNTIME;
    }
    snprintf(path, sizeof path, "%s/checkpoints", o->outputs_dir);
    if (file_mkdirs(path, err) != 0) {
        log_error("%s", err);
        return AURL_EXIT_RUNTIME;
    }
    if (run_lock_acquire(lock, o->outputs_dir, err) != 0) {
        log_error("%s", err);
        return AURL_EXIT_RUNTIME;
    }
    *locked = 1;
    snprintf(path, sizeof path, "%s/logs/train.log", o->outputs_dir);
    log_open(path);
    remove_stale_temp_files(o->outputs_dir);
    snprintf(path, sizeof path, "%s/checkpoints", o->outputs_dir);
    remove_stale_temp_files(path);
    if (train_state_load(state_path, st, err) < 0) log_warn("%s; starting from a fresh state", err);
    if (o->profile) {
        if (st->profile[0] && strcmp(st->profile, o->profile))
            log_warn("this outputs dir was trained with profile '%s'; now using '%s'", st->profile, o->profile);
        snprintf(st->profile, sizeof st->profile, "%s", o->profile);
    }
    st->ranks = dist_size();
    return AURL_EXIT_OK;
}

/* Load stage S's config (the explicit file or configs/stages) with the
 * options' overrides, and check it splits over the ranks. 0 or the code. */
static int load_stage_config(const trainer_opts *o, int s, const char *profile, train_config *cfg, char *cfg_path,
                             size_t len)
{
    char err[AURL_ERR_LEN];
    if (o->config_file) snprintf(cfg_path, len, "%s", o->config_file);
    else if (trainer_stage_config_path(o->configs_dir, s, cfg_path, len, err, sizeof err) != 0) {
        log_error("%s", err);
        return AURL_EXIT_USAGE;
    }
    if (train_config_load(cfg, cfg_path, profile, err) != 0 ||
        train_config_check_parallel(cfg, dist_size(), profile ? profile : cfg_path, err) != 0) {
        log_error("%s", err);
        return AURL_EXIT_USAGE;
    }
    if (!o->config_file) cfg->stage = s;
    if (o->epochs > 0) cfg->epochs = o->epochs;
    if (o->max_steps > 0) cfg->max_steps = o->max_steps;
    return AURL_EXIT_OK;
}

/* The stages from where the state says (or the one asked for). */
static int run_stages(const trainer_opts *o, train_state *st, const char *state_path, const char *profile, cache *c)
{
    int first = o->only_stage ? o->only_stage : st->current_stage;
    int last = o->only_stage || o->config_file ? first : TRAIN_MAX_STAGES;
    if (first < 1 || first > TRAIN_MAX_STAGES) first = 1;
    if (!o->only_stage && !o->config_file && st->stages[first - 1].status == STAGE_COMPLETE &&
        first == TRAIN_MAX_STAGES) {
        log_info("all stages are complete (see `aurl status`; `aurl clear` starts over)");
        return AURL_EXIT_OK;
    }
    int rc = AURL_EXIT_OK;
    for (int s = first; s <= last; s++) {
        train_config cfg;
        char cfg_path[4096];
        rc = train_dp_agree_rc(load_stage_config(o, s, profile, &cfg, cfg_path, sizeof cfg_path));
        if (rc != AURL_EXIT_OK) return rc;
        if (!o->only_stage && !o->config_file && st->stages[s - 1].status == STAGE_COMPLETE) continue;
        rc = run_stage(o, &cfg, st, state_path, cfg_path, c);
        if (rc == RUN_STAGE_STOPPED) return AURL_EXIT_OK;
        if (rc != AURL_EXIT_OK) return rc;
    }
    return rc;
}

int trainer_run(const trainer_opts *o)
{
    char err[AURL_ERR_LEN], state_path[4096], profile_path[4096];
    int rank = dist_rank(), locked = 0, rc = AURL_EXIT_OK;
    static char prefix[32];
    if (rank != 0) { /* rank 0 speaks for the job; the others report errors only */
        snprintf(prefix, sizeof prefix, "rank %d: ", rank);
        log_set_prefix(prefix);
        log_set_quiet(1);
    }
    const char *profile = NULL;
    if (o->profile) {
        snprintf(profile_path, sizeof profile_path, "%s/profiles/%s.yaml", o->configs_dir, o->profile);
        if (!file_is_regular(profile_path)) {
            log_error("%s: no such profile (looked for %s)", o->profile, profile_path);
            rc = AURL_EXIT_USAGE;
        }
        profile = profile_path;
    }
    run_lock lock;
    train_state st;
    train_state_init(&st);
    snprintf(state_path, sizeof state_path, "%s/training_state.json", o->outputs_dir);
    if (rc == AURL_EXIT_OK && rank == 0) rc = open_outputs(o, &lock, &locked, state_path, &st);
    rc = train_dp_agree_rc(rc);
    if (rc != AURL_EXIT_OK) goto out;
    install_signal_handlers();
    if (dist_broadcast(&st, sizeof st, 0, err, sizeof err) != 0) {
        log_error("%s", err);
        rc = AURL_EXIT_RUNTIME;
        goto out;
    }
    cache *c = NULL;
    for (int turn = 0; turn < 2 && rc == AURL_EXIT_OK; turn++) { /* rank 0 first: it may build the cache */
        if ((turn == 0) == (rank == 0) &&
            cache_ensure(o->data_dir, o->jobs, o->on_cache_progress, o->progress_user, &c, err) != 0) {
            log_error("%s", err);
            rc = AURL_EXIT_USAGE;
        }
        rc = train_dp_agree_rc(rc);
    }
    if (rc == AURL_EXIT_OK) rc = run_stages(o, &st, state_path, profile, c);
    cache_close(c);
    st.trainer_pid = 0;
    if (rank == 0 && file_is_dir(o->outputs_dir)) train_state_save(state_path, &st, err);
out:
    log_close();
    if (locked) run_lock_release(&lock);
    return rc;
}
