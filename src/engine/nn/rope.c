/* rope: the rotary position table and the in-place rotation of the query
 * and key parts of packed qkv rows (forward, and inverse for backward). */
#include "engine/nn/rope.h"

#include <math.h>

size_t rope_table_size(int maxT, int hs) { return maxT > 0 && hs > 0 ? (size_t)maxT * (size_t)hs : 0; }

void rope_table_fill(float *tab, int maxT, int hs)
{
    for (int p = 0; p < maxT; p++)
        for (int i = 0; i < hs / 2; i++) {
            double a = (double)p * pow(10000.0, -2.0 * i / hs);
            tab[(size_t)p * hs + 2 * i] = (float)cos(a);
            tab[(size_t)p * hs + 2 * i + 1] = (float)sin(a);
        }
}

/* Rotate the hs/2 pairs of one head slice x by the (cos, sin) pairs cs;
 * sgn -1 rotates backwards. */
static inline void rotate_head(float *x, const float *cs, int hs, float sgn)
{
    #pragma omp simd
    for (int i = 0; i < hs / 2; i++) {
        float c = cs[2 * i], s = sgn * cs[2 * i + 1];
        float a = x[2 * i], b = x[2 * i + 1];
        x[2 * i] = a * c - b * s;
        x[2 * i + 1] = a * s + b * c;
    }
}

void rope_apply_qk(float *qkv, int n, int C, int NH, const int *pos, int T, const float *tab, int inverse)
{
    if (n <= 0 || NH <= 0 || C < NH) return;
    const int hs = C / NH;
    const float sgn = inverse ? -1.0f : 1.0f;
    #pragma omp parallel for schedule(static) if ((long)n * C > 65536)
    for (int r = 0; r < n; r++) {
        int p = pos ? pos[r] : r % T;
        const float *cs = tab + (size_t)p * hs;
        float *row = qkv + (size_t)r * 3 * C;
        for (int h = 0; h < 2 * NH; h++) rotate_head(row + (size_t)h * hs, cs, hs, sgn); /* q heads, then k heads */
    }
}
