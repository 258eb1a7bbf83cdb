/* cpu_features: what this CPU can run and what the OS saves on a context
 * switch, read from CPUID and XGETBV (x86 only; elsewhere everything reads as
 * absent). Used to pick the OpenBLAS kernel family (engine/nn/blas_core) and
 * whether the bf16 decode kernels run natively (engine/nn/bf16). */
#ifndef AURL_UTIL_CPU_FEATURES_H
#define AURL_UTIL_CPU_FEATURES_H

#include <stdbool.h>

typedef struct {
    char vendor[13];   /* "GenuineIntel", "AuthenticAMD", ... or "" */
    int family, model; /* display family and model (extended fields folded in) */
    bool avx, fma, avx2;
    bool avx512f, avx512cd, avx512bw, avx512dq, avx512vl, avx512_bf16;
    bool os_ymm; /* the OS saves SSE and YMM state (XCR0 bits 1, 2) */
    bool os_zmm; /* the OS also saves opmask and ZMM state (XCR0 bits 5, 6, 7) */
} cpu_features;

/* Fill *out from CPUID/XGETBV of the CPU this runs on (all false off x86). */
void cpu_features_read(cpu_features *out);

/* AVX2 and FMA present and usable (the OS saves YMM state). */
bool cpu_features_avx2_fma_usable(const cpu_features *f);

/* AVX-512 F, CD, BW, DQ and VL (the Skylake-X set) present and usable (the
 * OS saves ZMM state), with AVX2+FMA usable as well. */
bool cpu_features_avx512_usable(const cpu_features *f);

#endif
