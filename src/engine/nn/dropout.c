/* dropout: inverted dropout whose mask bit i depends only on (seed, i). */
#include "engine/nn/dropout.h"

#include <stddef.h>
#include <string.h>

#include "util/rng.h"

static int dropout_active(float p, int training) { return training && p > 0.0f; }

/* out = inp * mask / (1-p); a copy (mask set to 1) when inactive. */
void dropout_forward(float *out, uint8_t *mask, const float *inp, int n, float p,
                     uint64_t seed, int training)
{
    if (n <= 0) return;
    if (!dropout_active(p, training)) {
        if (out != inp) memmove(out, inp, (size_t)n * sizeof *out);
        if (mask) memset(mask, 1, (size_t)n);
        return;
    }
    /* keep iff a uniform 24-bit draw u in [0, 2^24) satisfies u >= p * 2^24 */
    uint64_t thresh = p >= 1.0f ? ((uint64_t)1 << 24) : (uint64_t)((double)p * 16777216.0);
    float scale = p >= 1.0f ? 0.0f : 1.0f / (1.0f - p);
    uint64_t base = rng_mix64(seed);
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (int i = 0; i < n; i++) {
        uint64_t u = rng_mix64(base + (uint64_t)i) >> 40;
        uint8_t keep = u >= thresh;
        if (mask) mask[i] = keep;
        out[i] = keep ? inp[i] * scale : 0.0f;
    }
}

/* dinp += dout * mask / (1-p), or dinp += dout when inactive. */
void dropout_backward(float *dinp, const float *dout, const uint8_t *mask, int n, float p,
                      int training)
{
    if (n <= 0) return;
    if (!dropout_active(p, training)) {
        for (int i = 0; i < n; i++) dinp[i] += dout[i];
        return;
    }
    float scale = p >= 1.0f ? 0.0f : 1.0f / (1.0f - p);
    for (int i = 0; i < n; i++) dinp[i] += mask[i] ? dout[i] * scale : 0.0f;
}
