/* gumbel: Gumbel-softmax with temperature and the straight-through
 * estimator, to feed a generator's token distributions to the
 * discriminator while keeping a gradient path into the generator:
 *   g ~ Gumbel(0, 1) (seeded, counter-based: g_i = -log(-log(U_i)))
 *   soft y = softmax((logits + g) / tau)         (N, V)
 *   hard   = one_hot(argmax_v y)                 (forward value of the ST output)
 *   straight-through output = hard - stop_grad(y) + y, so in backward the
 *   gradient dy of the output passes through the SOFT path:
 *   dlogits = (1/tau) * y * (dy - sum_v(dy * y)). */
#ifndef AURL_GUMBEL_H
#define AURL_GUMBEL_H

#include <stdint.h>

/* Fill g[0..n) with standard Gumbel noise; g[i] depends only on (seed, i),
 * so any sub-range can be regenerated. U is drawn in (0, 1) exclusive. */
void gumbel_noise(float *g, long n, uint64_t seed);
/* Elements start .. start+n-1 of that sequence into g[0..n): a micro-batch's
 * share of a batch's noise. */
void gumbel_noise_at(float *g, long start, long n, uint64_t seed);
/* soft (N, V) = softmax((logits + noise) / tau) (noise NULL: no noise, a
 * plain tempered softmax); hard_idx (N) = argmax (may be NULL). tau > 0
 * (values below 1e-4 are raised to it). */
void gumbel_softmax_forward(float *soft, int32_t *hard_idx, const float *logits, const float *noise,
                            int N, int V, float tau);
/* Write the one-hot rows (N, V) for hard_idx (for a dense discriminator
 * input; the discriminator's token path avoids it). */
void gumbel_one_hot(float *out, const int32_t *hard_idx, int N, int V);
/* Straight-through / soft backward: dlogits (N, V) = scale * (1/tau) *
 * soft * (dy - sum(dy * soft)) per row. Overwrites dlogits (accumulate=0)
 * or adds to it (accumulate=1). */
void gumbel_softmax_backward(float *dlogits, const float *soft, const float *dy, int N, int V, float tau,
                             float scale, int accumulate);
#endif
