/* bf16: bfloat16 storage for decode-time weights and the KV cache
 * (engine/sample). A bf16 is the top 16 bits of a float32 (8 exponent bits,
 * 7 mantissa bits); widening is exact. Narrowing rounds to nearest, ties to
 * even, as the CPU's VCVTNEPS2BF16 does, including its treatment of
 * subnormals (flushed to a signed zero) and NaNs (kept, made quiet), so the
 * portable code and the AVX512_BF16 code give the same bits.
 *
 * Dispatch: bf16_native() says whether the AVX512_BF16 kernels run (the CPU
 * has AVX-512 F/BW/VL + BF16 and the OS saves ZMM state, read once from
 * CPUID); bf16_force_portable(1) switches every dispatched kernel to its
 * portable version (tests, and AURL_BF16_PORTABLE=1 in the environment). */
#ifndef AURL_NN_BF16_H
#define AURL_NN_BF16_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* BF16_X86: the compiler can build AVX512_BF16 code by function attribute
 * (BF16_TARGET), whatever -m flags the build uses. */
#if defined(__x86_64__) && defined(__GNUC__) && (__GNUC__ >= 10 || defined(__clang__))
#define BF16_X86 1
#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#else
#define BF16_X86 0
#define BF16_TARGET
#endif

/* f rounded to bf16: nearest, ties to even; subnormals -> signed zero; NaN
 * -> a quiet NaN with f's sign and top payload bits. */
static inline uint16_t bf16_from_f32(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
    if ((u & 0x7f800000u) == 0) return (uint16_t)((u >> 16) & 0x8000u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* The float32 a bf16 stands for (exact). */
static inline float bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* The AVX512_BF16 kernels run here (CPU support, and not forced portable). */
bool bf16_native(void);

/* 1: every dispatched bf16 kernel takes its portable path; 0: back to the
 * CPU's own. Returns the previous setting. */
int bf16_force_portable(int on);
/* bf16_force_portable (or AURL_BF16_PORTABLE) is in force. */
bool bf16_portable_forced(void);

/* dst[i] = bf16_from_f32(src[i]) for i < n (vectorised where the CPU has
 * AVX512_BF16; the same bits either way). */
void bf16_from_f32_n(uint16_t *dst, const float *src, size_t n);

#endif
