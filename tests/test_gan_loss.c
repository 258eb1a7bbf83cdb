/* Tests of the GAN losses (src/engine/gan_loss.c): hinge and
 * non-saturating D/G losses against closed forms and finite differences,
 * feature matching (L2, L1) and its gradient, accuracy, the adaptive
 * adversarial weight (ratio, clamp, degenerate inputs), name parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/nn/gan_loss.h"
#include "gradcheck.h"

static void test_closed_forms(void **state)
{
    (void)state;
    float r[2] = {0.5f, 2.0f}, f[3] = {-2.0f, 0.0f, 1.0f};
    /* hinge D: relu(1-r) mean = (0.5+0)/2; relu(1+f) mean = (0+1+2)/3 */
    assert_float_equal(gan_d_loss(GAN_LOSS_HINGE, r, 2, f, 3, NULL, NULL), 0.25f + 1.0f, 1e-6f);
    assert_float_equal(gan_g_loss(GAN_LOSS_HINGE, f, 3, NULL), 1.0f / 3.0f, 1e-6f);
    double sp = 0.0;
    for (int i = 0; i < 2; i++) sp += log1p(exp(-r[i])) / 2;
    for (int i = 0; i < 3; i++) sp += log1p(exp(f[i])) / 3;
    assert_float_equal(gan_d_loss(GAN_LOSS_NONSATURATING, r, 2, f, 3, NULL, NULL), sp, 1e-6f);
    double g = 0.0;
    for (int i = 0; i < 3; i++) g += log1p(exp(-f[i])) / 3;
    assert_float_equal(gan_g_loss(GAN_LOSS_NONSATURATING, f, 3, NULL), g, 1e-6f);
    /* extreme logits stay finite */
    float big[2] = {1e4f, -1e4f}, d[2];
    assert_true(isfinite(gan_d_loss(GAN_LOSS_NONSATURATING, big, 2, big, 2, d, NULL)));
    assert_true(isfinite(d[0]) && isfinite(d[1]));
    assert_float_equal(gan_g_loss(GAN_LOSS_NONSATURATING, big, 2, d), 1e4f / 2, 1.0f);
    /* empty batches */
    assert_float_equal(gan_d_loss(GAN_LOSS_HINGE, r, 0, f, 0, NULL, NULL), 0.0f, 0.0f);
}

typedef struct {
    gan_loss_kind k;
    float *r, *f;
    int nr, nf, which; /* 0: D loss, 1: G loss */
} loss_ctx;

static double loss_fn(void *p)
{
    loss_ctx *c = p;
    return c->which ? gan_g_loss(c->k, c->f, c->nf, NULL) : gan_d_loss(c->k, c->r, c->nr, c->f, c->nf, NULL, NULL);
}

static void test_loss_gradients(void **state)
{
    (void)state;
    /* values away from the hinge kinks at +-1 */
    float r[4] = {0.3f, -1.7f, 2.4f, 0.05f}, f[5] = {-0.4f, 1.6f, -2.2f, 0.7f, 0.15f}, dr[4], df[5];
    for (int k = 0; k < 2; k++)
        for (int which = 0; which < 2; which++) {
            loss_ctx c = {(gan_loss_kind)k, r, f, 4, 5, which};
            if (which)
                gan_g_loss(c.k, f, 5, df);
            else
                gan_d_loss(c.k, r, 4, f, 5, dr, df);
            double e = gc_check(loss_fn, &c, f, df, 5, 1e-2f, 5, 1e-4, 1e-3, "dfake");
            assert_true(e < 1e-3);
            if (!which) assert_true(gc_check(loss_fn, &c, r, dr, 4, 1e-2f, 4, 1e-4, 1e-3, "dreal") < 1e-3);
        }
    /* hinge: a real logit beyond the margin gives no gradient */
    gan_d_loss(GAN_LOSS_HINGE, r, 4, f, 5, dr, df);
    assert_true(dr[2] == 0.0f && dr[0] < 0.0f && df[2] == 0.0f && df[1] > 0.0f);
}

typedef struct {
    gan_fm_kind k;
    float *r, *f, *scratch;
    int nr, nf, F;
} fm_ctx;

static double fm_fn(void *p)
{
    fm_ctx *c = p;
    return gan_fm_loss(c->k, c->r, c->nr, c->f, c->nf, c->F, NULL, c->scratch);
}

static void test_feature_matching(void **state)
{
    (void)state;
    enum { NR = 3, NF = 4, F = 6 };
    float r[NR * F], f[NF * F], df[NF * F], scratch[2 * F];
    gc_fill(r, NR * F, 1, 1.0f);
    gc_fill(f, NF * F, 2, 1.0f);
    for (int k = 0; k < 2; k++) {
        fm_ctx c = {(gan_fm_kind)k, r, f, scratch, NR, NF, F};
        float L = gan_fm_loss(c.k, r, NR, f, NF, F, df, scratch);
        /* closed form */
        double want = 0.0;
        for (int j = 0; j < F; j++) {
            double mr = 0.0, mf = 0.0;
            for (int b = 0; b < NR; b++) mr += r[b * F + j] / NR;
            for (int b = 0; b < NF; b++) mf += f[b * F + j] / NF;
            want += k == GAN_FM_L2 ? (mf - mr) * (mf - mr) / F : fabs(mf - mr) / F;
        }
        assert_float_equal(L, want, 1e-6);
        double e = gc_check(fm_fn, &c, f, df, NF * F, 1e-3f, NF * F, 1e-4, 1e-3, k ? "fm L1" : "fm L2");
        printf("feature matching %s: loss %.5f, gradcheck rel err %.2e\n", k ? "L1" : "L2", L, e);
        assert_true(e < 1e-3);
    }
    /* identical batches: zero loss and gradient */
    assert_float_equal(gan_fm_loss(GAN_FM_L2, r, NR, r, NR, F, df, scratch), 0.0f, 0.0f);
    for (int i = 0; i < NR * F; i++) assert_true(df[i] == 0.0f);
}

static void test_accuracy(void **state)
{
    (void)state;
    float r[4] = {1.0f, -0.5f, 0.2f, 3.0f}, f[2] = {-1.0f, 0.5f}, ar, af;
    gan_accuracy(r, 4, f, 2, &ar, &af);
    assert_float_equal(ar, 0.75f, 1e-6f);
    assert_float_equal(af, 0.5f, 1e-6f);
    gan_accuracy(r, 0, f, 0, &ar, &af);
    assert_float_equal(ar, 0.0f, 0.0f);
}

static void test_adaptive_weight(void **state)
{
    (void)state;
    float a[3] = {3.0f, 0.0f, 4.0f}, b[3] = {0.0f, 1.0f, 0.0f}, z[3] = {0};
    /* ||a|| = 5, ||b|| = 1: ratio 5/(1+1e-4) */
    assert_float_equal(gan_adaptive_weight(a, b, 3, 1.0f, 1e4f), 5.0f / 1.0001f, 1e-5f);
    assert_float_equal(gan_adaptive_weight(a, b, 3, 0.5f, 1e4f), 2.5f / 1.0001f, 1e-5f);
    assert_float_equal(gan_adaptive_weight(a, b, 3, 1.0f, 2.0f), 2.0f, 0.0f);        /* clamped */
    assert_float_equal(gan_adaptive_weight(a, z, 3, 1.0f, 1e4f), 1e4f, 0.0f);         /* zero adv grad: max */
    assert_float_equal(gan_adaptive_weight(z, b, 3, 1.0f, 1e4f), 0.0f, 0.0f);
    float nan3[3] = {NAN, 0.0f, 0.0f};
    assert_float_equal(gan_adaptive_weight(nan3, b, 3, 1.0f, 1e4f), 0.0f, 0.0f);    /* non-finite: 0 */
    assert_float_equal(gan_norm(a, 3), 5.0, 1e-12);
}

static void test_names(void **state)
{
    (void)state;
    gan_loss_kind k;
    assert_int_equal(gan_loss_kind_parse("hinge", &k), 0);
    assert_int_equal(k, GAN_LOSS_HINGE);
    assert_int_equal(gan_loss_kind_parse("nonsaturating", &k), 0);
    assert_int_equal(k, GAN_LOSS_NONSATURATING);
    assert_string_equal(gan_loss_kind_name(k), "nonsaturating");
    assert_int_equal(gan_loss_kind_parse("wgan", &k), -1);
    assert_int_equal(gan_loss_kind_parse(NULL, &k), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_closed_forms),
        cmocka_unit_test(test_loss_gradients),
        cmocka_unit_test(test_feature_matching),
        cmocka_unit_test(test_accuracy),
        cmocka_unit_test(test_adaptive_weight),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
