/* gumbel: seeded Gumbel-softmax (soft / straight-through) forward and backward. */
#include "engine/nn/gumbel.h"

#include <math.h>
#include <string.h>

#include "util/rng.h"

#define GUMBEL_MIN_TAU 1e-4f

void gumbel_noise(float *g, long n, uint64_t seed) { gumbel_noise_at(g, 0, n, seed); }

void gumbel_noise_at(float *g, long start, long n, uint64_t seed)
{
    uint64_t base = rng_mix64(seed ^ 0x6A7B3C1D5E9F0A2Bull);
#pragma omp parallel for schedule(static) if (n > 65536)
    for (long i = 0; i < n; i++) {
        /* 53-bit uniform in (0, 1): (k + 0.5) / 2^53 */
        double u = ((double)(rng_mix64(base + (uint64_t)(start + i)) >> 11) + 0.5) / 9007199254740992.0;
        g[i] = (float)(-log(-log(u)));
    }
}

void gumbel_softmax_forward(float *soft, int32_t *hard_idx, const float *logits, const float *noise,
                            int N, int V, float tau)
{
    if (!(tau >= GUMBEL_MIN_TAU)) tau = GUMBEL_MIN_TAU;
    float inv = 1.0f / tau;
#pragma omp parallel for schedule(static) if ((long)N * V > 65536)
    for (int n = 0; n < N; n++) {
        const float *l = logits + (size_t)n * V;
        const float *g = noise ? noise + (size_t)n * V : NULL;
        float *y = soft + (size_t)n * V;
        float mx = -INFINITY;
        int arg = 0;
        for (int v = 0; v < V; v++) {
            float z = (l[v] + (g ? g[v] : 0.0f)) * inv;
            y[v] = z;
            if (z > mx) {
                mx = z;
                arg = v;
            }
        }
        double s = 0.0;
        for (int v = 0; v < V; v++) {
            y[v] = expf(y[v] - mx);
            s += y[v];
        }
        float is = (float)(1.0 / s);
        for (int v = 0; v < V; v++) y[v] *= is;
        if (hard_idx) hard_idx[n] = arg;
    }
}

void gumbel_one_hot(float *out, const int32_t *hard_idx, int N, int V)
{
    memset(out, 0, (size_t)N * V * sizeof *out);
    for (int n = 0; n < N; n++)
        if (hard_idx[n] >= 0 && hard_idx[n] < V) out[(size_t)n * V + hard_idx[n]] = 1.0f;
}

void gumbel_softmax_backward(float *dlogits, const float *soft, const float *dy, int N, int V, float tau,
                             float scale, int accumulate)
{
    if (!(tau >= GUMBEL_MIN_TAU)) tau = GUMBEL_MIN_TAU;
    float c = scale / tau;
#pragma omp parallel for schedule(static) if ((long)N * V > 65536)
    for (int n = 0; n < N; n++) {
        const float *y = soft + (size_t)n * V;
        const float *d = dy + (size_t)n * V;
        float *o = dlogits + (size_t)n * V;
        double dot = 0.0;
        for (int v = 0; v < V; v++) dot += (double)d[v] * y[v];
        float fd = (float)dot;
        if (accumulate)
            for (int v = 0; v < V; v++) o[v] += c * y[v] * (d[v] - fd);
        else
            for (int v = 0; v < V; v++) o[v] = c * y[v] * (d[v] - fd);
    }
}
