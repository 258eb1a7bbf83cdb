/* linear: out = inp @ weight^T + bias through cblas_sgemm.
 * inp (N, C), weight (OC, C) as PyTorch's nn.Linear, bias (OC) or NULL. */
#ifndef AURL_LINEAR_H
#define AURL_LINEAR_H

/* out (N, OC) = inp @ weight^T (+ bias); overwrites out. */
void linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                    int N, int C, int OC);
/* Accumulates (+=) into dinp (may be NULL: not needed), dweight, dbias (NULL if no bias). */
void linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                     const float *inp, const float *weight, int N, int C, int OC);
#endif
