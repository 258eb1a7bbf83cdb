/* discriminator: the VAE-GAN's multi-scale discriminator (docs/DESIGN.md §8).
 * Input: token distributions x (B, T, V): one-hot rows for real data, the
 * generator's (Gumbel straight-through) distributions for fake data.
 *   h0 = x @ embed                         embed (V, E), no spectral norm
 *   for each scale s in cfg.scales (own weights per scale):
 *     p = average pool of h0 over time in windows of s positions
 *         (Ts = ceil(T/s) windows; a short last window averages what it has)
 *     n_layers times:  a = SN-linear(unfold_k(h)); h = LeakyReLU(a)
 *         unfold_k concatenates the k neighbouring positions t-(k-1)/2 ..
 *         t+(k-1)/2 of the same sequence (zeros past the edges): a 1-D
 *         convolution of width k written as one matrix product
 *     feat_s = mean over the Ts positions of h        (B, hidden)
 *     logit_s = SN-linear(feat_s) -> 1
 *   logit = mean over scales of logit_s.
 * Spectral norm (engine/spectral_norm) on every linear weight, u/v kept
 * across steps, `sn_iters` power iterations per forward with update_sn=1.
 * Features for feature matching: (B, n_scales * hidden), scale-major per
 * example. Memory: one arena of parameters, gradients and AdamW moments,
 * one of activations for the (B, T) given at creation; forward/backward/
 * step do not allocate. The forward's activations serve the next backward,
 * so run forward+backward pairs one batch at a time (real, then fake).
 *
 * VAE-GAN step (decoder logits L (B*T, V) from the VAE forward):
 *   fake: gumbel_noise(g); gumbel_softmax_forward(soft, hard, L, g, B*T, V, tau)
 *   D step (every step; n_critic D steps per G step):
 *     (the D losses are sums of a real and a fake term, so each half can be
 *     back-propagated right after its own forward)
 *     lr = disc_forward_tokens(d, real, B, T, 1)
 *     Ld = gan_d_loss(kind, lr, B, NULL, 0, dr, NULL); disc_backward(d, dr, NULL, 1, NULL)
 *     lf = disc_forward_tokens(d, hard, B, T, 0)   (detached fake)
 *     Ld += gan_d_loss(kind, NULL, 0, lf, B, NULL, df); disc_backward(d, df, NULL, 1, NULL)
 *     disc_step(d, &dopt, Ld)
 *   G step: disc_forward_tokens(d, real, B, T, 0), copy disc_features (real)
 *     lg = disc_forward_tokens(d, hard, B, T, 0)
 *     Lg = gan_g_loss(kind, lg, B, dl); Lfm = gan_fm_loss(..., dfeat, ...)
 *     disc_backward(d, dl scaled, dfeat scaled, 0, dx)      (D untouched)
 *     gumbel_softmax_backward(dlogits, soft, dx, B*T, V, tau, lambda, 0)
 *     transformer_backward_with_dlogits(decoder, dlogits, 1) with the VAE's
 *     own reconstruction/KL backward. */
#ifndef AURL_DISCRIMINATOR_H
#define AURL_DISCRIMINATOR_H

#include <stddef.h>
#include <stdint.h>

#include "engine/nn/adamw.h"
#include "engine/nn/gan_loss.h"
#include "engine/nn/tensor_table.h"
#include "util/fileio.h"

#define DISC_MAX_SCALES 4
#define DISC_MAX_LAYERS 4

typedef struct {
    int vocab;       /* V, 774 */
    int embed;       /* E, 64 */
    int hidden;      /* 128 */
    int n_layers;    /* SN-linear + LeakyReLU layers per scale, 2 */
    int kernel;      /* neighbouring positions mixed per layer (odd), 3 */
    int n_scales;    /* 3 */
    int scales[DISC_MAX_SCALES]; /* pooling factors, {1, 4, 16} */
    float leaky;     /* LeakyReLU slope, 0.2 */
    int sn_iters;    /* power iterations per training forward, 1 */
    float lr;        /* own AdamW: 2e-4, betas (0.5, 0.999), eps 1e-8, */
    float beta1, beta2; /* weight decay 0, no clipping, constant lr */
    float weight_decay;
    float grad_clip; /* <= 0: off */
    int n_critic;    /* D updates per generator update, 1 */
    gan_loss_kind loss; /* hinge */
} disc_config;

/* The discriminator's tensors (nn_tensor): parameters (with grad/m/v) or spectral-norm state
 * buffers ("...weight_u", "...weight_v": buffer=1, grad/m/v NULL, not
 * optimised, but saved in checkpoints so the power iteration continues).
 * Names: "disc.embed.weight", "disc.s0.l1.weight", "disc.s2.head.weight_u", ... */

typedef struct disc disc;

disc_config disc_config_default(void);
/* 0, or -1 with a message naming the bad field in err. */
int disc_config_validate(const disc_config *c, char err[AURL_ERR_LEN]);
/* AdamW settings for D from the config (constant lr schedule). */
adamw_config disc_adamw_config(const disc_config *c);
/* Parameter count of a valid config (0 if invalid). */
size_t disc_count_params(const disc_config *c);

/* Build D for batches up to B x T, weights from seed (embedding normal(0,1)
 * as nn.Embedding, linear layers uniform(+-1/sqrt(in)) as nn.Linear, u/v
 * random + 15 power iterations as PyTorch). 0, or -1 with err set. */
int disc_create(disc **out, const disc_config *cfg, int B, int T, uint64_t seed, char err[AURL_ERR_LEN]);
void disc_free(disc *d);
const disc_config *disc_get_config(const disc *d);

/* Forward on dense distributions x (B*T*V). x must stay valid until the
 * matching backward. update_sn=1 runs sn_iters power iterations first
 * (training; do it once per D step), 0 keeps u, v. Returns the combined
 * logits (B). B, T at most the created sizes. */
const float *disc_forward(disc *d, const float *x, int B, int T, int update_sn);
/* The same for one-hot input given as token ids (B*T): the sparse fast path
 * (real data, or the hard forward value of a straight-through fake). Ids
 * outside [0, V) give an all-zero row. tokens must stay valid until backward. */
const float *disc_forward_tokens(disc *d, const int32_t *tokens, int B, int T, int update_sn);

/* Backward of the last forward: dlogits (B) on the combined logits and/or
 * dfeat (B, feature_dim) on the features (either may be NULL).
 * param_grads=1 accumulates parameter gradients; 0 leaves them untouched
 * (generator step). dinput (B*T*V), if not NULL, is overwritten with
 * d/dx (for either forward: with tokens it is the gradient w.r.t. the
 * one-hot rows, what a straight-through estimator needs). */
void disc_backward(disc *d, const float *dlogits, const float *dfeat, int param_grads, float *dinput);
void disc_zero_grad(disc *d);
/* One AdamW step of D with the D loss for the NaN guard; zeroes grads. */
adamw_result disc_step(disc *d, adamw *opt, float loss);

const float *disc_logits(const disc *d);       /* (B) combined, last forward */
const float *disc_scale_logits(const disc *d); /* (n_scales, B) */
const float *disc_features(const disc *d);     /* (B, feature_dim) */
int disc_feature_dim(const disc *d);           /* n_scales * hidden */
/* sigma of SN layer i (0 .. n_sn-1, scale-major: layers then head) as used
 * by the last forward. */
int disc_n_sn(const disc *d);
float disc_sn_sigma(const disc *d, int i);

size_t disc_n_params(const disc *d);
int disc_n_tensors(const disc *d); /* parameters and SN buffers */
const nn_tensor *disc_tensor_at(const disc *d, int i);
const nn_tensor *disc_tensor_find(const disc *d, const char *name);
/* Flat views (n_params floats each) of parameters, grads, AdamW moments. */
float *disc_params(disc *d);
float *disc_grads(disc *d);
float *disc_adam_m(disc *d);
float *disc_adam_v(disc *d);
/* The spectral-norm u/v vectors (*n floats), part of the state replicas share. */
float *disc_sn_state(disc *d, size_t *n);
#endif
