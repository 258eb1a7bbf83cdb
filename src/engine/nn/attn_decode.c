/* attn_decode: one query row's attention over cached key/value spans (see
 * attn_decode.h). Three passes: scores (one streaming read of the keys),
 * softmax per head (vectorised exp), weighted values (one streaming read of
 * the values). The AVX-512 version keeps up to 256 output floats in 16
 * registers across all keys, instead of loading and storing the output for
 * every key. */
#include "engine/nn/attn_decode.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "engine/nn/fastmath.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

/* Bytes ahead of the current key (value) row that the AVX-512 passes
 * prefetch: the hardware prefetcher alone left them at ~11 GB/s. */
#ifndef ATTN_PREFETCH
#define ATTN_PREFETCH 4096
#endif

/* Dot product of a and b (n floats) over 16 lanes reduced by a fixed tree. */
static inline float dot_lanes(const float *a, const float *b, int n)
{
    float acc[16] = {0};
    int k = 0;
    for (; k + 16 <= n; k += 16)
        for (int j = 0; j < 16; j++) acc[j] += a[k + j] * b[k + j];
    for (int j = 0; k + j < n; j++) acc[j] += a[k + j] * b[k + j];
    for (int h = 8; h >= 1; h /= 2)
        for (int j = 0; j < h; j++) acc[j] += acc[j + h];
    return acc[0];
}

/* p[0..n-1] = exp(p - max p); returns 1 / sum. The max skips NaNs after
 * the first element as `>` does; a NaN score still poisons its sum. */
static float softmax_unnorm(float *p, int n)
{
    float mx = p[0];
    for (int j = 1; j < n; j++) mx = p[j] > mx ? p[j] : mx;
    for (int j = 0; j < n; j++) p[j] = fastmath_exp_neg(p[j] - mx); /* vectorises: no reduction in the loop */
    float lane[16] = {0};
    int j = 0;
    for (; j + 16 <= n; j += 16)
        for (int i = 0; i < 16; i++) lane[i] += p[j + i];
    for (int i = 0; j + i < n; i++) lane[i] += p[j + i];
    for (int h = 8; h >= 1; h /= 2)
        for (int i = 0; i < h; i++) lane[i] += lane[i + h];
    return 1.0f / lane[0];
}

/* Scores into sc[h * per + position], softmaxed; isum[h] = 1 / sum. */
static void scores_softmax(const float *q, const attn_span *spans, int nspans, int NH, int hs, int C, float *sc,
                           int per, int *ntot, float *isum)
{
    int n = 0;
    float scale = 1.0f / sqrtf((float)hs);
#if defined(__AVX512F__)
    if (hs % 16 == 0) {
        for (int i = 0; i < nspans; i++)
            for (int j = 0; j < spans[i].n; j++, n++) {
                const float *k = spans[i].k + (size_t)j * C;
                for (int e = 0; e < NH * hs; e += 16) _mm_prefetch((const char *)(k + e) + ATTN_PREFETCH, _MM_HINT_T0);
                for (int h = 0; h < NH; h++) {
                    const float *qh = q + h * hs, *kh = k + h * hs;
                    __m512 acc = _mm512_mul_ps(_mm512_loadu_ps(qh), _mm512_loadu_ps(kh));
                    for (int d = 16; d < hs; d += 16)
                        acc = _mm512_fmadd_ps(_mm512_loadu_ps(qh + d), _mm512_loadu_ps(kh + d), acc);
                    sc[(size_t)h * per + n] = scale * _mm512_reduce_add_ps(acc);
                }
            }
    } else
#endif
    {
        for (int i = 0; i < nspans; i++)
            for (int j = 0; j < spans[i].n; j++, n++) {
                const float *k = spans[i].k + (size_t)j * C;
                for (int h = 0; h < NH; h++) sc[(size_t)h * per + n] = scale * dot_lanes(q + h * hs, k + h * hs, hs);
            }
    }
    for (int h = 0; h < NH; h++) isum[h] = softmax_unnorm(sc + (size_t)h * per, n);
    *ntot = n;
}

/* out (C floats) = sum over positions of sc-weighted value rows, portable. */
static void weighted_values_portable(float *out, const attn_span *spans, int nspans, int NH, int hs, int C,
                                     const float *sc, int per)
{
    int n = 0;
    memset(out, 0, (size_t)NH * hs * sizeof(float));
    for (int i = 0; i < nspans; i++)
        for (int j = 0; j < spans[i].n; j++, n++) {
            const float *v = spans[i].v + (size_t)j * C;
            for (int h = 0; h < NH; h++) {
                float p = sc[(size_t)h * per + n];
                float *oh = out + h * hs;
                const float *vh = v + h * hs;
                for (int d = 0; d < hs; d++) oh[d] += p * vh[d];
            }
        }
}

#if defined(__AVX512F__)
/* Columns col0..col0+16*NZ-1 of the weighted values, the accumulators in
 * registers (NZ is a constant after inlining; hs % 16 == 0). */
static inline __attribute__((always_inline)) void wv_block(float *out, const attn_span *spans, int nspans, int C,
                                                          int hs, const float *sc, int per, int col0, int NZ)
{
    __m512 acc[16];
    const float *ps[16];
    for (int z = 0; z < NZ; z++) {
        acc[z] = _mm512_setzero_ps();
        ps[z] = sc + (size_t)((col0 + 16 * z) / hs) * per;
    }
    int n = 0;
    for (int i = 0; i < nspans; i++) {
        const float *v = spans[i].v + col0;
        for (int j = 0; j < spans[i].n; j++, n++, v += C)
            for (int z = 0; z < NZ; z++) {
                _mm_prefetch((const char *)(v + 16 * z) + ATTN_PREFETCH, _MM_HINT_T0);
                acc[z] = _mm512_fmadd_ps(_mm512_set1_ps(ps[z][n]), _mm512_loadu_ps(v + 16 * z), acc[z]);
            }
    }
    for (int z = 0; z < NZ; z++) _mm512_storeu_ps(out + col0 + 16 * z, acc[z]);
}
#endif

/* Heads per group: a group's 1/sum factors live on the stack. */
#define ATTN_GROUP_HEADS 64

/* Heads g0..g0+NHg-1 (spans already offset to head g0; row stride C). */
static void attn_group(float *out, const float *q, const attn_span *spans, int nspans, int NHg, int hs, int C,
                       float *sc, int per, int vec)
{
    float isum[ATTN_GROUP_HEADS];
    int n = 0;
    scores_softmax(q, spans, nspans, NHg, hs, C, sc, per, &n, isum);
#if defined(__AVX512F__)
    if (vec && hs % 16 == 0) {
        int col = 0, W = NHg * hs;
        for (; col + 256 <= W; col += 256) wv_block(out, spans, nspans, C, hs, sc, per, col, 16);
        for (; col < W; col += 16) wv_block(out, spans, nspans, C, hs, sc, per, col, 1);
    } else
#endif
        weighted_values_portable(out, spans, nspans, NHg, hs, C, sc, per);
    (void)vec;
    for (int h = 0; h < NHg; h++)
        for (int d = 0; d < hs; d++) out[h * hs + d] *= isum[h];
}

static void attn_row(float *out, const float *q, const attn_span *spans, int nspans, int NH, int hs, float *sc,
                     int per, int vec)
{
    int C = NH * hs;
    attn_span sp[ATTN_DECODE_MAX_SPANS];
    for (int g0 = 0; g0 < NH; g0 += ATTN_GROUP_HEADS) {
        int NHg = NH - g0 < ATTN_GROUP_HEADS ? NH - g0 : ATTN_GROUP_HEADS;
        size_t off = (size_t)g0 * hs;
        for (int i = 0; i < nspans; i++) sp[i] = (attn_span){spans[i].k + off, spans[i].v + off, spans[i].n};
        attn_group(out + off, q + off, sp, nspans, NHg, hs, C, sc, per, vec);
    }
}

void attn_decode_row(float *out, const float *q, const attn_span *spans, int nspans, int NH, int hs, float *sc,
                     int per)
{
    attn_row(out, q, spans, nspans, NH, hs, sc, per, 1);
}

void attn_decode_row_portable(float *out, const float *q, const attn_span *spans, int nspans, int NH, int hs,
                              float *sc, int per)
{
    attn_row(out, q, spans, nspans, NH, hs, sc, per, 0);
}
