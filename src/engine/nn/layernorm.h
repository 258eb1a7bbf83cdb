/* layernorm: LayerNorm over the last dimension of a row-major (N, C) tensor. */
#ifndef AURL_LAYERNORM_H
#define AURL_LAYERNORM_H

/* out = (inp - mean) * rstd * weight + bias, per row; saves mean[N] and
 * rstd[N] for the backward pass. eps = 1e-5 as PyTorch. */
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                       const float *weight, const float *bias, int N, int C);
/* Accumulates (+=) into dinp, dweight, dbias. */
void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, const float *mean,
                        const float *rstd, int N, int C);
#endif
