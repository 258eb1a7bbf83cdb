/* kl: KL divergence of diagonal Gaussians N(mu, exp(logvar)) to the prior
 * N(0, I) with "free bits", and the beta annealing schedule of the VAE.
 *
 * Free bits (Kingma et al. 2016, per dimension, hinge form): for each latent
 * dimension j the KL is averaged over the R rows (batch x segments),
 * kbar_j = mean_r 0.5 (mu^2 + exp(lv) - 1 - lv), and the penalised value is
 * rows_per_example * sum_j max(kbar_j, free_bits), i.e. per example. A
 * dimension whose mean KL is below free_bits costs the constant free_bits
 * and gets zero gradient; above it, the gradient is that of the plain KL. */
#ifndef AURL_KL_H
#define AURL_KL_H

typedef struct {
    double kl;         /* plain KL in nats per example: sum over dims and segments, mean over the batch */
    double kl_pen;     /* the penalised value after free bits (per example) */
    int active;        /* dimensions with kbar_j > KL_ACTIVE_NATS */
} kl_stats;

/* A dimension is "active" (not collapsed) when its mean KL exceeds this many nats. */
#define KL_ACTIVE_NATS 0.01

/* KL over R = B*S rows of D dims (mu, logvar row-major R x D; S segments per
 * example). kbar (D floats, may be NULL) receives the per-dim mean KL. */
kl_stats kl_forward(const float *mu, const float *logvar, int B, int S, int D, float free_bits, float *kbar);
/* Per-dimension sums (D doubles) of the KL over R rows: the part of a
 * batch's kbar that micro-batches (and ranks) add up. */
void kl_dim_sums(const float *mu, const float *logvar, int R, int D, double *sums);
/* kl_forward's statistics (and kbar, may be NULL) from the per-dimension
 * sums over all B*S rows of a batch of B examples (kl_dim_sums added up). */
kl_stats kl_from_sums(const double *sums, int B, int S, int D, float free_bits, float *kbar);
/* Accumulates (+=) scale * d(kl_pen)/d(mu, logvar) over the B*S rows given
 * into dmu, dlogvar; kbar (from kl_forward or kl_from_sums) decides which
 * dimensions are above free bits and kl_pen is the mean over B_total
 * examples (B for a whole batch; the global batch for a micro-batch). */
void kl_backward(float *dmu, float *dlogvar, const float *mu, const float *logvar, const float *kbar, int B, int S,
                 int D, float free_bits, float scale, int B_total);

typedef enum { BETA_LINEAR = 0, BETA_CYCLICAL = 1 } beta_kind;

typedef struct {
    beta_kind kind;
    long warmup_steps; /* linear: steps from 0 to beta_max; cyclical: ramp length within each cycle */
    long cycle_steps;  /* cyclical: cycle length (>= 1) */
    float beta_max;
} beta_schedule;

/* beta at optimiser step `step` (>= 0): linear: beta_max * min(1, step /
 * warmup); cyclical (Fu et al. 2019): the same ramp restarted every
 * cycle_steps, i.e. beta_max * min(1, (step mod cycle) / warmup). warmup
 * <= 0 gives beta_max throughout. */
float beta_at(const beta_schedule *s, long step);
/* Parse "linear" | "cyclical"; returns 0 or -1. */
int beta_kind_parse(const char *name, beta_kind *kind);
const char *beta_kind_name(beta_kind kind);
#endif
