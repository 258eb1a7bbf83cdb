/* gradcheck: finite-difference gradient checking helpers for the tests. */
#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/rng.h"

void gc_fill(float *x, size_t n, uint64_t seed, float scale)
{
    uint64_t base = rng_mix64(seed);
    for (size_t i = 0; i < n; i++) {
        double u = (double)(rng_mix64(base + i) >> 11) / 9007199254740992.0; /* [0,1) */
        x[i] = (float)((2.0 * u - 1.0) * scale);
    }
}

void gc_tokens(int32_t *x, int n, int V, uint64_t seed)
{
    rng_state r;
    rng_seed(&r, seed);
    for (int i = 0; i < n; i++) x[i] = (int32_t)rng_below(&r, (uint64_t)V);
}

void gc_randomize_tensor(const nn_tensor *t, rng_state *r, float sd)
{
    int ln_w = strstr(t->name, "ln") && strstr(t->name, ".weight");
    for (size_t j = 0; j < t->numel; j++) t->param[j] = (ln_w ? 1.0f : 0.0f) + sd * (float)rng_normal(r);
}

double gc_dot(const float *out, const float *w, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)out[i] * (double)w[i];
    return s;
}

/* loss at x[i] = x0 + d (d exactly representable offset from x0) */
static double loss_at(gc_loss_fn loss, void *ctx, float *xi, float x0, float d, double *step)
{
    *xi = x0 + d;
    *step = (double)*xi - (double)x0; /* the step actually taken in float */
    double v = loss(ctx);
    *xi = x0;
    return v;
}

double gc_check(gc_loss_fn loss, void *ctx, float *x, const float *grad, size_t n, float h,
                size_t max_checks, double floor, double tol, const char *name)
{
    double worst = 0.0;
    size_t worst_i = 0;
    double worst_g = 0.0, worst_fd = 0.0;
    size_t step = n > max_checks ? n / max_checks : 1;
    for (size_t i = 0; i < n; i += step) {
        float x0 = x[i];
        double s1, s2, s_1, s_2;
        double f1 = loss_at(loss, ctx, &x[i], x0, h, &s1);
        double f_1 = loss_at(loss, ctx, &x[i], x0, -h, &s_1);
        double f2 = loss_at(loss, ctx, &x[i], x0, 2 * h, &s2);
        double f_2 = loss_at(loss, ctx, &x[i], x0, -2 * h, &s_2);
        /* steps in float are not exactly +-h, +-2h: use the two symmetric
         * central differences with their real steps and Richardson-combine */
        double d1 = (f1 - f_1) / (s1 - s_1);
        double d2 = (f2 - f_2) / (s2 - s_2);
        double fd = (4.0 * d1 - d2) / 3.0;
        double g = grad[i];
        double den = fabs(g) + fabs(fd);
        if (den < floor) den = floor;
        double err = fabs(g - fd) / den;
        if (err > worst) {
            worst = err;
            worst_i = i;
            worst_g = g;
            worst_fd = fd;
        }
    }
    if (worst > tol)
        printf("gradcheck %s: worst rel err %.3g at %zu (analytic %.6g, numeric %.6g)\n", name,
               worst, worst_i, worst_g, worst_fd);
    return worst;
}
