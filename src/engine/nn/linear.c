/* linear: fully connected layer (PyTorch nn.Linear layout) through cblas_sgemm. */
#include "engine/nn/linear.h"

#include <cblas.h>
#include <stddef.h>

/* Column-chunk width for parallel bias-gradient sums. */
#define LINEAR_BIAS_CHUNK 64

/* out (N, OC) = inp (N, C) @ weight (OC, C)^T + bias (OC). */
void linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                    int N, int C, int OC)
{
    if (N <= 0 || OC <= 0) return;
    float beta = 0.0f;
    if (bias) {
        #pragma omp parallel for schedule(static) if ((long)N * OC > 65536)
        for (int n = 0; n < N; n++) {
            float *o = out + (size_t)n * OC;
            for (int j = 0; j < OC; j++) o[j] = bias[j];
        }
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, weight, C,
                beta, out, OC);
}

/* dinp += dout @ weight; dweight += dout^T @ inp; dbias += column sums of dout. */
void linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                     const float *inp, const float *weight, int N, int C, int OC)
{
    if (N <= 0 || OC <= 0 || C <= 0) return;
    if (dinp)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC,
                    weight, C, 1.0f, dinp, C);
    if (dweight)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp, C,
                    1.0f, dweight, C);
    if (dbias) {
        int nchunks = (OC + LINEAR_BIAS_CHUNK - 1) / LINEAR_BIAS_CHUNK;
        #pragma omp parallel for schedule(static) if ((long)N * OC > 65536)
        for (int ch = 0; ch < nchunks; ch++) {
            int j0 = ch * LINEAR_BIAS_CHUNK;
            int j1 = j0 + LINEAR_BIAS_CHUNK < OC ? j0 + LINEAR_BIAS_CHUNK : OC;
            float acc[LINEAR_BIAS_CHUNK] = {0};
            for (int n = 0; n < N; n++) {
                const float *d = dout + (size_t)n * OC;
                for (int j = j0; j < j1; j++) acc[j - j0] += d[j];
            }
            for (int j = j0; j < j1; j++) dbias[j] += acc[j - j0];
        }
    }
}
