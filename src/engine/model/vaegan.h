/* vaegan: the stage-3 model of docs/DESIGN.md §8 — the hierarchical VAE (engine/
 * vae, whose decoder is the stage-2 transformer) trained together with the
 * multi-scale discriminator (engine/discriminator), each with its own AdamW.
 *
 * One training step at optimiser step s (every random draw — the VAE's eps,
 * the decoder's dropout, the Gumbel noise — is a function of (seed, s), so
 * a run resumed at step k repeats an uninterrupted one exactly):
 *   1. VAE forward (z sampled), beta from the schedule at s:
 *        L_vae = recon + beta * sum_l kl_pen_l / T
 *   2. if the GAN is on and s >= gan.start_step:
 *      fake = Gumbel-softmax(decoder logits, tau(s)), straight-through; its
 *        forward value is the argmax token per position (positions whose
 *        target is PAD are set to PAD on both sides and get no gradient);
 *        real = the targets (the tokens the logits predict).
 *      D step (every step): L_D on D(real), D(fake detached); D's AdamW.
 *      G step (every n_critic-th step from start_step): D's weights fixed,
 *        L_G = gan loss on D(fake), L_fm = feature matching (L2 of the batch
 *        mean features of all scales), both back through D into the one-hot
 *        rows, through the Gumbel-softmax into the decoder logits:
 *          dlogits_adv, dlogits_fm   (B*T, V) each.
 *      Balancing: adv_weight = gan.adv_weight * clamp(||dlogits_rec|| /
 *        ||dlogits_adv||, 0, gan.adv_weight_max), dlogits_rec being the
 *        gradient of recon w.r.t. the same logits. VQGAN measures this ratio
 *        at the decoder's last layer; our head is tied to the token
 *        embedding (shared with the input side), so the logits are the
 *        generator's last untied tensor, both gradients are at hand before
 *        the decoder backward, and the ratio costs two norms. Treated as a
 *        constant (no gradient through it).
 *      Total: L = L_vae + adv_weight * L_G + fm_weight * L_fm; one VAE
 *        backward with dlogits_extra = adv_weight * dlogits_adv + fm_weight
 *        * dlogits_fm, so the adversarial gradient reaches the decoder and,
 *        through z, the encoder.
 *   3. the model's AdamW step (NaN/Inf guard: the step is skipped).
 * On steps without a G update the g_adv / fm / adv_weight metrics repeat
 * the most recent G step's values.
 *
 * Micro-batches and ranks (vaegan_set_split, docs/DESIGN.md §9.1): the
 * step's global batch of B windows is cut into ranks x accumulate
 * micro-batches; every quantity the full-batch step computes over the
 * batch is a sum of per-micro-batch parts reduced over the ranks
 * (util/dist), so the maths is the full batch's:
 *   pass 1, each micro-batch: VAE forward; recon nats and target count,
 *     the KL's per-dimension sums (free bits decide on the global batch
 *     mean), ||d recon/d logits||^2 unscaled; Gumbel-softmax (soft and
 *     hard kept per micro-batch); D's gradients of its loss part (sums
 *     / B). Reduce; D's AdamW on the summed gradient.
 *   pass 2 (G steps), each micro-batch, the updated D: real and fake
 *     feature sums, the G loss part and ||dlogits_adv||^2. Reduce: the
 *     feature means give L_fm and its row gradient, the two norms the
 *     adaptive weight (so every rank computes the same weight).
 *   pass 3, each micro-batch (the last one's activations are still live,
 *     the others' VAE forward is recomputed, same seeds): the global KL
 *     statistics, the adversarial dlogits, the VAE backward with the
 *     cross-entropy weighted n_k / N; gradients summed over micro-batches,
 *     reduced, the VAE's AdamW (clipping after the reduction).
 * eps is drawn per window from (seed, step, level, global window index)
 * and the Gumbel noise per element of the global batch, so a split draws
 * the full batch's numbers; the decoder's dropout seed is that of the
 * global micro-batch index k (k = 0: the full batch's), so with dropout
 * > 0 a split run matches the full batch in distribution only. With more
 * than one micro-batch per rank the VAE forward runs twice for all but the
 * last (the price of full-batch free bits and D-before-G ordering).
 * use_gan = 0 gives the plain VAE ("vae" mode): no discriminator is built.
 *
 * Validation (vaegan_eval): z = posterior mean, no dropout; recon is the
 * mean cross-entropy per non-PAD target and kl the plain (not free-bits)
 * KL in nats per window summed over levels; the stage's val loss is
 * recon + kl / T, the per-token negative ELBO with beta = 1 (evaluated at
 * the posterior mean), so it does not depend on the beta schedule and
 * cannot be lowered by collapsing or inflating the latent alone.
 *
 * Checkpoints (engine/checkpoint): tensors "vae.<vae tensor name>"
 * ("vae.enc....", "vae.latent....", "vae.dec.<transformer name>"),
 * "<D tensor name>" ("disc.embed.weight", ..., spectral-norm u/v buffers
 * included), AdamW moments "<name>.adam_m" / "<name>.adam_v"; header:
 * "mode" ("vae_gan" or "vae"), "vocab_version", "model" (model config),
 * "vae", "disc", "gan" (configs), "optimizer" / "d_optimizer" (step, t,
 * lr_mult, n_skipped), "last_g" (the carried G metrics), plus the caller's
 * metadata. */
#ifndef AURL_VAEGAN_H
#define AURL_VAEGAN_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "engine/nn/adamw.h"
#include "engine/model/discriminator.h"
#include "engine/model/model_config.h"
#include "engine/model/vae.h"
#include "util/fileio.h"

typedef struct {
    int use_gan;          /* 1: VAE-GAN, 0: plain VAE (no discriminator) */
    float tau;            /* Gumbel-softmax temperature at start_step (1.0) */
    float tau_min;        /* reached after tau_anneal_steps (0.5) */
    long tau_anneal_steps; /* linear anneal length; 0: constant tau (0) */
    float adv_weight;     /* base of the adaptive adversarial weight (0.1) */
    float adv_weight_max; /* clamp of the gradient-norm ratio (10) */
    float fm_weight;      /* feature-matching weight (1.0) */
    long start_step;      /* pure VAE before this step (500) */
    adamw_config opt;     /* the VAE's optimiser (lr schedule, betas, decay, clip) */
} vaegan_config;

/* Everything one training step measured. */
typedef struct {
    float loss;           /* total: recon + beta*KL/T + adv_weight*g_adv + fm_weight*fm */
    float recon, beta;
    float kl[VAE_LEVELS], kl_pen[VAE_LEVELS];
    int active[VAE_LEVELS];
    float d_loss, g_adv, fm, d_acc_real, d_acc_fake, adv_weight, tau;
    int gan_on;           /* the GAN ran this step */
    int g_update;         /* the adversarial gradient reached the generator this step */
    float lr, grad_norm;  /* the VAE's optimiser */
    float d_lr, d_grad_norm;
    int tokens;           /* non-PAD targets */
} vaegan_metrics;

/* Names and values of a metrics record (the trainer's train record),
 * starting "loss", "lr", "grad_norm" like the transformer's: fills up to
 * max entries, returns how many (VAEGAN_N_METRICS). */
#define VAEGAN_N_METRICS (4 + 3 * VAE_LEVELS + 11)
int vaegan_metrics_list(const vaegan_metrics *mt, const char **names, double *values, int max);

typedef struct vaegan vaegan;

/* Defaults listed in vaegan_config (opt: adamw_default_config(1e-4, 1e-5, 100, 10000)). */
void vaegan_config_defaults(vaegan_config *gc);
/* 0, or -1 with a message naming the bad field. */
int vaegan_config_validate(const vaegan_config *gc, char err[AURL_ERR_LEN]);

/* Build for batches up to B x T with weights from seed (VAE from seed, D
 * from a derived seed; dc is ignored when gc->use_gan is 0; dc->vocab
 * must equal mc->vocab_size). 0, or -1 with err set. */
int vaegan_create(vaegan **out, const model_config *mc, const vae_config *vc, const disc_config *dc,
                  const vaegan_config *gc, int B, int T, uint64_t seed, char err[AURL_ERR_LEN]);
void vaegan_free(vaegan *m);

vae *vaegan_vae(vaegan *m);
transformer *vaegan_decoder(vaegan *m);
disc *vaegan_disc(vaegan *m); /* NULL without GAN */
const adamw *vaegan_opt(const vaegan *m);
const adamw *vaegan_disc_opt(const vaegan *m); /* NULL without GAN */

/* One training step at optimiser step `step` on inputs/targets (B, T), on
 * one process with no split. Returns 0, 1 if the VAE's update was skipped
 * by the NaN/Inf guard, -1 on bad sizes. *mt (may be NULL) receives the
 * measurements. */
int vaegan_train_step(vaegan *m, const int32_t *inputs, const int32_t *targets, int B, int T, long step,
                      uint64_t seed, vaegan_metrics *mt);

/* How a step's global batch of ranks x accumulate x micro_b windows is
 * split: this rank holds the global micro-batches rank*accumulate ..
 * rank*accumulate + accumulate - 1. */
typedef struct {
    int rank, ranks, accumulate, micro_b;
} vaegan_split;
/* Set the split (micro_b at most the created B); allocates the stores of
 * the local micro-batches. 0 or -1 (err set). */
int vaegan_set_split(vaegan *m, const vaegan_split *sp, char err[AURL_ERR_LEN]);
/* One step of the split (see the top comment): inputs/targets hold this
 * rank's accumulate x micro_b windows of T, micro-batch after micro-batch;
 * every rank calls it. Metrics are the global batch's. 0, 1 (the VAE's
 * update skipped), -1 (bad sizes or a failed collective; err set). */
int vaegan_train_step_split(vaegan *m, const int32_t *inputs, const int32_t *targets, int T, long step,
                            uint64_t seed, vaegan_metrics *mt, char *err, size_t err_len);
/* Replicas: copy rank 0's weights, moments, spectral-norm state and
 * optimiser counters to every rank (0 or -1, err set); a hash of the
 * parameters and spectral-norm state (equal on every rank). */
int vaegan_broadcast(vaegan *m, char *err, size_t err_len);
uint64_t vaegan_param_hash(vaegan *m);

/* Validation on one batch (see the top comment): returns recon + kl / T
 * (NAN on bad sizes); recon, kl (nats per window, may be NULL) and the
 * non-PAD target count. Deterministic; no parameter changes. */
double vaegan_eval(vaegan *m, const int32_t *inputs, const int32_t *targets, int B, int T, double *recon,
                   double *kl, int *count);

/* Parameters: VAE (encoder + heads + decoder), D (0 without GAN). */
size_t vaegan_n_params_vae(const vaegan *m);
size_t vaegan_n_params_disc(const vaegan *m);

/* Write PATH atomically (weights, both optimisers, configs, meta merged). */
int vaegan_save(const char *path, const vaegan *m, const cJSON *meta, char err[AURL_ERR_LEN]);
/* Load PATH (made by vaegan_save for the same configs) into M; with_optimizer
 * also restores moments and counters. *meta (may be NULL) receives the
 * header (cJSON_Delete it). 0 or -1 (err set; M may hold part of it). */
int vaegan_load(const char *path, vaegan *m, int with_optimizer, cJSON **meta, char err[AURL_ERR_LEN]);
/* The configs recorded in a vaegan checkpoint (any may be NULL); *use_gan
 * (may be NULL) gets 1 for "vae_gan", 0 for "vae". 0 or -1. */
int vaegan_read_configs(const char *path, model_config *mc, vae_config *vc, disc_config *dc, int *use_gan,
                        char err[AURL_ERR_LEN]);
/* Stage 3's start: load a transformer checkpoint (stage 2) into the decoder
 * only; encoder, latent heads and D keep their fresh weights. 0 or -1. */
int vaegan_load_decoder_from(vaegan *m, const char *transformer_ckpt, char err[AURL_ERR_LEN]);
/* For generation: build a vae for batches up to B x T from PATH's configs
 * and load its weights (no D, no optimiser). 0 or -1 (err set). */
int vaegan_load_vae_for_inference(const char *path, int B, int T, vae **out, char err[AURL_ERR_LEN]);
#endif
