/* Tests of attn_decode (the KV-cached decoder's attention over cache spans):
 * the dispatched kernel (AVX-512 where built for it) and the portable one
 * against a naive double-precision softmax attention, over several head
 * counts and sizes (odd ones included), one to three spans, a head count
 * above one group (65 heads), and a NaN score poisoning only its head. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/nn/attn_decode.h"

static float *fa(size_t n) { float *p = calloc(n ? n : 1, sizeof *p); assert_non_null(p); return p; }

static unsigned long long rng_state = 12345;
static float frand(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((rng_state >> 40) & 0xFFFFFF) / 16777216.0f * 2.0f - 1.0f;
}

/* out = softmax attention of q over the positions of the spans, in double. */
static void naive(double *out, const float *q, const attn_span *sp, int ns, int NH, int hs)
{
    int C = NH * hs;
    for (int h = 0; h < NH; h++) {
        double mx = -INFINITY, sum = 0;
        int tot = 0;
        for (int i = 0; i < ns; i++) tot += sp[i].n;
        double *s = calloc((size_t)tot, sizeof *s);
        assert_non_null(s);
        int n = 0;
        for (int i = 0; i < ns; i++)
            for (int j = 0; j < sp[i].n; j++, n++) {
                double d = 0;
                for (int e = 0; e < hs; e++) d += (double)q[h * hs + e] * sp[i].k[(size_t)j * C + h * hs + e];
                s[n] = d / sqrt((double)hs);
                if (s[n] > mx) mx = s[n];
            }
        for (n = 0; n < tot; n++) sum += (s[n] = exp(s[n] - mx));
        for (int e = 0; e < hs; e++) out[h * hs + e] = 0;
        n = 0;
        for (int i = 0; i < ns; i++)
            for (int j = 0; j < sp[i].n; j++, n++)
                for (int e = 0; e < hs; e++) out[h * hs + e] += s[n] / sum * sp[i].v[(size_t)j * C + h * hs + e];
        free(s);
    }
}

/* One case: NH heads of hs, spans of the given lengths. */
static void check_case(int NH, int hs, const int *lens, int ns)
{
    int C = NH * hs, tot = 0;
    for (int i = 0; i < ns; i++) tot += lens[i];
    float *k = fa((size_t)tot * C), *v = fa((size_t)tot * C), *q = fa((size_t)C);
    for (size_t i = 0; i < (size_t)tot * C; i++) k[i] = 2.0f * frand(), v[i] = frand();
    for (int i = 0; i < C; i++) q[i] = 2.0f * frand();
    attn_span sp[ATTN_DECODE_MAX_SPANS];
    /* spans in reverse storage order, as a wrapped ring gives them */
    size_t off = (size_t)tot * C;
    for (int i = 0; i < ns; i++) {
        off -= (size_t)lens[i] * C;
        sp[i] = (attn_span){k + off, v + off, lens[i]};
    }
    int per = tot + 3, gh = NH < 64 ? NH : 64;
    float *sc = fa((size_t)gh * per), *o1 = fa((size_t)C), *o2 = fa((size_t)C);
    double *ref = calloc((size_t)C, sizeof *ref);
    assert_non_null(ref);
    naive(ref, q, sp, ns, NH, hs);
    attn_decode_row(o1, q, sp, ns, NH, hs, sc, per);
    attn_decode_row_portable(o2, q, sp, ns, NH, hs, sc, per);
    double worst = 0;
    for (int i = 0; i < C; i++) {
        double e1 = fabs(o1[i] - ref[i]) / (fabs(ref[i]) + 1e-2), e2 = fabs(o2[i] - ref[i]) / (fabs(ref[i]) + 1e-2);
        if (e1 > worst) worst = e1;
        if (e2 > worst) worst = e2;
    }
    if (worst > 2e-5) fail_msg("NH %d hs %d spans %d (first %d): worst relative error %g", NH, hs, ns, lens[0], worst);
    free(k), free(v), free(q), free(sc), free(o1), free(o2), free(ref);
}

static void test_attn_decode_sizes(void **state)
{
    (void)state;
    static const int shapes[][2] = {{1, 16}, {4, 64}, {2, 48}, {3, 7}, {1, 1}, {8, 32}, {5, 80}, {2, 17}, {17, 16}};
    static const int lens[][3] = {{1, 0, 0}, {2, 0, 0}, {37, 0, 0}, {200, 0, 0}, {5, 9, 0}, {3, 50, 1}, {16, 16, 16}};
    static const int nsp[] = {1, 1, 1, 1, 2, 3, 3};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t l = 0; l < sizeof nsp / sizeof nsp[0]; l++) check_case(shapes[s][0], shapes[s][1], lens[l], nsp[l]);
}

static void test_attn_decode_many_heads(void **state)
{
    (void)state;
    int lens[] = {11, 4};
    check_case(65, 16, lens, 2); /* two head groups */
    check_case(130, 2, lens, 2);
}

static void test_attn_decode_nan_poisons_its_head(void **state)
{
    (void)state;
    int NH = 2, hs = 16, C = NH * hs, T = 5;
    float *k = fa((size_t)T * C), *v = fa((size_t)T * C), *q = fa((size_t)C), *o = fa((size_t)C), *sc = fa(2 * 8);
    for (int i = 0; i < T * C; i++) k[i] = frand(), v[i] = frand();
    for (int i = 0; i < C; i++) q[i] = frand();
    k[2 * C + 3] = NAN; /* head 0 of position 2 */
    attn_span sp = {k, v, T};
    attn_decode_row(o, q, &sp, 1, NH, hs, sc, 8);
    for (int i = 0; i < hs; i++) assert_true(isnan(o[i]));
    for (int i = hs; i < C; i++) assert_false(isnan(o[i]));
    free(k), free(v), free(q), free(o), free(sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attn_decode_sizes),
        cmocka_unit_test(test_attn_decode_many_heads),
        cmocka_unit_test(test_attn_decode_nan_poisons_its_head),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
