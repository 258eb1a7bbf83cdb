/* spectral_norm: power iteration and W / sigma(W) forward/backward. */
#include "engine/nn/spectral_norm.h"

#include <math.h>

#define SN_EPS 1e-12

/* x /= max(||x||, eps) as F.normalize. */
static void normalize(float *x, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++) s += (double)x[i] * x[i];
    double nrm = sqrt(s);
    if (nrm < SN_EPS) nrm = SN_EPS;
    for (int i = 0; i < n; i++) x[i] = (float)(x[i] / nrm);
}

/* u = W v (OC), double accumulation. */
static void mat_vec(float *u, const float *W, const float *v, int OC, int IC)
{
    for (int o = 0; o < OC; o++) {
        const float *w = W + (size_t)o * IC;
        double s = 0.0;
        for (int i = 0; i < IC; i++) s += (double)w[i] * v[i];
        u[o] = (float)s;
    }
}

/* v = W^T u (IC), double accumulation. */
static void mat_t_vec(float *v, const float *W, const float *u, int OC, int IC)
{
    /* a strided column walk: the matrices are small layer weights */
    for (int i = 0; i < IC; i++) {
        double s = 0.0;
        for (int o = 0; o < OC; o++) s += (double)W[(size_t)o * IC + i] * u[o];
        v[i] = (float)s;
    }
}

void sn_init(float *u, float *v, const float *W, int OC, int IC, rng_state *r, int iters)
{
    for (int o = 0; o < OC; o++) u[o] = (float)rng_normal(r);
    for (int i = 0; i < IC; i++) v[i] = (float)rng_normal(r);
    normalize(u, OC);
    normalize(v, IC);
    sn_power_iteration(W, u, v, OC, IC, iters);
}

float sn_sigma(const float *W, const float *u, const float *v, int OC, int IC)
{
    double s = 0.0;
    for (int o = 0; o < OC; o++) {
        const float *w = W + (size_t)o * IC;
        double t = 0.0;
        for (int i = 0; i < IC; i++) t += (double)w[i] * v[i];
        s += t * u[o];
    }
    return (float)s;
}

float sn_power_iteration(const float *W, float *u, float *v, int OC, int IC, int iters)
{
    for (int it = 0; it < iters; it++) {
        mat_vec(u, W, v, OC, IC);
        normalize(u, OC);
        mat_t_vec(v, W, u, OC, IC);
        normalize(v, IC);
    }
    return sn_sigma(W, u, v, OC, IC);
}

void sn_forward(float *Wsn, const float *W, float sigma, size_t n)
{
    float s = fabsf(sigma) < (float)SN_EPS ? (float)SN_EPS : sigma;
    float inv = 1.0f / s;
    for (size_t i = 0; i < n; i++) Wsn[i] = W[i] * inv;
}

void sn_backward(float *dW, const float *dWsn, const float *Wsn, const float *u, const float *v,
                 float sigma, int OC, int IC)
{
    size_t n = (size_t)OC * IC;
    double dot = 0.0;
    for (size_t i = 0; i < n; i++) dot += (double)dWsn[i] * Wsn[i];
    float s = fabsf(sigma) < (float)SN_EPS ? (float)SN_EPS : sigma;
    float inv = 1.0f / s;
    float c = (float)dot;
    for (int o = 0; o < OC; o++) {
        float cu = c * u[o];
        const float *g = dWsn + (size_t)o * IC;
        float *d = dW + (size_t)o * IC;
        for (int i = 0; i < IC; i++) d[i] += (g[i] - cu * v[i]) * inv;
    }
}
