/* rng: a small seeded pseudo-random generator (xoshiro256**, seeded through
 * splitmix64) with uniform and normal draws, used for weight initialisation
 * and anything else that must be reproducible from a 64-bit seed. The whole
 * state is a plain struct so checkpoints can save and restore it. */
#ifndef AURL_RNG_H
#define AURL_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} rng_state;

/* Seed the generator; every seed (including 0) gives a valid state. */
void rng_seed(rng_state *r, uint64_t seed);
/* Next raw 64-bit output. */
uint64_t rng_next(rng_state *r);
/* Uniform float in [0, 1) with 24 random bits. */
float rng_uniform(rng_state *r);
/* Uniform double in [0, 1) with 53 random bits. */
double rng_uniform_double(rng_state *r);
/* Uniform integer in [0, n) for n >= 1 (unbiased). */
uint64_t rng_below(rng_state *r, uint64_t n);
/* Standard normal draw (Box-Muller). */
double rng_normal(rng_state *r);
/* Fill x[0..n) with normal(mean, std) draws. */
void rng_fill_normal(rng_state *r, float *x, long n, float mean, float std);
/* splitmix64 mixing of one value: a stateless hash for deriving sub-seeds
 * and counter-based draws (inline: dropout calls it once per element). */
static inline uint64_t rng_mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}
/* One step of a splitmix64 stream: advance *STATE by the golden gamma and
 * return the mixed new state (the reference splitmix64 next()). */
static inline uint64_t rng_splitmix64(uint64_t *state)
{
    uint64_t x = *state;
    *state += 0x9E3779B97F4A7C15ull;
    return rng_mix64(x);
}
#endif
