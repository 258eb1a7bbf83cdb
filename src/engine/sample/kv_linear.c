/* kv_linear: batch-invariant small-batch linear layers for decode steps (see
 * kv_linear.h). Row kernel: with AVX-512 it blocks 4 weight rows x 4 input rows (16
 * accumulators held in registers: each weight vector is loaded once for 4
 * inputs) and prefetches the next rows of weights, which stream from L3 at
 * batch 1; the blocking never changes an output's own arithmetic. Without
 * AVX-512, a portable version does the same arithmetic pair by pair.
 * Packed kernel (end of file): panels of KV_PANEL outputs, 6 input rows x
 * 64 outputs of accumulators in registers. The bf16 packed kernel (last)
 * has the same shape over bf16 panels widened in registers, and a portable
 * twin with the same arithmetic (one fmaf chain per output). */
#include "engine/sample/kv_linear.h"

#include "engine/nn/bf16.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#if defined(__AVX512F__)
#include <immintrin.h>

/* Rows of weights ahead that the batch-1 loop prefetches. */
#define KV_LIN_PREFETCH_ROWS 4

/* out[n0+j][o0+i] for i < RB, j < NB (RB, NB <= 4, constants after inlining). */
static inline __attribute__((always_inline)) void lin_block(float *out, const float *inp, const float *w,
                                                           const float *b, int n0, int o0, int RB, int NB, int C,
                                                           int OC)
{
    __m512 acc[4][4];
    for (int i = 0; i < RB; i++)
        for (int j = 0; j < NB; j++) acc[i][j] = _mm512_setzero_ps();
    const float *wr = w + (size_t)o0 * C, *xr = inp + (size_t)n0 * C;
    int k = 0;
    for (; k + 16 <= C; k += 16) {
        __m512 xv[4];
        for (int j = 0; j < NB; j++) xv[j] = _mm512_loadu_ps(xr + (size_t)j * C + k);
        for (int i = 0; i < RB; i++) {
            _mm_prefetch((const char *)(wr + (size_t)(i + KV_LIN_PREFETCH_ROWS) * C + k), _MM_HINT_T0);
            __m512 wv = _mm512_loadu_ps(wr + (size_t)i * C + k);
            for (int j = 0; j < NB; j++) acc[i][j] = _mm512_fmadd_ps(wv, xv[j], acc[i][j]);
        }
    }
    if (k < C) {
        __mmask16 m = (__mmask16)((1u << (C - k)) - 1u);
        __m512 xv[4];
        for (int j = 0; j < NB; j++) xv[j] = _mm512_maskz_loadu_ps(m, xr + (size_t)j * C + k);
        for (int i = 0; i < RB; i++) {
            __m512 wv = _mm512_maskz_loadu_ps(m, wr + (size_t)i * C + k);
            for (int j = 0; j < NB; j++) acc[i][j] = _mm512_fmadd_ps(wv, xv[j], acc[i][j]);
        }
    }
    for (int i = 0; i < RB; i++)
        for (int j = 0; j < NB; j++) {
            float s = _mm512_reduce_add_ps(acc[i][j]);
            if (b) s += b[o0 + i];
            out[(size_t)(n0 + j) * OC + o0 + i] = s;
        }
}

/* All N inputs against weight rows o0..o0+RB-1. */
static inline __attribute__((always_inline)) void lin_rows(float *out, const float *inp, const float *w,
                                                          const float *b, int N, int o0, int RB, int C, int OC)
{
    int n0 = 0;
    for (; n0 + 4 <= N; n0 += 4) lin_block(out, inp, w, b, n0, o0, RB, 4, C, OC);
    for (; n0 < N; n0++) lin_block(out, inp, w, b, n0, o0, RB, 1, C, OC);
}

void kv_linear_forward(float *out, const float *inp, const float *weight, const float *bias, int N, int C, int OC)
{
    if (N <= 0 || OC <= 0) return;
    int o0 = 0;
    for (; o0 + 4 <= OC; o0 += 4) lin_rows(out, inp, weight, bias, N, o0, 4, C, OC);
    for (; o0 < OC; o0++) lin_rows(out, inp, weight, bias, N, o0, 1, C, OC);
}

#else /* portable: the same lanes and tree, one (input, output) pair at a time */

void kv_linear_forward(float *out, const float *inp, const float *weight, const float *bias, int N, int C, int OC)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) {
            const float *x = inp + (size_t)n * C, *w = weight + (size_t)o * C;
            float lane[16] = {0};
            for (int k = 0; k < C; k++) lane[k % 16] += w[k] * x[k];
            for (int h = 8; h >= 1; h /= 2)
                for (int j = 0; j < h; j++) lane[j] += lane[j + h];
            out[(size_t)n * OC + o] = bias ? lane[0] + bias[o] : lane[0];
        }
}
#endif

/* ---- packed panels (kv_linear_forward_packed) ---- */

#include <stdlib.h>

int kv_linear_pack(kv_packed *pk, const float *weight, int C, int OC)
{
    pk->C = C;
    pk->OC = OC;
    pk->npanels = (OC + KV_PANEL - 1) / KV_PANEL;
    size_t n = (size_t)pk->npanels * C * KV_PANEL;
    pk->p = aligned_alloc(64, n * sizeof(float));
    if (!pk->p) return -1;
    for (int b = 0; b < pk->npanels; b++) {
        float *pb = pk->p + (size_t)b * C * KV_PANEL;
        int w = OC - b * KV_PANEL < KV_PANEL ? OC - b * KV_PANEL : KV_PANEL;
        for (int k = 0; k < C; k++, pb += KV_PANEL) {
            for (int i = 0; i < w; i++) pb[i] = weight[(size_t)(b * KV_PANEL + i) * C + k];
            for (int i = w; i < KV_PANEL; i++) pb[i] = 0.0f;
        }
    }
    return 0;
}

void kv_packed_free(kv_packed *pk)
{
    free(pk->p);
    pk->p = NULL;
}

/* Bytes ahead of the current panel row that the loop prefetches. */
#ifndef KV_PACK_PREFETCH
#define KV_PACK_PREFETCH 4096
#endif

#if BF16_X86 || defined(__AVX512F__)
#include <immintrin.h>

/* out rows n0..n0+NB-1, outputs o0..o0+63 (those < OC) = acc + bias (zero
 * for none), for both packed kernels. */
__attribute__((target("avx512f"))) static inline __attribute__((always_inline)) void
panel_store(float *out, __m512 (*acc)[4], const float *bias, int OC, int o0, int n0, int NB)
{
    for (int r = 0; r < 4; r++) {
        int o = o0 + 16 * r, left = OC - o;
        if (left <= 0) break;
        __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
        __m512 bv = bias ? _mm512_maskz_loadu_ps(m, bias + o) : _mm512_setzero_ps();
        for (int j = 0; j < NB; j++)
            _mm512_mask_storeu_ps(out + (size_t)(n0 + j) * OC + o, m, _mm512_add_ps(acc[j][r], bv));
    }
}
#endif

#if defined(__AVX512F__)
/* Panel b for NB (<= 6, a constant after inlining) input rows from n0. */
static inline __attribute__((always_inline)) void panel_block(float *out, const float *inp, const kv_packed *pk,
                                                             const float *bias, int b, int n0, int NB)
{
    int C = pk->C, OC = pk->OC;
    const float *pb = pk->p + (size_t)b * C * KV_PANEL, *x = inp + (size_t)n0 * C;
    __m512 acc[6][4];
    for (int j = 0; j < NB; j++)
        for (int r = 0; r < 4; r++) acc[j][r] = _mm512_setzero_ps();
    for (int k = 0; k < C; k++, pb += KV_PANEL) {
        _mm_prefetch((const char *)pb + KV_PACK_PREFETCH, _MM_HINT_T0);
        _mm_prefetch((const char *)pb + KV_PACK_PREFETCH + 64, _MM_HINT_T0);
        _mm_prefetch((const char *)pb + KV_PACK_PREFETCH + 128, _MM_HINT_T0);
        _mm_prefetch((const char *)pb + KV_PACK_PREFETCH + 192, _MM_HINT_T0);
        __m512 w0 = _mm512_load_ps(pb), w1 = _mm512_load_ps(pb + 16), w2 = _mm512_load_ps(pb + 32),
               w3 = _mm512_load_ps(pb + 48);
        for (int j = 0; j < NB; j++) {
            __m512 xv = _mm512_set1_ps(x[(size_t)j * C + k]);
            acc[j][0] = _mm512_fmadd_ps(xv, w0, acc[j][0]);
            acc[j][1] = _mm512_fmadd_ps(xv, w1, acc[j][1]);
            acc[j][2] = _mm512_fmadd_ps(xv, w2, acc[j][2]);
            acc[j][3] = _mm512_fmadd_ps(xv, w3, acc[j][3]);
        }
    }
    panel_store(out, acc, bias, OC, b * KV_PANEL, n0, NB);
}

void kv_linear_forward_packed(float *out, const float *inp, const kv_packed *pk, const float *bias, int N)
{
    for (int b = 0; b < pk->npanels; b++) {
        int n0 = 0;
        for (; n0 + 6 <= N; n0 += 6) panel_block(out, inp, pk, bias, b, n0, 6);
        switch (N - n0) {
        case 5: panel_block(out, inp, pk, bias, b, n0, 5); break;
        case 4: panel_block(out, inp, pk, bias, b, n0, 4); break;
        case 3: panel_block(out, inp, pk, bias, b, n0, 3); break;
        case 2: panel_block(out, inp, pk, bias, b, n0, 2); break;
        case 1: panel_block(out, inp, pk, bias, b, n0, 1); break;
        default: break;
        }
    }
}

#else /* portable: the same chain per output, one input row at a time */

void kv_linear_forward_packed(float *out, const float *inp, const kv_packed *pk, const float *bias, int N)
{
    int C = pk->C, OC = pk->OC;
    for (int n = 0; n < N; n++)
        for (int b = 0; b < pk->npanels; b++) {
            const float *pb = pk->p + (size_t)b * C * KV_PANEL, *x = inp + (size_t)n * C;
            float acc[KV_PANEL] = {0};
            for (int k = 0; k < C; k++)
                for (int i = 0; i < KV_PANEL; i++) acc[i] += x[k] * pb[(size_t)k * KV_PANEL + i];
            for (int i = 0; i < KV_PANEL && b * KV_PANEL + i < OC; i++)
                out[(size_t)n * OC + b * KV_PANEL + i] = bias ? acc[i] + bias[b * KV_PANEL + i] : acc[i];
        }
}
#endif

/* ---- bf16 panels (kv_linear_forward_bf16) ---- */

int kv_linear_pack_bf16(kv_packed16 *pk, const float *weight, int C, int OC)
{
    pk->C = C;
    pk->Cp = kv_linear_cp(C);
    pk->OC = OC;
    pk->npanels = (OC + KV_PANEL - 1) / KV_PANEL;
    size_t n = (size_t)pk->npanels * pk->Cp * KV_PANEL;
    pk->p = aligned_alloc(64, n * sizeof(uint16_t));
    if (!pk->p) return -1;
    for (int b = 0; b < pk->npanels; b++) {
        uint16_t *pb = pk->p + (size_t)b * pk->Cp * KV_PANEL;
        for (int k2 = 0; k2 < pk->Cp / 2; k2++, pb += 2 * KV_PANEL)
            for (int i = 0; i < KV_PANEL; i++)
                for (int e = 0; e < 2; e++) {
                    int o = b * KV_PANEL + i, k = 2 * k2 + e;
                    pb[2 * i + e] = o < OC && k < C ? bf16_from_f32(weight[(size_t)o * C + k]) : 0;
                }
    }
    return 0;
}

void kv_packed16_free(kv_packed16 *pk)
{
    free(pk->p);
    pk->p = NULL;
}

/* out[o0 + i] = acc[i] + bias (0 for none: the vector code adds a zero
 * too, which turns -0 into +0) for the valid outputs of one panel. */
static void panel16_store(float *out, const float *acc, const float *bias, int OC, int o0)
{
    for (int i = 0; i < KV_PANEL && o0 + i < OC; i++) out[o0 + i] = acc[i] + (bias ? bias[o0 + i] : 0.0f);
}

/* The portable kernel: per row and panel, 64 lanes, each one fmaf chain
 * over k in increasing order (the vector kernel's arithmetic). */
static void forward_bf16_portable(float *out, const float *inp, const kv_packed16 *pk, const float *bias, int N)
{
    int C = pk->C, Cp = pk->Cp, OC = pk->OC;
    for (int n = 0; n < N; n++)
        for (int b = 0; b < pk->npanels; b++) {
            const uint16_t *pb = pk->p + (size_t)b * Cp * KV_PANEL;
            const float *x = inp + (size_t)n * C;
            float acc[KV_PANEL] = {0};
            for (int k = 0; k < C; k++) {
                const uint16_t *pr = pb + (size_t)(k / 2) * 2 * KV_PANEL + k % 2;
                for (int i = 0; i < KV_PANEL; i++) acc[i] = fmaf(x[k], bf16_to_f32(pr[2 * i]), acc[i]);
            }
            panel16_store(out + (size_t)n * OC, acc, bias, OC, b * KV_PANEL);
        }
}

#if BF16_X86
/* Panel b for NB (<= 4, a constant after inlining) input rows from n0. A
 * 64-byte load holds 16 outputs x (k even, k odd): the even weights widen
 * by a shift, the odd ones by a mask, then one FMA each per row. */
BF16_TARGET static inline __attribute__((always_inline)) void panel16_block(float *out, const float *inp,
                                                                           const kv_packed16 *pk, const float *bias,
                                                                           int b, int n0, int NB)
{
    int C = pk->C, OC = pk->OC;
    const uint16_t *pb = pk->p + (size_t)b * pk->Cp * KV_PANEL;
    const float *x = inp + (size_t)n0 * C;
    const __m512i hi = _mm512_set1_epi32((int)0xFFFF0000u);
    __m512 acc[4][4];
    for (int j = 0; j < NB; j++)
        for (int r = 0; r < 4; r++) acc[j][r] = _mm512_setzero_ps();
    for (int k = 0; k < C; k += 2, pb += 2 * KV_PANEL) {
        for (int l = 0; l < 4; l++) _mm_prefetch((const char *)pb + KV_PACK_PREFETCH + 64 * l, _MM_HINT_T0);
        __m512 we[4], wo[4];
        for (int r = 0; r < 4; r++) {
            __m512i w = _mm512_load_si512(pb + 32 * r);
            we[r] = _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
            wo[r] = _mm512_castsi512_ps(_mm512_and_si512(w, hi));
        }
        int odd = k + 1 < C;
        for (int j = 0; j < NB; j++) {
            __m512 x0 = _mm512_set1_ps(x[(size_t)j * C + k]);
            for (int r = 0; r < 4; r++) acc[j][r] = _mm512_fmadd_ps(x0, we[r], acc[j][r]);
            if (odd) {
                __m512 x1 = _mm512_set1_ps(x[(size_t)j * C + k + 1]);
                for (int r = 0; r < 4; r++) acc[j][r] = _mm512_fmadd_ps(x1, wo[r], acc[j][r]);
            }
        }
    }
    panel_store(out, acc, bias, OC, b * KV_PANEL, n0, NB);
}

/* Half H (outputs 32H..32H+31) of panel b for NB (<= 8, a constant after
 * inlining) input rows from n0: 16 accumulators, so a weight is widened
 * once for 8 rows (at batch >= 8 the full-panel block would read the
 * weights twice as often). Each output's arithmetic is panel16_block's. */
BF16_TARGET static inline __attribute__((always_inline)) void half16_block(float *out, const float *inp,
                                                                          const kv_packed16 *pk, const float *bias,
                                                                          int b, int h, int n0, int NB)
{
    int C = pk->C, OC = pk->OC;
    const uint16_t *pb = pk->p + (size_t)b * pk->Cp * KV_PANEL + 64 * h;
    const float *x = inp + (size_t)n0 * C;
    const __m512i hi = _mm512_set1_epi32((int)0xFFFF0000u);
    __m512 acc[8][2];
    for (int j = 0; j < NB; j++) acc[j][0] = acc[j][1] = _mm512_setzero_ps();
    for (int k = 0; k < C; k += 2, pb += 2 * KV_PANEL) {
        for (int l = 0; l < 2; l++) _mm_prefetch((const char *)pb + KV_PACK_PREFETCH + 64 * l, _MM_HINT_T0);
        __m512 we[2], wo[2];
        for (int r = 0; r < 2; r++) {
            __m512i w = _mm512_load_si512(pb + 32 * r);
            we[r] = _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
            wo[r] = _mm512_castsi512_ps(_mm512_and_si512(w, hi));
        }
        int odd = k + 1 < C;
        for (int j = 0; j < NB; j++) {
            __m512 x0 = _mm512_set1_ps(x[(size_t)j * C + k]);
            for (int r = 0; r < 2; r++) acc[j][r] = _mm512_fmadd_ps(x0, we[r], acc[j][r]);
            if (odd) {
                __m512 x1 = _mm512_set1_ps(x[(size_t)j * C + k + 1]);
                for (int r = 0; r < 2; r++) acc[j][r] = _mm512_fmadd_ps(x1, wo[r], acc[j][r]);
            }
        }
    }
    for (int r = 0; r < 2; r++) {
        int o = b * KV_PANEL + 32 * h + 16 * r, left = OC - o;
        if (left <= 0) break;
        __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
        __m512 bv = bias ? _mm512_maskz_loadu_ps(m, bias + o) : _mm512_setzero_ps();
        for (int j = 0; j < NB; j++)
            _mm512_mask_storeu_ps(out + (size_t)(n0 + j) * OC + o, m, _mm512_add_ps(acc[j][r], bv));
    }
}

/* Rows n0..n0+nb-1 (nb <= 8) of panel b by halves. */
BF16_TARGET static void half16_rows(float *out, const float *inp, const kv_packed16 *pk, const float *bias, int b,
                                    int n0, int nb)
{
    for (int h = 0; h < 2; h++) switch (nb) {
        case 8: half16_block(out, inp, pk, bias, b, h, n0, 8); break;
        case 7: half16_block(out, inp, pk, bias, b, h, n0, 7); break;
        case 6: half16_block(out, inp, pk, bias, b, h, n0, 6); break;
        case 5: half16_block(out, inp, pk, bias, b, h, n0, 5); break;
        case 4: half16_block(out, inp, pk, bias, b, h, n0, 4); break;
        case 3: half16_block(out, inp, pk, bias, b, h, n0, 3); break;
        case 2: half16_block(out, inp, pk, bias, b, h, n0, 2); break;
        case 1: half16_block(out, inp, pk, bias, b, h, n0, 1); break;
        default: break;
        }
}

/* Up to 4 rows: whole panels (one stream through each panel per 4 rows,
 * what batch 1 needs). From 5 rows: half panels, 8 rows a pass. */
BF16_TARGET static void forward_bf16_native(float *out, const float *inp, const kv_packed16 *pk,
                                            const float *bias, int N)
{
    for (int b = 0; b < pk->npanels; b++) {
        if (N > 4) {
            for (int n0 = 0; n0 < N; n0 += 8) half16_rows(out, inp, pk, bias, b, n0, N - n0 < 8 ? N - n0 : 8);
            continue;
        }
        switch (N) {
        case 4: panel16_block(out, inp, pk, bias, b, 0, 4); break;
        case 3: panel16_block(out, inp, pk, bias, b, 0, 3); break;
        case 2: panel16_block(out, inp, pk, bias, b, 0, 2); break;
        case 1: panel16_block(out, inp, pk, bias, b, 0, 1); break;
        default: break;
        }
    }
}
#endif

void kv_linear_forward_bf16(float *out, const float *inp, const kv_packed16 *pk, const float *bias, int N)
{
#if BF16_X86
    if (bf16_native()) {
        forward_bf16_native(out, inp, pk, bias, N);
        return;
    }
#endif
    forward_bf16_portable(out, inp, pk, bias, N);
}
