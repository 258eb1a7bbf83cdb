/* spectral_norm: spectral normalisation of a weight matrix W (OC, IC) as
 * torch.nn.utils.parametrizations.spectral_norm (dim 0, eps 1e-12):
 *   power iteration on persistent vectors u (OC), v (IC), no gradient
 *   through them:   u = normalize(W v);  v = normalize(W^T u)   (iters times)
 *   sigma = u^T W v;   W_sn = W / sigma.
 * The gradient through sigma w.r.t. W is included (u, v held fixed), as in
 * PyTorch: with d sigma / dW = u v^T,
 *   dW = (dW_sn - <dW_sn, W_sn> u v^T) / sigma. */
#ifndef AURL_SPECTRAL_NORM_H
#define AURL_SPECTRAL_NORM_H

#include <stddef.h>

#include "util/rng.h"

/* Fresh u, v: normal draws from R, normalised, then `iters` power
 * iterations on W (PyTorch does 15 at registration). */
void sn_init(float *u, float *v, const float *W, int OC, int IC, rng_state *r, int iters);
/* Run `iters` (>= 0) power iterations updating u and v in place; returns
 * sigma = u^T W v for the resulting u, v. */
float sn_power_iteration(const float *W, float *u, float *v, int OC, int IC, int iters);
/* sigma = u^T W v (no update). */
float sn_sigma(const float *W, const float *u, const float *v, int OC, int IC);
/* W_sn = W / sigma for the n = OC*IC elements (sigma is floored at 1e-12). */
void sn_forward(float *Wsn, const float *W, float sigma, size_t n);
/* Accumulates (+=) into dW the gradient of W_sn = W / sigma(W) given dWsn,
 * with u, v held fixed (formula above). */
void sn_backward(float *dW, const float *dWsn, const float *Wsn, const float *u, const float *v,
                 float sigma, int OC, int IC);
#endif
