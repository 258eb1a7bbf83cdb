/* attn_decode: one query row's attention over cached key/value spans (see
 * attn_decode.h). Three passes: scores (one streaming read of the keys),
 * softmax per head (vectorised exp), weighted values (one streaming read of
 * the values). The AVX-512 version keeps up to 256 output floats in 16
 * registers across all keys, instead of loading and storing the output for
 * every key. Keys and values are float32 or bf16 (widened exactly on load);
 * the passes are written once for both (ELEM_BF16 a constant after
 * inlining). The portable passes use fused multiply-adds in the vector
 * code's order and its reduction tree, so for hs % 16 == 0 they give the
 * vector code's bits. */
#include "engine/nn/attn_decode.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "engine/nn/bf16.h"
#include "engine/nn/fastmath.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

/* Bytes ahead of the current key (value) row that the AVX-512 passes
 * prefetch: the hardware prefetcher alone left them at ~11 GB/s. */
#ifndef ATTN_PREFETCH
#define ATTN_PREFETCH 4096
#endif

/* A span of either element type (k, v point at float or uint16_t rows). */
typedef struct {
    const void *k, *v;
    int n;
} span_any;

/* Element i of a row of floats (bf = 0) or bf16 (bf = 1), as a float. */
static inline float ld1(const void *p, size_t i, int bf)
{
    return bf ? bf16_to_f32(((const uint16_t *)p)[i]) : ((const float *)p)[i];
}

/* The row pointer p advanced by i elements. */
static inline const void *adv(const void *p, size_t i, int bf)
{
    return bf ? (const void *)((const uint16_t *)p + i) : (const void *)((const float *)p + i);
}

#if defined(__AVX512F__)
/* Elements i..i+15 as floats. */
static inline __m512 ld16(const void *p, size_t i, int bf)
{
    if (!bf) return _mm512_loadu_ps((const float *)p + i);
    __m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)p + i));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
#endif

/* Dot product of q (floats) and row k (n elements) over 16 lanes: the first
 * 16 products, then fused multiply-adds, reduced by a fixed tree (the one
 * _mm512_reduce_add_ps uses). */
static inline float dot_lanes(const float *q, const void *k, int n, int bf)
{
    float acc[16] = {0};
    for (int j = 0; j < 16 && j < n; j++) acc[j] = q[j] * ld1(k, (size_t)j, bf);
    for (int d = 16; d < n; d++) acc[d % 16] = fmaf(q[d], ld1(k, (size_t)d, bf), acc[d % 16]);
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
static inline __attribute__((always_inline)) void scores_softmax(const float *q, const span_any *spans, int nspans,
                                                                int NH, int hs, int C, float *sc, int per, int *ntot,
                                                                float *isum, int bf, int vec)
{
    int n = 0;
    float scale = 1.0f / sqrtf((float)hs);
#if defined(__AVX512F__)
    if (vec && hs % 16 == 0) {
        size_t rowb = (size_t)C * (bf ? 2 : 4);
        for (int i = 0; i < nspans; i++)
            for (int j = 0; j < spans[i].n; j++, n++) {
                const void *k = adv(spans[i].k, (size_t)j * C, bf);
                for (size_t e = 0; e < rowb; e += 64) _mm_prefetch((const char *)k + e + ATTN_PREFETCH, _MM_HINT_T0);
                for (int h = 0; h < NH; h++) {
                    const float *qh = q + h * hs;
                    size_t o = (size_t)h * hs;
                    __m512 acc = _mm512_mul_ps(_mm512_loadu_ps(qh), ld16(k, o, bf));
                    for (int d = 16; d < hs; d += 16)
                        acc = _mm512_fmadd_ps(_mm512_loadu_ps(qh + d), ld16(k, o + d, bf), acc);
                    sc[(size_t)h * per + n] = scale * _mm512_reduce_add_ps(acc);
                }
            }
    } else
#endif
    {
        for (int i = 0; i < nspans; i++)
            for (int j = 0; j < spans[i].n; j++, n++) {
                const void *k = adv(spans[i].k, (size_t)j * C, bf);
                for (int h = 0; h < NH; h++)
                    sc[(size_t)h * per + n] = scale * dot_lanes(q + h * hs, adv(k, (size_t)h * hs, bf), hs, bf);
            }
    }
    (void)vec;
    for (int h = 0; h < NH; h++) isum[h] = softmax_unnorm(sc + (size_t)h * per, n);
    *ntot = n;
}

/* out (NH * hs floats) = sum over positions of sc-weighted value rows,
 * portable: one fused multiply-add chain per output element. */
static inline void weighted_values_portable(float *out, const span_any *spans, int nspans, int NH, int hs, int C,
                                            const float *sc, int per, int bf)
{
    int n = 0;
    memset(out, 0, (size_t)NH * hs * sizeof(float));
    for (int i = 0; i < nspans; i++)
        for (int j = 0; j < spans[i].n; j++, n++) {
            const void *v = adv(spans[i].v, (size_t)j * C, bf);
            for (int h = 0; h < NH; h++) {
                float p = sc[(size_t)h * per + n];
                float *oh = out + h * hs;
                for (int d = 0; d < hs; d++) oh[d] = fmaf(p, ld1(v, (size_t)(h * hs + d), bf), oh[d]);
            }
        }
}

#if defined(__AVX512F__)
/* Columns col0..col0+16*NZ-1 of the weighted values, the accumulators in
 * registers (NZ is a constant after inlining; hs % 16 == 0). */
static inline __attribute__((always_inline)) void wv_block(float *out, const span_any *spans, int nspans, int C,
                                                          int hs, const float *sc, int per, int col0, int NZ, int bf)
{
    __m512 acc[16];
    const float *ps[16];
    for (int z = 0; z < NZ; z++) {
        acc[z] = _mm512_setzero_ps();
        ps[z] = sc + (size_t)((col0 + 16 * z) / hs) * per;
    }
    int n = 0, esz = bf ? 2 : 4;
    for (int i = 0; i < nspans; i++) {
        const void *v = adv(spans[i].v, (size_t)col0, bf);
        for (int j = 0; j < spans[i].n; j++, n++, v = adv(v, (size_t)C, bf)) {
            for (int z = 0; z < NZ; z += 64 / (16 * esz))
                _mm_prefetch((const char *)adv(v, (size_t)(16 * z), bf) + ATTN_PREFETCH, _MM_HINT_T0);
            for (int z = 0; z < NZ; z++)
                acc[z] = _mm512_fmadd_ps(_mm512_set1_ps(ps[z][n]), ld16(v, (size_t)(16 * z), bf), acc[z]);
        }
    }
    for (int z = 0; z < NZ; z++) _mm512_storeu_ps(out + col0 + 16 * z, acc[z]);
}
#endif

/* Heads per group: a group's 1/sum factors live on the stack. */
#define ATTN_GROUP_HEADS 64

/* Heads g0..g0+NHg-1 (spans already offset to head g0; row stride C). */
static inline __attribute__((always_inline)) void attn_group(float *out, const float *q, const span_any *spans,
                                                            int nspans, int NHg, int hs, int C, float *sc, int per,
                                                            int vec, int bf)
{
    float isum[ATTN_GROUP_HEADS];
    int n = 0;
    scores_softmax(q, spans, nspans, NHg, hs, C, sc, per, &n, isum, bf, vec);
#if defined(__AVX512F__)
    if (vec && hs % 16 == 0) {
        int col = 0, W = NHg * hs;
        for (; col + 256 <= W; col += 256) wv_block(out, spans, nspans, C, hs, sc, per, col, 16, bf);
        for (; col < W; col += 16) wv_block(out, spans, nspans, C, hs, sc, per, col, 1, bf);
    } else
#endif
        weighted_values_portable(out, spans, nspans, NHg, hs, C, sc, per, bf);
    (void)vec;
    for (int h = 0; h < NHg; h++)
        for (int d = 0; d < hs; d++) out[h * hs + d] *= isum[h];
}

static inline __attribute__((always_inline)) void attn_row(float *out, const float *q, const span_any *spans,
                                                          int nspans, int NH, int hs, float *sc, int per, int vec,
                                                          int bf)
{
    int C = NH * hs;
    span_any sp[ATTN_DECODE_MAX_SPANS];
    for (int g0 = 0; g0 < NH; g0 += ATTN_GROUP_HEADS) {
        int NHg = NH - g0 < ATTN_GROUP_HEADS ? NH - g0 : ATTN_GROUP_HEADS;
        size_t off = (size_t)g0 * hs;
        for (int i = 0; i < nspans; i++)
            sp[i] = (span_any){adv(spans[i].k, off, bf), adv(spans[i].v, off, bf), spans[i].n};
        attn_group(out + off, q + off, sp, nspans, NHg, hs, C, sc, per, vec, bf);
    }
}

/* The spans of either public type as span_any (at most ATTN_DECODE_MAX_SPANS). */
#define SPANS_ANY(dst, src, ns)                                                                                    \
    for (int i_ = 0; i_ < (ns) && i_ < ATTN_DECODE_MAX_SPANS; i_++) (dst)[i_] = (span_any){(src)[i_].k, (src)[i_].v, (src)[i_].n}

static void row_f32(float *out, const float *q, const span_any *sp, int ns, int NH, int hs, float *sc, int per,
                    int vec)
{
    if (vec) attn_row(out, q, sp, ns, NH, hs, sc, per, 1, 0);
    else attn_row(out, q, sp, ns, NH, hs, sc, per, 0, 0);
}

static void row_bf16(float *out, const float *q, const span_any *sp, int ns, int NH, int hs, float *sc, int per,
                     int vec)
{
    if (vec) attn_row(out, q, sp, ns, NH, hs, sc, per, 1, 1);
    else attn_row(out, q, sp, ns, NH, hs, sc, per, 0, 1);
}

void attn_decode_row(float *out, const float *q, const attn_span *spans, int nspans, int NH, int hs, float *sc,
                     int per)
{
    span_any sp[ATTN_DECODE_MAX_SPANS];
    SPANS_ANY(sp, spans, nspans);
    row_f32(out, q, sp, nspans, NH, hs, sc, per, 1);
}

void attn_decode_row_portable(float *out, const float *q, const attn_span *spans, int nspans, int NH, int hs,
                              float *sc, int per)
{
    span_any sp[ATTN_DECODE_MAX_SPANS];
    SPANS_ANY(sp, spans, nspans);
    row_f32(out, q, sp, nspans, NH, hs, sc, per, 0);
}

void attn_decode_row_bf16(float *out, const float *q, const attn_span16 *spans, int nspans, int NH, int hs,
                          float *sc, int per)
{
    span_any sp[ATTN_DECODE_MAX_SPANS];
    SPANS_ANY(sp, spans, nspans);
    row_bf16(out, q, sp, nspans, NH, hs, sc, per, !bf16_portable_forced());
}

void attn_decode_row_bf16_portable(float *out, const float *q, const attn_span16 *spans, int nspans, int NH,
                                   int hs, float *sc, int per)
{
    span_any sp[ATTN_DECODE_MAX_SPANS];
    SPANS_ANY(sp, spans, nspans);
    row_bf16(out, q, sp, nspans, NH, hs, sc, per, 0);
}
