/* Tests of src/engine/{adamw,lr_schedule,rng}.c: the schedule's shape,
 * AdamW against a hand-computed double-precision update (decay only where
 * flagged, bias correction, clipping), the NaN/Inf guard, and the RNG. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "engine/nn/adamw.h"
#include "engine/nn/lr_schedule.h"
#include "util/rng.h"

static void test_schedule(void **state)
{
    (void)state;
    lr_schedule s = {1e-3f, 1e-4f, 4, 14};
    assert_true(fabsf(lr_schedule_at(&s, 0) - 2.5e-4f) < 1e-9f);
    assert_true(fabsf(lr_schedule_at(&s, 3) - 1e-3f) < 1e-9f);
    assert_true(fabsf(lr_schedule_at(&s, 4) - 1e-3f) < 1e-9f);           /* cosine starts at the peak */
    assert_true(fabsf(lr_schedule_at(&s, 9) - 5.5e-4f) < 1e-8f);         /* halfway: mean of peak and floor */
    assert_true(fabsf(lr_schedule_at(&s, 14) - 1e-4f) < 1e-9f);
    assert_true(fabsf(lr_schedule_at(&s, 1000) - 1e-4f) < 1e-9f);        /* stays at the floor */
    for (long k = 4; k < 14; k++) assert_true(lr_schedule_at(&s, k + 1) < lr_schedule_at(&s, k));
    lr_schedule none = {2e-3f, 0.0f, 0, 0};
    assert_true(lr_schedule_at(&none, 0) == 2e-3f && lr_schedule_at(&none, 50) == 2e-3f);
}

/* Two segments, one decayed; compare 3 steps with a double reference. */
static void test_adamw_matches_reference(void **state)
{
    (void)state;
    float p[5] = {0.5f, -1.0f, 2.0f, 0.1f, -0.3f}, g[5], m[5] = {0}, v[5] = {0};
    double rp[5], rm[5] = {0}, rv[5] = {0};
    for (int i = 0; i < 5; i++) rp[i] = p[i];
    adamw_segment segs[2] = {{p, g, m, v, 3, 1}, {p + 3, g + 3, m + 3, v + 3, 2, 0}};
    adamw_config c = adamw_default_config(0.1f, 0.01f, 2, 6);
    c.grad_clip = 1.0f;
    adamw opt;
    adamw_init(&opt, &c);
    for (int step = 0; step < 3; step++) {
        double gg[5], norm = 0;
        for (int i = 0; i < 5; i++) {
            g[i] = (float)(0.3 * (i + 1) * (step % 2 ? -1 : 1) + 0.1 * p[i]);
            gg[i] = g[i];
            norm += gg[i] * gg[i];
        }
        norm = sqrt(norm);
        adamw_result r = adamw_step(&opt, segs, 2, 1.0f);
        assert_false(r.skipped);
        assert_true(fabs(r.grad_norm - norm) < 1e-5);
        double coef = 1.0 / (norm + 1e-6);
        if (coef > 1) coef = 1;
        double lr = lr_schedule_at(&c.sched, step);
        assert_true(fabsf(r.lr - (float)lr) < 1e-9f);
        int t = step + 1;
        for (int i = 0; i < 5; i++) {
            double gi = gg[i] * coef;
            if (i < 3) rp[i] *= 1.0 - lr * 0.1;
            rm[i] = 0.9 * rm[i] + 0.1 * gi;
            rv[i] = 0.95 * rv[i] + 0.05 * gi * gi;
            double den = sqrt(rv[i]) / sqrt(1 - pow(0.95, t)) + 1e-8;
            rp[i] -= lr / (1 - pow(0.9, t)) * rm[i] / den;
        }
        for (int i = 0; i < 5; i++) assert_true(fabs(p[i] - rp[i]) < 1e-6);
    }
    /* both counters advanced: schedule step and bias-correction t */
    assert_int_equal(opt.t, 3);
    assert_int_equal(opt.step, 3);
}

static void test_nan_guard(void **state)
{
    (void)state;
    float p[4] = {1, 2, 3, 4}, g[4] = {0.1f, NAN, 0.2f, 0.3f}, m[4] = {0}, v[4] = {0};
    adamw_segment seg = {p, g, m, v, 4, 1};
    adamw_config c = adamw_default_config(0.1f, 0.0f, 0, 10);
    adamw opt;
    adamw_init(&opt, &c);
    adamw_result r = adamw_step(&opt, &seg, 1, 2.0f); /* NaN gradient */
    assert_true(r.skipped);
    assert_true(r.lr_mult == 0.5f);
    for (int i = 0; i < 4; i++) {
        assert_true(p[i] == (float)(i + 1));
        assert_true(g[i] == 0.0f);
        assert_true(m[i] == 0.0f);
    }
    g[0] = 1.0f;
    r = adamw_step(&opt, &seg, 1, INFINITY); /* infinite loss */
    assert_true(r.skipped);
    assert_true(r.lr_mult == 0.25f);
    assert_int_equal(opt.n_skipped, 2);
    assert_int_equal(opt.t, 0);
    g[0] = 1.0f;
    r = adamw_step(&opt, &seg, 1, 1.0f);
    assert_false(r.skipped);
    assert_true(fabsf(r.lr - 0.25f * lr_schedule_at(&c.sched, 2)) < 1e-9f); /* backed-off lr */
    assert_true(p[0] < 1.0f);
}

static void test_clipping(void **state)
{
    (void)state;
    /* one huge gradient: with clipping the first Adam step is still ~lr
     * (Adam normalises), but the moments see the clipped gradient */
    float p[2] = {0, 0}, g[2] = {30.0f, 40.0f}, m[2] = {0}, v[2] = {0};
    adamw_segment seg = {p, g, m, v, 2, 0};
    adamw_config c = adamw_default_config(0.01f, 0.01f, 0, 0);
    c.grad_clip = 1.0f;
    adamw opt;
    adamw_init(&opt, &c);
    adamw_result r = adamw_step(&opt, &seg, 1, 0.0f);
    assert_true(fabsf(r.grad_norm - 50.0f) < 1e-4f);
    assert_true(fabsf(m[0] - 0.1f * 0.6f) < 1e-6f); /* clipped g = (0.6, 0.8) */
    assert_true(fabsf(m[1] - 0.1f * 0.8f) < 1e-6f);
    assert_true(g[0] == 30.0f);                   /* caller's gradient untouched */
}

static void test_rng(void **state)
{
    (void)state;
    rng_state a, b;
    rng_seed(&a, 7);
    rng_seed(&b, 7);
    for (int i = 0; i < 100; i++) assert_true(rng_next(&a) == rng_next(&b));
    rng_seed(&b, 8);
    assert_true(rng_next(&a) != rng_next(&b));
    rng_seed(&a, 0); /* seed 0 is fine */
    assert_true(rng_next(&a) != 0 || rng_next(&a) != 0);
    double s = 0, s2 = 0;
    int n = 200000, below = 0;
    for (int i = 0; i < n; i++) {
        double x = rng_normal(&a);
        s += x;
        s2 += x * x;
        float u = rng_uniform(&a);
        assert_true(u >= 0.0f && u < 1.0f);
        if (rng_below(&a, 10) < 3) below++;
    }
    assert_true(fabs(s / n) < 0.01);
    assert_true(fabs(s2 / n - 1.0) < 0.02);
    assert_true(fabs((double)below / n - 0.3) < 0.01);
    assert_true(rng_below(&a, 1) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_adamw_matches_reference),
        cmocka_unit_test(test_nan_guard),
        cmocka_unit_test(test_clipping),
        cmocka_unit_test(test_rng),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
