/* bf16: the dispatch switch and the vectorised narrowing (see bf16.h). The
 * AVX512_BF16 code is compiled for that target by function attribute, so
 * the build needs no -m flag and runs on CPUs without it (the portable
 * loop then). */
#include "engine/nn/bf16.h"

#include <stdlib.h>

#include "util/cpu_features.h"

#if BF16_X86
#include <immintrin.h>
#endif

static int g_cpu = -1;    /* -1 unknown, 0 no, 1 the CPU runs AVX512_BF16 */
static int g_forced = -1; /* -1: not read from the environment yet */

static int cpu_has_bf16(void)
{
    if (g_cpu < 0) {
        cpu_features f;
        cpu_features_read(&f);
        g_cpu = BF16_X86 && cpu_features_avx512_usable(&f) && f.avx512_bf16;
    }
    return g_cpu;
}

bool bf16_portable_forced(void)
{
    if (g_forced < 0) {
        const char *e = getenv("AURL_BF16_PORTABLE");
        g_forced = e && e[0] && e[0] != '0';
    }
    return g_forced;
}

int bf16_force_portable(int on)
{
    int was = bf16_portable_forced();
    g_forced = on ? 1 : 0;
    return was;
}

bool bf16_native(void) { return !bf16_portable_forced() && cpu_has_bf16(); }

#if BF16_X86
BF16_TARGET static void from_f32_avx512(uint16_t *dst, const float *src, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256bh h = _mm512_cvtneps_pbh(_mm512_loadu_ps(src + i));
        _mm256_storeu_si256((__m256i *)(dst + i), (__m256i)h);
    }
    for (; i < n; i++) dst[i] = bf16_from_f32(src[i]);
}
#endif

void bf16_from_f32_n(uint16_t *dst, const float *src, size_t n)
{
#if BF16_X86
    if (bf16_native()) {
        from_f32_avx512(dst, src, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) dst[i] = bf16_from_f32(src[i]);
}
