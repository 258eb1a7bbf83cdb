/* gan_loss: hinge / non-saturating GAN losses, feature matching, accuracy, adaptive weight. */
#include "engine/nn/gan_loss.h"

#include <math.h>
#include <string.h>

int gan_loss_kind_parse(const char *s, gan_loss_kind *out)
{
    if (!s) return -1;
    if (!strcmp(s, "hinge")) {
        *out = GAN_LOSS_HINGE;
        return 0;
    }
    if (!strcmp(s, "nonsaturating") || !strcmp(s, "ns")) {
        *out = GAN_LOSS_NONSATURATING;
        return 0;
    }
    return -1;
}

const char *gan_loss_kind_name(gan_loss_kind k)
{
    return k == GAN_LOSS_HINGE ? "hinge" : "nonsaturating";
}

/* softplus(x) = log(1 + e^x), stable for large |x|. */
static double softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }
static double sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x)); }

/* sum over n of f(sgn * x) divided by div, and its derivative w.r.t. x
 * (divided by div): hinge term relu(1 + sgn*x) or softplus(sgn*x). */
static double term_mean(gan_loss_kind k, const float *x, int n, double sgn, float *dx, int div)
{
    if (!x || n <= 0 || div <= 0) return 0.0;
    double L = 0.0;
    for (int i = 0; i < n; i++) {
        double z = sgn * x[i];
        double d;
        if (k == GAN_LOSS_HINGE) {
            L += z > -1.0 ? 1.0 + z : 0.0;
            d = z > -1.0 ? 1.0 : 0.0;
        } else {
            L += softplus(z);
            d = sigmoid(z);
        }
        if (dx) dx[i] = (float)(sgn * d / div);
    }
    return L / div;
}

float gan_d_loss(gan_loss_kind k, const float *real, int n_real, const float *fake, int n_fake,
                 float *dreal, float *dfake)
{
    return (float)(term_mean(k, real, n_real, -1.0, dreal, n_real) + term_mean(k, fake, n_fake, 1.0, dfake, n_fake));
}

double gan_d_loss_part(gan_loss_kind k, const float *real, const float *fake, int n, int n_total, float *dreal,
                       float *dfake)
{
    return term_mean(k, real, n, -1.0, dreal, n_total) + term_mean(k, fake, n, 1.0, dfake, n_total);
}

double gan_g_loss_part(gan_loss_kind k, const float *fake, int n, int n_total, float *dfake)
{
    if (n <= 0 || n_total <= 0) return 0.0;
    if (k == GAN_LOSS_NONSATURATING) return term_mean(k, fake, n, -1.0, dfake, n_total);
    double L = 0.0;
    for (int i = 0; i < n; i++) {
        L -= fake[i];
        if (dfake) dfake[i] = -1.0f / n_total;
    }
    return L / n_total;
}

float gan_g_loss(gan_loss_kind k, const float *fake, int n, float *dfake)
{
    return (float)gan_g_loss_part(k, fake, n, n, dfake);
}

/* mean over n rows of x (n, F) into m (F). */
static void row_mean(float *m, const float *x, int n, int F)
{
    for (int f = 0; f < F; f++) {
        double s = 0.0;
        for (int b = 0; b < n; b++) s += x[(size_t)b * F + f];
        m[f] = n > 0 ? (float)(s / n) : 0.0f;
    }
}

float gan_fm_loss(gan_fm_kind k, const float *real, int n_real, const float *fake, int n_fake, int F,
                  float *dfake, float *mean_scratch)
{
    if (F <= 0 || n_fake <= 0) return 0.0f;
    float *mr = mean_scratch, *mf = mean_scratch + F;
    row_mean(mr, real, n_real, F);
    row_mean(mf, fake, n_fake, F);
    /* mf becomes the per-feature gradient of the mean */
    float L = gan_fm_from_means(k, mr, mf, F, n_fake, mf);
    if (dfake)
        for (int b = 0; b < n_fake; b++) memcpy(dfake + (size_t)b * F, mf, (size_t)F * sizeof *mf);
    return L;
}

float gan_fm_from_means(gan_fm_kind k, const float *mr, const float *mf, int F, int n_fake, float *grow)
{
    if (F <= 0 || n_fake <= 0) return 0.0f;
    double L = 0.0;
    for (int f = 0; f < F; f++) {
        double d = (double)mf[f] - mr[f];
        L += k == GAN_FM_L2 ? d * d : fabs(d);
        double g = k == GAN_FM_L2 ? 2.0 * d : (d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0);
        grow[f] = (float)(g / ((double)F * n_fake));
    }
    return (float)(L / F);
}

void gan_accuracy(const float *real, int n_real, const float *fake, int n_fake, float *acc_real,
                  float *acc_fake)
{
    int cr = 0, cf = 0;
    for (int i = 0; i < n_real; i++) cr += real[i] > 0.0f;
    for (int i = 0; i < n_fake; i++) cf += fake[i] <= 0.0f;
    if (acc_real) *acc_real = n_real > 0 ? (float)cr / n_real : 0.0f;
    if (acc_fake) *acc_fake = n_fake > 0 ? (float)cf / n_fake : 0.0f;
}

double gan_sum_sq(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

double gan_norm(const float *x, size_t n) { return sqrt(gan_sum_sq(x, n)); }

float gan_adaptive_weight(const float *g_rec, const float *g_adv, size_t n, float base, float max_w)
{
    return gan_adaptive_weight_of_norms(gan_norm(g_rec, n), gan_norm(g_adv, n), base, max_w);
}

float gan_adaptive_weight_of_norms(double norm_rec, double norm_adv, float base, float max_w)
{
    double r = norm_rec / (norm_adv + 1e-4);
    if (!isfinite(r)) return 0.0f;
    if (r < 0.0) r = 0.0;
    if (r > max_w) r = max_w;
    return (float)(base * r);
}
