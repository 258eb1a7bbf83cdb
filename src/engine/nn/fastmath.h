/* fastmath: exp and tanh for the engine's elementwise loops, written so gcc
 * vectorises them (libm's expf/tanhf do not vectorise without -ffast-math).
 * Accuracy ~1.5 ulp for exp (Cephes expf polynomial) and ~1e-7 absolute for
 * tanh, well inside float32 training noise and PyTorch comparisons. */
#ifndef AURL_FASTMATH_H
#define AURL_FASTMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* exp(x) for x <= 0, vectorisable: every step is integer or float
 * arithmetic without a float compare (which would block the vectoriser
 * under -ftrapping-math) or a float-to-int conversion (undefined for NaN).
 * x in [-inf, -87] is clamped to -87 on its bits: adding 0x007FFFFF maps
 * exactly that range (0xC2AE0000..0xFF800000) to the top of the unsigned
 * range, where one min() clamps it, and moves negative NaNs out of the way,
 * so NaNs of either sign stay NaN: a NaN logit or score poisons its softmax
 * instead of vanishing into it. exp(-inf) gives ~1.6e-38. n = round(x/ln2)
 * is read from the bits of x/ln2 + 1.5*2^23 (round to nearest, as rintf). */
static inline float fastmath_exp_neg(float x)
{
    uint32_t xb;
    memcpy(&xb, &x, sizeof xb);
    xb += 0x007FFFFFu; /* -87.0f -> 0xC32DFFFF, -inf -> 0xFFFFFFFF */
    xb = (xb < 0xC32DFFFFu ? xb : 0xC32DFFFFu) - 0x007FFFFFu; /* [-inf, -87] -> -87.0f */
    memcpy(&x, &xb, sizeof x);
    const float shifter = 12582912.0f; /* 1.5 * 2^23 */
    float kf = x * 1.44269504088896341f + shifter;
    uint32_t kb;
    memcpy(&kb, &kf, sizeof kb);
    float n = kf - shifter;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f; /* x - n ln2, two parts */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    uint32_t bits = (kb - 0x4B400000u + 127u) << 23; /* 2^n: kb's low bits hold n */
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
