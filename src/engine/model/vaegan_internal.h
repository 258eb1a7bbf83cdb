/* vaegan_internal: the vaegan's state, shared by vaegan.c (creation,
 * evaluation, checkpoints) and vaegan_step.c (the training step over
 * micro-batches and ranks, the replicas' state); not for other files. */
#ifndef AURL_VAEGAN_INTERNAL_H
#define AURL_VAEGAN_INTERNAL_H

#include "engine/model/vaegan.h"

struct vaegan {
    model_config mc;
    vae_config vc;
    disc_config dc;
    vaegan_config gc;
    int maxB, maxT;
    vae *v;
    disc *d;
    adamw opt, dopt;
    vaegan_split sp; /* vaegan_set_split; {0, 1, 1, maxB} by default */
    /* GAN buffers. soft (accumulate x micro_b x T, V) and hard: every local
     * micro-batch's Gumbel-softmax output and its argmax tokens; (B*T, V)
     * each: work (noise, then d/d one-hot rows, then d recon/d logits),
     * adversarial and feature-matching dlogits (the first ends as the
     * combined extra) */
    float *soft, *work, *dadv, *dfm;
    int32_t *hard;
    size_t store_rows;                   /* rows (windows x T) soft and hard hold */
    float *real_logit, *fake_logit, *dl; /* (B) */
    float *dfeat;                        /* (B, F) */
    float *fm_mean, *fm_grow;            /* (F) each */
    double *fsum;                        /* (2F): real and fake feature sums */
    double *kl_sums;                     /* vae_kl_n_dims: the step's summed KL per dimension */
    /* accumulate > 1: this rank's gradient sums over its micro-batches
     * (VAE own | decoder, D) */
    float *vacc[2], *dacc;
    /* the most recent G step's measurements (repeated on D-only steps) */
    float last_g_adv, last_fm, last_adv_weight;
};

/* A batch of B x T the model was built for (T divisible by every level's segments). */
int vaegan_sizes_ok(const vaegan *m, const int32_t *inputs, const int32_t *targets, int B, int T);
#endif
