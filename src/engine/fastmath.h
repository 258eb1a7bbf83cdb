/* fastmath: exp and tanh for the engine's elementwise loops, written so gcc
 * vectorises them (libm's expf/tanhf do not vectorise without -ffast-math).
 * Accuracy ~1.5 ulp for exp (Cephes expf polynomial) and ~1e-7 absolute for
 * tanh, well inside float32 training noise and PyTorch comparisons. */
#ifndef AURL_FASTMATH_H
#define AURL_FASTMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* exp(x) for x <= 0. x is clamped at -87 by an integer compare on its bits
 * (a float compare would block the vectoriser under -ftrapping-math); for
 * negative floats larger bits mean smaller values. exp(-inf) gives ~1.6e-38. */
static inline float fastmath_exp_neg(float x)
{
    uint32_t xb;
    memcpy(&xb, &x, sizeof xb);
    xb = xb < 0xC2AE0000u ? xb : 0xC2AE0000u; /* -87.0f */
    memcpy(&x, &xb, sizeof x);
    float n = rintf(x * 1.44269504088896341f);
    float r = x - n * 0.693359375f + n * 2.12194440e-4f; /* x - n ln2, two parts */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23; /* 2^n */
    float two_n;
    memcpy(&two_n, &bits, sizeof two_n);
    return p * two_n;
}

/* tanh(x) = sign(x) (1 - e) / (1 + e), e = exp(-2|x|). */
static inline float fastmath_tanh(float x)
{
    float e = fastmath_exp_neg(-2.0f * fabsf(x));
    return copysignf((1.0f - e) / (1.0f + e), x);
}

#endif
