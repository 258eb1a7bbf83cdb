/* dropout: inverted dropout with a seeded counter-based RNG so a resumed run
 * draws the same masks. Off at eval (p = 0 or training = 0 copies through). */
#ifndef AURL_DROPOUT_H
#define AURL_DROPOUT_H

#include <stdint.h>

/* out = inp * mask / (1-p), mask[i] in {0,1} drawn from (seed, i). mask may
 * be stored as bytes for backward. In place (out == inp) is allowed. */
void dropout_forward(float *out, uint8_t *mask, const float *inp, int n, float p,
                     uint64_t seed, int training);
/* dinp += dout * mask / (1-p) (or dout when not training / p == 0). */
void dropout_backward(float *dinp, const float *dout, const uint8_t *mask, int n, float p,
                      int training);
#endif
