/* adamw: the AdamW optimiser with PyTorch semantics (decoupled weight decay
 * p -= lr*wd*p on the segments flagged `decay`, bias-corrected moments,
 * denom = sqrt(v)/sqrt(1-beta2^t) + eps), global-norm gradient clipping as
 * torch.nn.utils.clip_grad_norm_ (coef = max_norm/(norm+1e-6) when < 1), the
 * warmup+cosine schedule of lr_schedule.h, and a NaN/Inf guard: a step whose
 * loss or gradient norm is not finite is skipped (grads zeroed, warning
 * logged) and the lr multiplier is halved for all later steps.
 * The optimiser works on any model: it sees a list of flat segments. */
#ifndef AURL_ADAMW_H
#define AURL_ADAMW_H

#include <stddef.h>

#include "engine/nn/lr_schedule.h"

typedef struct {
    float *param, *grad, *m, *v;
    size_t n;
    int decay; /* 1: apply weight decay (matrices), 0: biases, LayerNorm */
} adamw_segment;

typedef struct {
    lr_schedule sched;
    float beta1, beta2, eps;
    float weight_decay;
    float grad_clip; /* max global norm; <= 0 disables clipping */
} adamw_config;

/* Optimiser state (plain data: checkpoint it as is). */
typedef struct {
    adamw_config cfg;
    long step;     /* steps attempted (drives the schedule) */
    long t;        /* updates applied (drives bias correction) */
    float lr_mult; /* 1, halved after each non-finite step */
    long n_skipped;
} adamw;

typedef struct {
    float grad_norm; /* global norm before clipping (may be inf/nan if skipped) */
    float lr;        /* learning rate used (0 if skipped) */
    float lr_mult;   /* multiplier in effect after this step */
    int skipped;     /* 1 if the NaN/Inf guard skipped the update */
} adamw_result;

/* Defaults: betas (0.9, 0.95), eps 1e-8, weight decay 0.1, clip 1.0. */
adamw_config adamw_default_config(float lr, float min_lr, long warmup, long total);
/* Fresh optimiser state for CFG: no steps taken, lr multiplier 1. */
void adamw_init(adamw *opt, const adamw_config *cfg);
/* Global L2 norm of all gradients (double accumulation). */
double adamw_grad_norm(const adamw_segment *segs, int nsegs);
/* One optimiser step over the segments. `loss` is the step's loss (only
 * checked for finiteness). The clip factor is applied inside the update;
 * gradients are left unchanged (zeroed only when the step is skipped). */
adamw_result adamw_step(adamw *opt, const adamw_segment *segs, int nsegs, float loss);
#endif
