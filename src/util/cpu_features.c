/* cpu_features: CPUID leaves 0, 1 and 7 (subleaves 0 and 1) and XCR0 via
 * XGETBV, decoded into the few flags the BLAS kernel choice needs. */
#include "util/cpu_features.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

/* XCR0, the OS-enabled state components; 0 unless CPUID says OSXSAVE. */
static unsigned long long read_xcr0(unsigned ecx1)
{
    if (!(ecx1 & (1u << 27))) return 0; /* OSXSAVE: XGETBV usable */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

void cpu_features_read(cpu_features *out)
{
    memset(out, 0, sizeof *out);
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return;
    unsigned max_leaf = a;
    memcpy(out->vendor, &b, 4);
    memcpy(out->vendor + 4, &d, 4);
    memcpy(out->vendor + 8, &c, 4);
    out->vendor[12] = 0;
    if (max_leaf < 1) return;
    __cpuid(1, a, b, c, d);
    int family = (int)((a >> 8) & 0xf), model = (int)((a >> 4) & 0xf);
    if (family == 0xf) family += (int)((a >> 20) & 0xff);
    if (family == 0x6 || family >= 0xf) model |= (int)((a >> 12) & 0xf0);
    out->family = family;
    out->model = model;
    out->fma = (c >> 12) & 1;
    out->avx = (c >> 28) & 1;
    unsigned long long xcr0 = read_xcr0(c);
    out->os_ymm = (xcr0 & 0x6) == 0x6;
    out->os_zmm = out->os_ymm && (xcr0 & 0xe0) == 0xe0;
    if (max_leaf < 7) return;
    __cpuid_count(7, 0, a, b, c, d);
    unsigned max_sub = a;
    out->avx2 = (b >> 5) & 1;
    out->avx512f = (b >> 16) & 1;
    out->avx512dq = (b >> 17) & 1;
    out->avx512cd = (b >> 28) & 1;
    out->avx512bw = (b >> 30) & 1;
    out->avx512vl = (b >> 31) & 1;
    if (max_sub >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        out->avx512_bf16 = (a >> 5) & 1;
    }
}
#else
void cpu_features_read(cpu_features *out) { memset(out, 0, sizeof *out); }
#endif

bool cpu_features_avx2_fma_usable(const cpu_features *f) { return f->avx && f->avx2 && f->fma && f->os_ymm; }

bool cpu_features_avx512_usable(const cpu_features *f)
{
    return cpu_features_avx2_fma_usable(f) && f->os_zmm && f->avx512f && f->avx512cd && f->avx512bw &&
           f->avx512dq && f->avx512vl;
}
