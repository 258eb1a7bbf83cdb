/* kl: Gaussian KL to N(0, I) with per-dimension free bits, and beta_at. */
#include "engine/nn/kl.h"

#include <math.h>
#include <string.h>

/* Sum over the R rows of dimension j's KL. */
static double dim_sum(const float *mu, const float *logvar, int R, int D, int j)
{
    double sum = 0.0;
    for (int r = 0; r < R; r++) {
        double m = mu[(size_t)r * D + j], lv = logvar[(size_t)r * D + j];
        sum += 0.5 * (m * m + exp(lv) - 1.0 - lv);
    }
    return sum;
}

/* Add dimension j (its KL summed over R rows, S per example) to st. */
static void add_dim(kl_stats *st, double sum, int R, int S, float free_bits, float *kbar_j)
{
    double kb = sum / R;
    if (kbar_j) *kbar_j = (float)kb;
    st->kl += S * kb;
    st->kl_pen += S * (kb > free_bits ? kb : (double)free_bits);
    st->active += kb > KL_ACTIVE_NATS;
}

kl_stats kl_forward(const float *mu, const float *logvar, int B, int S, int D, float free_bits, float *kbar)
{
    kl_stats st = {0.0, 0.0, 0};
    int R = B * S;
    if (R <= 0 || D <= 0) return st;
    for (int j = 0; j < D; j++) add_dim(&st, dim_sum(mu, logvar, R, D, j), R, S, free_bits, kbar ? kbar + j : NULL);
    return st;
}

void kl_dim_sums(const float *mu, const float *logvar, int R, int D, double *sums)
{
    for (int j = 0; j < D; j++) sums[j] = R > 0 ? dim_sum(mu, logvar, R, D, j) : 0.0;
}

kl_stats kl_from_sums(const double *sums, int B, int S, int D, float free_bits, float *kbar)
{
    kl_stats st = {0.0, 0.0, 0};
    int R = B * S;
    if (R <= 0 || D <= 0) return st;
    for (int j = 0; j < D; j++) add_dim(&st, sums[j], R, S, free_bits, kbar ? kbar + j : NULL);
    return st;
}

void kl_backward(float *dmu, float *dlogvar, const float *mu, const float *logvar, const float *kbar, int B, int S,
                 int D, float free_bits, float scale, int B_total)
{
    int R = B * S;
    if (R <= 0 || D <= 0 || B_total <= 0) return;
    /* kl_pen = S * sum_j kbar_j (active dims) = (1/B_total) sum_r sum_j KL_rj */
    float f = scale / (float)B_total;
    for (int r = 0; r < R; r++)
        for (int j = 0; j < D; j++) {
            if (!(kbar[j] > free_bits)) continue;
            size_t i = (size_t)r * D + j;
            dmu[i] += f * mu[i];
            dlogvar[i] += f * 0.5f * (expf(logvar[i]) - 1.0f);
        }
}

float beta_at(const beta_schedule *s, long step)
{
    if (step < 0) step = 0;
    if (s->warmup_steps <= 0) return s->beta_max;
    long pos = step;
    if (s->kind == BETA_CYCLICAL && s->cycle_steps > 0) pos = step % s->cycle_steps;
    double frac = (double)pos / (double)s->warmup_steps;
    return (float)(s->beta_max * (frac < 1.0 ? frac : 1.0));
}

int beta_kind_parse(const char *name, beta_kind *kind)
{
    if (!name || !kind) return -1;
    if (!strcmp(name, "linear")) *kind = BETA_LINEAR;
    else if (!strcmp(name, "cyclical")) *kind = BETA_CYCLICAL;
    else return -1;
    return 0;
}

const char *beta_kind_name(beta_kind kind) { return kind == BETA_CYCLICAL ? "cyclical" : "linear"; }
