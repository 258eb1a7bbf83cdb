/* gan_loss: adversarial losses on discriminator logits, feature matching,
 * discriminator accuracy and the adaptive adversarial weight.
 *   hinge:          L_D = mean relu(1 - D(real)) + mean relu(1 + D(fake))
 *                   L_G = -mean D(fake)
 *   non-saturating: L_D = mean softplus(-D(real)) + mean softplus(D(fake))
 *                   L_G = mean softplus(-D(fake))
 * (softplus(-x) = -log sigmoid(x): the BCE losses of the original GAN with
 * the generator's -log D trick.) Gradients are w.r.t. the logits, means
 * over each batch. */
#ifndef AURL_GAN_LOSS_H
#define AURL_GAN_LOSS_H

#include <stddef.h>

typedef enum { GAN_LOSS_HINGE = 0, GAN_LOSS_NONSATURATING = 1 } gan_loss_kind;
typedef enum { GAN_FM_L2 = 0, GAN_FM_L1 = 1 } gan_fm_kind;

/* "hinge" / "nonsaturating" (also "ns"); 0 or -1 if unknown. */
int gan_loss_kind_parse(const char *s, gan_loss_kind *out);
const char *gan_loss_kind_name(gan_loss_kind k);

/* Discriminator loss; writes dreal (n_real) and dfake (n_fake) (either may
 * be NULL), overwriting. */
float gan_d_loss(gan_loss_kind k, const float *real, int n_real, const float *fake, int n_fake,
                 float *dreal, float *dfake);
/* Generator loss on D(fake); writes dfake (n) (may be NULL), overwriting. */
float gan_g_loss(gan_loss_kind k, const float *fake, int n, float *dfake);
/* A micro-batch's part of a batch of n_total: the D loss over its n real
 * and n fake logits and the G loss over its n fake logits, each term's sum
 * divided by n_total (so the parts add up to the batch's losses), with the
 * gradients likewise (dreal, dfake may be NULL). */
double gan_d_loss_part(gan_loss_kind k, const float *real, const float *fake, int n, int n_total, float *dreal,
                       float *dfake);
double gan_g_loss_part(gan_loss_kind k, const float *fake, int n, int n_total, float *dfake);

/* Feature matching between the batch means of D's features, row-major
 * real (n_real, F) and fake (n_fake, F) (the discriminator's features of
 * all scales concatenated per example):
 *   mr = mean_b real[b], mf = mean_b fake[b];
 *   L2: L = mean_f (mf - mr)^2      dfake[b, f] = 2 (mf - mr) / (F n_fake)
 *   L1: L = mean_f |mf - mr|        dfake[b, f] = sign(mf - mr) / (F n_fake)
 * The real side is a constant (no gradient). dfake (may be NULL) is
 * overwritten. mean_scratch needs 2F floats. */
float gan_fm_loss(gan_fm_kind k, const float *real, int n_real, const float *fake, int n_fake, int F,
                  float *dfake, float *mean_scratch);

/* Feature matching from the batch means mr, mf (F each; what gan_fm_loss
 * computes from its rows, or micro-batches' feature sums added up over a
 * batch of n_fake): returns L and writes grow (F), the gradient of every
 * fake row (may alias mf). */
float gan_fm_from_means(gan_fm_kind k, const float *mr, const float *mf, int F, int n_fake, float *grow);

/* Fractions of real logits > 0 and fake logits <= 0 (D's accuracy). */
void gan_accuracy(const float *real, int n_real, const float *fake, int n_fake, float *acc_real,
                  float *acc_fake);

/* L2 norm of n floats (double accumulation), and its square (the part a
 * micro-batch adds). */
double gan_norm(const float *x, size_t n);
double gan_sum_sq(const float *x, size_t n);
/* Adaptive adversarial weight (VQGAN, Esser et al. 2021, eq. 7):
 *   lambda = base * clamp(||g_rec|| / (||g_adv|| + 1e-4), 0, max_w)
 * where g_rec and g_adv are the gradients of the reconstruction loss and of
 * the (unweighted) generator adversarial loss w.r.t. the same tensor of the
 * generator's last layer (n floats each). The caller treats lambda as a
 * constant (no gradient through it). A non-finite ratio gives 0. */
float gan_adaptive_weight(const float *g_rec, const float *g_adv, size_t n, float base, float max_w);
/* The same from the two norms (e.g. reduced over micro-batches and ranks). */
float gan_adaptive_weight_of_norms(double norm_rec, double norm_adv, float base, float max_w);
#endif
