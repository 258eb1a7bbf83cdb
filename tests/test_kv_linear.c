/* Tests of kv_linear's packed decode kernel: kv_linear_forward_packed
 * against a naive double-precision product over sizes that are and are not
 * multiples of the panel and vector widths, with and without bias, and its
 * batch invariance (a row's outputs are bit-for-bit the same at any N). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/sample/kv_linear.h"

static float *fa(size_t n) { float *p = calloc(n ? n : 1, sizeof *p); assert_non_null(p); return p; }

static unsigned long long rng_state = 777;
static float frand(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((rng_state >> 40) & 0xFFFFFF) / 16777216.0f * 2.0f - 1.0f;
}

static void check_shape(int N, int C, int OC, int with_bias)
{
    float *x = fa((size_t)N * C), *w = fa((size_t)OC * C), *b = fa((size_t)OC), *o = fa((size_t)N * OC),
          *one = fa((size_t)OC);
    for (size_t i = 0; i < (size_t)N * C; i++) x[i] = frand();
    for (size_t i = 0; i < (size_t)OC * C; i++) w[i] = frand();
    for (int i = 0; i < OC; i++) b[i] = frand();
    kv_packed pk;
    assert_int_equal(kv_linear_pack(&pk, w, C, OC), 0);
    kv_linear_forward_packed(o, x, &pk, with_bias ? b : NULL, N);
    for (int n = 0; n < N; n++)
        for (int j = 0; j < OC; j++) {
            double ref = with_bias ? b[j] : 0, mag = with_bias ? fabs(b[j]) : 0;
            for (int k = 0; k < C; k++) {
                ref += (double)x[(size_t)n * C + k] * w[(size_t)j * C + k];
                mag += fabs((double)x[(size_t)n * C + k] * w[(size_t)j * C + k]);
            }
            double e = fabs(o[(size_t)n * OC + j] - ref) / (mag + 1e-6);
            if (e > 1e-6) fail_msg("N %d C %d OC %d out[%d][%d] = %g, want %g", N, C, OC, n, j, o[(size_t)n * OC + j], ref);
        }
    /* each row alone gives the same bits */
    for (int n = 0; n < N; n++) {
        kv_linear_forward_packed(one, x + (size_t)n * C, &pk, with_bias ? b : NULL, 1);
        assert_memory_equal(one, o + (size_t)n * OC, (size_t)OC * sizeof(float));
    }
    kv_packed_free(&pk);
    free(x), free(w), free(b), free(o), free(one);
}

static void test_packed_matches_naive(void **state)
{
    (void)state;
    static const int shapes[][3] = {{1, 256, 768}, {16, 256, 774}, {7, 33, 65}, {5, 1, 1},   {3, 17, 63},
                                    {13, 64, 64}, {6, 100, 129}, {1, 1024, 256}, {11, 5, 200}, {2, 48, 16}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int bias = 0; bias < 2; bias++) check_shape(shapes[s][0], shapes[s][1], shapes[s][2], bias);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packed_matches_naive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
