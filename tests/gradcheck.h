/* gradcheck: shared test helpers for checking hand-written backward passes
 * against finite differences of the float forward pass, in double precision. */
#ifndef AURL_TEST_GRADCHECK_H
#define AURL_TEST_GRADCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "util/rng.h"
#include "engine/model/transformer.h"

/* Deterministic uniform floats in [-scale, scale) from a seed. */
void gc_fill(float *x, size_t n, uint64_t seed, float scale);

/* n tokens uniform in [0, V) from a fresh rng seeded with seed. */
void gc_tokens(int32_t *x, int n, int V, uint64_t seed);

/* Overwrites t's parameters with sd * N(0,1) draws from r, centred on 1 for
 * LayerNorm weights (names containing "ln" and ".weight") and on 0 otherwise:
 * weights larger than the init, so gradients stand well above float noise. */
void gc_randomize_tensor(const nn_tensor *t, rng_state *r, float sd);

/* sum_i out[i] * w[i] in double: the scalar loss whose dL/dout is w. */
double gc_dot(const float *out, const float *w, size_t n);

/* The scalar loss as a function of the current inputs (runs the forward). */
typedef double (*gc_loss_fn)(void *ctx);

/* Compares grad[i] with the 4-point central difference of loss() with
 * respect to x[i] (x is perturbed in place and restored) for up to max_checks
 * indices spread over [0, n). Per element the error is
 * |g - fd| / max(floor, |g| + |fd|). Returns the worst error and prints
 * it with name when it exceeds tol. */
double gc_check(gc_loss_fn loss, void *ctx, float *x, const float *grad, size_t n, float h,
                size_t max_checks, double floor, double tol, const char *name);

#endif
