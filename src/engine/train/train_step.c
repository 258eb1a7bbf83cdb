/* train_step: micro-batches, the gradient all-reduce and the update of a
 * data-parallel transformer step (see train_step.h). */
#include "engine/train/train_step.h"

#include <stdlib.h>
#include <string.h>

#include "util/dist.h"
#include "util/globals.h"
#include "util/log.h"
#include <stdio.h>

int train_dp_init(train_dp *p, int rank, int ranks, int accumulate, int batch_size, int seq_len, size_t n_params)
{
    memset(p, 0, sizeof *p);
    p->rank = rank;
    p->ranks = ranks;
    p->accumulate = accumulate;
    p->batch_size = batch_size;
    p->micro_b = batch_size / (ranks * accumulate);
    p->seq_len = seq_len;
    p->acc = n_params ? malloc(n_params * sizeof *p->acc) : NULL;
    return p->acc || !n_params ? 0 : -1;
}

void train_dp_free(train_dp *p)
{
    free(p->acc);
    p->acc = NULL;
}

size_t train_dp_micro_index(const train_dp *p, size_t batch, int k)
{
    size_t per_batch = (size_t)(p->batch_size / p->micro_b);
    return batch * per_batch + (size_t)k;
}

uint64_t train_dp_dropout_seed(uint64_t seed, long long step, int k)
{
    uint64_t s = seed ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(step + 1));
    return k == 0 ? s : s ^ (0xD1B54A32D192ED2DULL * (uint64_t)k);
}

/* Forward and backward of this rank's micro-batches into p->acc (each
 * scaled by its target count); sums[0] += nats, sums[1] += targets. */
static void local_micro_batches(train_dp *p, transformer *m, const dataset *ds, const augment_config *aug,
                                uint64_t seed, uint64_t epoch, size_t batch, long long step, int32_t *in,
                                int32_t *tg, double sums[2])
{
    size_t P = transformer_n_params(m);
    float *g = transformer_grads(m);
    for (int j = 0; j < p->accumulate; j++) {
        int k = p->rank * p->accumulate + j;
        dataset_get_batch(ds, p->micro_b, seed, epoch, train_dp_micro_index(p, batch, k), 1, aug, in, tg);
        float loss = transformer_forward(m, in, tg, p->micro_b, p->seq_len, 1, train_dp_dropout_seed(seed, step, k));
        int n = transformer_target_count(m);
        float w = (float)n;
        if (n > 0) transformer_backward(m);
        if (j == 0)
            for (size_t i = 0; i < P; i++) p->acc[i] = g[i] * w;
        else
            for (size_t i = 0; i < P; i++) p->acc[i] += g[i] * w;
        transformer_zero_grad(m);
        if (n > 0) sums[0] += (double)loss * n;
        sums[1] += n;
    }
}

int train_dp_gradients(train_dp *p, transformer *m, const dataset *ds, const augment_config *aug, uint64_t seed,
                       uint64_t epoch, size_t batch, long long step, int32_t *in, int32_t *tg, double *loss,
                       long long *tokens, char *err, size_t err_len)
{
    size_t P = transformer_n_params(m);
    double sums[2] = {0, 0};
    local_micro_batches(p, m, ds, aug, seed, epoch, batch, step, in, tg, sums);
    if (dist_allreduce_sum_f32(p->acc, P, err, err_len) != 0 || dist_allreduce_sum_f64(sums, 2, err, err_len) != 0)
        return -1;
    float *g = transformer_grads(m);
    float n = (float)sums[1];
    for (size_t i = 0; i < P; i++) g[i] = n > 0 ? p->acc[i] / n : 0.0f;
    *loss = sums[1] > 0 ? sums[0] / sums[1] : 0.0;
    *tokens = (long long)sums[1];
    return 0;
}

int train_dp_step(train_dp *p, transformer *m, adamw *opt, const dataset *ds, const augment_config *aug,
                  uint64_t seed, uint64_t epoch, size_t batch, long long step, int32_t *in, int32_t *tg,
                  train_dp_result *out, char *err, size_t err_len)
{
    double loss;
    long long tokens;
    if (train_dp_gradients(p, m, ds, aug, seed, epoch, batch, step, in, tg, &loss, &tokens, err, err_len) != 0)
        return -1;
    adamw_result r = transformer_step(m, opt, (float)loss);
    *out = (train_dp_result){.loss = (float)loss, .tokens = tokens, .grad_norm = r.grad_norm, .lr = r.lr,
                             .lr_mult = r.lr_mult, .skipped = r.skipped};
    return 0;
}

int train_dp_agree_rc(int rc)
{
    char msg[AURL_ERR_LEN], err[AURL_ERR_LEN];
    int who;
    snprintf(msg, sizeof msg, "%s", rc != AURL_EXIT_OK ? log_last_error() : "");
    int any = dist_first_failure(rc != AURL_EXIT_OK, msg, sizeof msg, &who, err, sizeof err);
    if (any < 0) {
        log_error("%s", err);
        return AURL_EXIT_RUNTIME;
    }
    if (!any) return AURL_EXIT_OK;
    if (who != 0 && dist_rank() == 0) log_error("rank %d failed: %s", who, msg);
    return rc != AURL_EXIT_OK ? rc : AURL_EXIT_RUNTIME;
}

int train_dp_sync(transformer *m, adamw *opt, void *record, size_t record_len)
{
    char err[AURL_ERR_LEN];
    size_t bytes = transformer_n_params(m) * sizeof(float);
    if (dist_broadcast(record, record_len, 0, err, sizeof err) != 0 ||
        dist_broadcast(transformer_params(m), bytes, 0, err, sizeof err) != 0 ||
        dist_broadcast(transformer_adam_m(m), bytes, 0, err, sizeof err) != 0 ||
        dist_broadcast(transformer_adam_v(m), bytes, 0, err, sizeof err) != 0 ||
        dist_broadcast(opt, sizeof *opt, 0, err, sizeof err) != 0) {
        log_error("%s", err);
        return -1;
    }
    return 0;
}

int train_dp_replica_check(uint64_t h)
{
    char err[AURL_ERR_LEN];
    int same;
    if (dist_agree_u64(h, &same, err, sizeof err) != 0) {
        log_error("%s", err);
        return -1;
    }
    return same ? 0 : 1;
}
