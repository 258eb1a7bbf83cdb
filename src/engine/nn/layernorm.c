/* layernorm: LayerNorm over rows (eps 1e-5, biased variance, as PyTorch). */
#include "engine/nn/layernorm.h"

#include <math.h>
#include <stddef.h>

#define LN_EPS 1e-5f
#define LN_PAR_MIN 16384 /* elements below which threads cost more than they save */
#define LN_COL_CHUNK 64  /* columns per work item for the weight/bias gradients */

/* Normalise each row of inp, then scale and shift; saves mean and rstd. */
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                       const float *weight, const float *bias, int N, int C)
{
    if (C <= 0) return;
    #pragma omp parallel for schedule(static) if ((long)N * C > LN_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *o = out + (size_t)n * C;
        float m = 0.0f;
        for (int i = 0; i < C; i++) m += x[i];
        m /= (float)C;
        float v = 0.0f;
        for (int i = 0; i < C; i++) {
            float d = x[i] - m;
            v += d * d;
        }
        v /= (float)C;
        float s = 1.0f / sqrtf(v + LN_EPS);
        for (int i = 0; i < C; i++) o[i] = (x[i] - m) * s * weight[i] + bias[i];
        mean[n] = m;
        rstd[n] = s;
    }
}

/* dinp += rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm)), with
 * dnorm = weight * dout; dweight += norm * dout; dbias += dout (row sums). */
void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, const float *mean,
                        const float *rstd, int N, int C)
{
    if (C <= 0 || N <= 0) return;
    int par = (long)N * C > LN_PAR_MIN;
    #pragma omp parallel for schedule(static) if (par)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        const float *d = dout + (size_t)n * C;
        float *dx = dinp + (size_t)n * C;
        float m = mean[n], s = rstd[n];
        float dmean = 0.0f, dnorm_mean = 0.0f;
        for (int i = 0; i < C; i++) {
            float norm = (x[i] - m) * s;
            float dn = weight[i] * d[i];
            dmean += dn;
            dnorm_mean += dn * norm;
        }
        dmean /= (float)C;
        dnorm_mean /= (float)C;
        for (int i = 0; i < C; i++) {
            float norm = (x[i] - m) * s;
            float dn = weight[i] * d[i];
            dx[i] += (dn - dmean - norm * dnorm_mean) * s;
        }
    }
    /* parameter gradients: split by columns so threads never share outputs */
    int nchunks = (C + LN_COL_CHUNK - 1) / LN_COL_CHUNK;
    #pragma omp parallel for schedule(static) if (par)
    for (int ch = 0; ch < nchunks; ch++) {
        int c0 = ch * LN_COL_CHUNK;
        int c1 = c0 + LN_COL_CHUNK < C ? c0 + LN_COL_CHUNK : C;
        float accw[LN_COL_CHUNK] = {0}, accb[LN_COL_CHUNK] = {0};
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C;
            const float *d = dout + (size_t)n * C;
            float m = mean[n], s = rstd[n];
            for (int i = c0; i < c1; i++) {
                accw[i - c0] += (x[i] - m) * s * d[i];
                accb[i - c0] += d[i];
            }
        }
        for (int i = c0; i < c1; i++) {
            dweight[i] += accw[i - c0];
            dbias[i] += accb[i - c0];
        }
    }
}
