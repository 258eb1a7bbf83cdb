/* rng: xoshiro256** seeded by splitmix64, plus uniform/normal helpers. */
#include "util/rng.h"

#include <math.h>

void rng_seed(rng_state *r, uint64_t seed)
{
    uint64_t x = seed + 0x9E3779B97F4A7C15ull; /* the stream starts one step in */
    for (int i = 0; i < 4; i++) r->s[i] = rng_splitmix64(&x);
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1; /* never all-zero */
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_next(rng_state *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float rng_uniform(rng_state *r) { return (float)(rng_next(r) >> 40) * (1.0f / 16777216.0f); }

double rng_uniform_double(rng_state *r) { return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }

uint64_t rng_below(rng_state *r, uint64_t n)
{
    if (n <= 1) return 0;
    uint64_t limit = UINT64_MAX - UINT64_MAX % n; /* reject the biased tail */
    uint64_t x;
    do x = rng_next(r);
    while (x >= limit);
    return x % n;
}

double rng_normal(rng_state *r)
{
    /* Box-Muller; u1 in (0, 1] so log() is finite. */
    double u1 = 1.0 - rng_uniform_double(r);
    double u2 = rng_uniform_double(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void rng_fill_normal(rng_state *r, float *x, long n, float mean, float std)
{
    for (long i = 0; i < n; i++) x[i] = mean + std * (float)rng_normal(r);
}
