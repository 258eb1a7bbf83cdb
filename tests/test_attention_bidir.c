/* test_attention_bidir: ATTN_BIDIRECTIONAL (the VAE encoder's non-causal
 * attention) against a naive dense softmax over all keys, across several
 * query blocks, and its backward against finite differences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/nn/attention.h"
#include "gradcheck.h"

static const attn_config BIDIR = {ATTN_BIDIRECTIONAL, 1, 1};

/* Naive reference: every query sees all T keys. */
static void naive(float *out, const float *qkv, int B, int T, int C, int NH)
{
    int hs = C / NH;
    double *s = malloc((size_t)T * sizeof *s);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                const float *q = qkv + ((size_t)b * T + t) * 3 * C + h * hs;
                double mx = -INFINITY, sum = 0.0;
                for (int j = 0; j < T; j++) {
                    const float *k = qkv + ((size_t)b * T + j) * 3 * C + C + h * hs;
                    double d = 0.0;
                    for (int i = 0; i < hs; i++) d += (double)q[i] * k[i];
                    s[j] = d / sqrt((double)hs);
                    if (s[j] > mx) mx = s[j];
                }
                for (int j = 0; j < T; j++) sum += (s[j] = exp(s[j] - mx));
                for (int i = 0; i < hs; i++) {
                    double o = 0.0;
                    for (int j = 0; j < T; j++) o += s[j] / sum * qkv[((size_t)b * T + j) * 3 * C + 2 * C + h * hs + i];
                    out[((size_t)b * T + t) * C + h * hs + i] = (float)o;
                }
            }
    free(s);
}

typedef struct {
    float *out, *saved, *work, *qkv, *w;
    int B, T, C, NH;
} ctx;

static double loss(void *p)
{
    ctx *c = p;
    attn_forward(c->out, c->saved, c->work, c->qkv, &BIDIR, c->B, c->T, c->C, c->NH);
    return gc_dot(c->out, c->w, (size_t)c->B * c->T * c->C);
}

static void run(int B, int T, int C, int NH, int check_grad)
{
    size_t n = (size_t)B * T * C;
    ctx c = {malloc(n * sizeof(float)), malloc(attn_saved_size(&BIDIR, B, T, NH) * sizeof(float)),
             malloc((attn_work_size(&BIDIR, B, T, C, NH) + 1) * sizeof(float)), malloc(3 * n * sizeof(float)),
             malloc(n * sizeof(float)), B, T, C, NH};
    float *ref = malloc(n * sizeof(float)), *dqkv = calloc(3 * n, sizeof(float));
    gc_fill(c.qkv, 3 * n, 1, 1.0f);
    gc_fill(c.w, n, 2, 1.0f);
    loss(&c);
    naive(ref, c.qkv, B, T, C, NH);
    double e = 0.0;
    for (size_t i = 0; i < n; i++) e = fmax(e, fabs((double)c.out[i] - ref[i]));
    printf("  bidirectional B%d T%d C%d NH%d: max |out - naive| %.2e\n", B, T, C, NH, e);
    assert_true(e < 1e-5);
    /* the first position sees the last: changing a late value changes it */
    float o0 = c.out[0];
    c.qkv[((size_t)(T - 1)) * 3 * C + 2 * C] += 1.0f;
    loss(&c);
    assert_true(c.out[0] != o0);
    c.qkv[((size_t)(T - 1)) * 3 * C + 2 * C] -= 1.0f;
    if (check_grad) {
        loss(&c);
        attn_backward(dqkv, c.work, c.w, c.qkv, c.saved, &BIDIR, B, T, C, NH);
        double g = gc_check(loss, &c, c.qkv, dqkv, 3 * n, 1e-2f, 200, 1e-3, 3e-2, "bidir dqkv");
        printf("  bidirectional gradcheck worst %.2e\n", g);
        assert_true(g < 3e-2); /* float forward: FD noise of a few 1e-5 */
    }
    free(c.out), free(c.saved), free(c.work), free(c.qkv), free(c.w), free(ref), free(dqkv);
}

static void test_bidir_small(void **state)
{
    (void)state;
    run(2, 9, 8, 2, 1);
}

static void test_bidir_blocks(void **state)
{
    (void)state;
    run(1, 150, 16, 2, 0); /* three query blocks */
    run(1, 70, 4, 2, 1);   /* gradient across two blocks */
}

static void test_name(void **state)
{
    (void)state;
    attn_kind k;
    assert_string_equal(attn_kind_name(ATTN_BIDIRECTIONAL), "bidirectional");
    assert_int_equal(attn_kind_parse("bidirectional", &k), -1); /* not a decoder kind */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bidir_small),
        cmocka_unit_test(test_bidir_blocks),
        cmocka_unit_test(test_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
