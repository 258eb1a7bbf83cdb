/* train_step: one data-parallel optimiser step of a transformer, for any
 * number of ranks and micro-batches (docs/DESIGN.md, "Distributed
 * training"). The global batch of batch_size windows of a step is cut into
 * ranks x accumulate micro-batches in global sample order; rank r computes
 * micro-batches r*M .. r*M+M-1. Each micro-batch's gradient of its summed
 * token loss is added to a float buffer, the buffers are summed over the
 * ranks with one all-reduce, divided by the global target count, and AdamW
 * (clipping after the reduction) runs identically on every rank. The data
 * order is a function of (seed, epoch, global sample index) only. */
#ifndef AURL_TRAIN_STEP_H
#define AURL_TRAIN_STEP_H

#include <stddef.h>
#include <stdint.h>

#include "data/augment.h"
#include "data/dataset.h"
#include "engine/model/transformer.h"

typedef struct {
    int rank, ranks;   /* this process and the job's ranks (dist.h) */
    int accumulate;    /* micro-batches per rank per step */
    int batch_size;    /* the global batch (windows) */
    int micro_b;       /* batch_size / (ranks * accumulate) */
    int seq_len;
    float *acc;        /* n_params floats: the summed gradient */
} train_dp;

typedef struct {
    float loss;        /* global mean loss per target token */
    long long tokens;  /* global target tokens of the step */
    float grad_norm, lr, lr_mult;
    int skipped;       /* the NaN/Inf guard skipped the update */
} train_dp_result;

/* Fill P for RANK of RANKS with the config's batch and ACCUMULATE; allocates
 * the buffer for N_PARAMS floats (0: none, for a model that sums its own
 * gradients, the vaegan). 0 or -1 (out of memory). */
int train_dp_init(train_dp *p, int rank, int ranks, int accumulate, int batch_size, int seq_len, size_t n_params);
void train_dp_free(train_dp *p);
/* Micro-batch K of batch BATCH of the epoch, as dataset batch index. */
size_t train_dp_micro_index(const train_dp *p, size_t batch, int k);
/* The dropout seed of global micro-batch K at STEP (K = 0: the seed a
 * one-process run without accumulation uses). */
uint64_t train_dp_dropout_seed(uint64_t seed, long long step, int k);
/* The step's gradient without the update: this rank's micro-batches, the
 * all-reduce, the division by the global target count; leaves it in the
 * model's gradient arena, *loss the global mean, *tokens the global
 * target count. 0 or -1 (err set). */
int train_dp_gradients(train_dp *p, transformer *m, const dataset *ds, const augment_config *aug, uint64_t seed,
                       uint64_t epoch, size_t batch, long long step, int32_t *in, int32_t *tg, double *loss,
                       long long *tokens, char *err, size_t err_len);
/* One optimiser step at STEP on batch BATCH of EPOCH. IN/TG hold micro_b x
 * seq_len tokens each. 0, or -1 when a collective failed (err set). */
int train_dp_step(train_dp *p, transformer *m, adamw *opt, const dataset *ds, const augment_config *aug,
                  uint64_t seed, uint64_t epoch, size_t batch, long long step, int32_t *in, int32_t *tg,
                  train_dp_result *out, char *err, size_t err_len);
/* All ranks agree on the exit code RC (AURL_EXIT_*): if any rank failed,
 * every rank returns a failure code and rank 0 logs the first failed
 * rank's message (its latest log_error) as "rank N failed: ..." (N > 0). */
int train_dp_agree_rc(int rc);
/* Copy rank 0's RECORD (RECORD_LEN bytes, e.g. the stage state), weights,
 * Adam moments and optimiser counters to every rank. 0 or -1 (logged). */
int train_dp_sync(transformer *m, adamw *opt, void *record, size_t record_len);
/* Replica check: 0 if every rank's parameter hash H is the same, 1 if
 * they differ, -1 if the collective failed (logged). */
int train_dp_replica_check(uint64_t h);
#endif
