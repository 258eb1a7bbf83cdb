/* Tests of attention: the blocked kernels of all three variants against a
 * naive O(T^2) masked double-precision reference (forward), the backward
 * pass against finite differences of that reference, causality and window
 * properties, and the saved/work memory bounds; rotary positions
 * (engine/nn/rope): the rotation's properties and the gradient of
 * attention over rotated q, k against finite differences, every variant. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/nn/attention.h"
#include "engine/nn/rope.h"
#include "gradcheck.h"

typedef struct {
    attn_config cfg;
    int B, T, C, NH;
    int big; /* large enough to run multi-threaded: fewer finite-difference checks */
} case_t;

/* The cases every property is checked on: B > 1, NH > 1, T (150) not a
 * multiple of the kernel's block size, windows smaller and larger than a
 * block, strides that do and do not divide the window; the last cases are
 * big enough for the kernels' multi-threaded path. */
static const case_t CASES[] = {
    {{ATTN_FULL, 0, 0}, 2, 150, 24, 3, 0},
    {{ATTN_SLIDING, 20, 0}, 2, 150, 24, 3, 0},
    {{ATTN_SLIDING, 100, 0}, 2, 150, 24, 3, 0},
    {{ATTN_HIERARCHICAL, 10, 7}, 2, 150, 24, 3, 0},
    {{ATTN_HIERARCHICAL, 70, 16}, 2, 150, 24, 3, 0},
    {{ATTN_HIERARCHICAL, 1, 1}, 1, 33, 8, 2, 0},   /* every position global: full */
    {{ATTN_SLIDING, 1, 0}, 1, 9, 8, 2, 0},         /* sees only itself */
    {{ATTN_SLIDING, 50, 0}, 3, 7, 12, 2, 0},       /* window longer than T */
    {{ATTN_FULL, 0, 0}, 2, 300, 64, 4, 1},
    {{ATTN_HIERARCHICAL, 40, 9}, 2, 300, 64, 4, 1},
};
#define NCASES (sizeof CASES / sizeof CASES[0])

/* May query t see key j? Written from the header's definition. */
static int ref_allowed(const attn_config *c, int t, int j)
{
    if (j > t) return 0;
    if (c->kind == ATTN_FULL) return 1;
    if (j >= t - c->window + 1) return 1;
    return c->kind == ATTN_HIERARCHICAL && j % c->stride == c->stride - 1;
}

/* Naive double attention for one (b, h): writes out rows (T x hs, ld C). */
static void ref_head(double *out, const double *qkv, const case_t *k, int b, int h)
{
    int T = k->T, C = k->C, hs = C / k->NH, ld = 3 * C;
    double scale = 1.0 / sqrt((double)hs);
    double *p = malloc(sizeof(double) * T);
    assert_non_null(p);
    for (int t = 0; t < T; t++) {
        const double *q = qkv + ((size_t)b * T + t) * ld + h * hs;
        double mx = -INFINITY;
        for (int j = 0; j < T; j++) {
            p[j] = -INFINITY;
            if (!ref_allowed(&k->cfg, t, j)) continue;
            const double *kk = qkv + ((size_t)b * T + j) * ld + C + h * hs;
            double s = 0;
            for (int i = 0; i < hs; i++) s += q[i] * kk[i];
            p[j] = s * scale;
            mx = fmax(mx, p[j]);
        }
        double sum = 0;
        for (int j = 0; j < T; j++) {
            p[j] = ref_allowed(&k->cfg, t, j) ? exp(p[j] - mx) : 0.0;
            sum += p[j];
        }
        double *o = out + ((size_t)b * T + t) * C + h * hs;
        for (int i = 0; i < hs; i++) o[i] = 0;
        for (int j = 0; j < T; j++) {
            if (p[j] == 0.0) continue;
            const double *v = qkv + ((size_t)b * T + j) * ld + 2 * C + h * hs;
            for (int i = 0; i < hs; i++) o[i] += p[j] / sum * v[i];
        }
    }
    free(p);
}

static void ref_forward(double *out, const double *qkv, const case_t *k)
{
    for (int b = 0; b < k->B; b++)
        for (int h = 0; h < k->NH; h++) ref_head(out, qkv, k, b, h);
}

/* Buffers for running the real kernels on one case. */
typedef struct {
    const case_t *k;
    size_t nqkv, nout;
    float *qkv, *out, *saved, *work, *dqkv, *dout;
} run_t;

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    assert_non_null(p);
    return p;
}

/* Saved/work buffers are allocated with exactly the advertised sizes, so an
 * ASan run catches any kernel that writes past them. */
static void run_init(run_t *r, const case_t *k, uint64_t seed)
{
    r->k = k;
    r->nqkv = (size_t)k->B * k->T * 3 * k->C;
    r->nout = (size_t)k->B * k->T * k->C;
    r->qkv = xmalloc(sizeof(float) * r->nqkv);
    r->dqkv = xmalloc(sizeof(float) * r->nqkv);
    r->out = xmalloc(sizeof(float) * r->nout);
    r->dout = xmalloc(sizeof(float) * r->nout);
    r->saved = xmalloc(sizeof(float) * attn_saved_size(&k->cfg, k->B, k->T, k->NH));
    r->work = xmalloc(sizeof(float) * attn_work_size(&k->cfg, k->B, k->T, k->C, k->NH));
    gc_fill(r->qkv, r->nqkv, seed, 1.5f);
    gc_fill(r->dout, r->nout, seed + 1, 1.0f);
}

static void run_free(run_t *r)
{
    free(r->qkv); free(r->dqkv); free(r->out); free(r->dout); free(r->saved); free(r->work);
}

static void run_fwd(run_t *r)
{
    const case_t *k = r->k;
    attn_forward(r->out, r->saved, r->work, r->qkv, &k->cfg, k->B, k->T, k->C, k->NH);
}

static void test_forward_matches_reference(void **state)
{
    (void)state;
    for (size_t c = 0; c < NCASES; c++) {
        run_t r;
        run_init(&r, &CASES[c], 100 + c);
        run_fwd(&r);
        double *dq = xmalloc(sizeof(double) * r.nqkv), *dout = xmalloc(sizeof(double) * r.nout);
        for (size_t i = 0; i < r.nqkv; i++) dq[i] = r.qkv[i];
        ref_forward(dout, dq, r.k);
        double worst = 0;
        for (size_t i = 0; i < r.nout; i++) worst = fmax(worst, fabs(r.out[i] - dout[i]));
        if (worst > 1e-5) print_message("case %zu: max |out - ref| = %g\n", c, worst);
        assert_true(worst <= 1e-5);
        free(dq); free(dout);
        run_free(&r);
    }
}

/* Finite differences of the double reference loss sum(out * dout), limited
 * to the (b, h) the perturbed element belongs to (the others cancel). */
typedef struct {
    const case_t *k;
    double *qkv, *out;
    const float *dout;
} fd_t;

static double ref_loss_bh(fd_t *f, int b, int h)
{
    const case_t *k = f->k;
    int hs = k->C / k->NH;
    ref_head(f->out, f->qkv, k, b, h);
    double s = 0;
    for (int t = 0; t < k->T; t++)
        for (int i = 0; i < hs; i++) {
            size_t o = ((size_t)b * k->T + t) * k->C + h * hs + i;
            s += f->out[o] * f->dout[o];
        }
    return s;
}

static void test_backward_matches_finite_differences(void **state)
{
    (void)state;
    const double tol = 1e-3, floor = 1e-4, h = 1e-4;
    for (size_t c = 0; c < NCASES; c++) {
        const case_t *k = &CASES[c];
        run_t r;
        run_init(&r, k, 200 + c);
        run_fwd(&r);
        /* accumulation: start from 0.5 everywhere, subtract it afterwards */
        for (size_t i = 0; i < r.nqkv; i++) r.dqkv[i] = 0.5f;
        attn_backward(r.dqkv, r.work, r.dout, r.qkv, r.saved, &k->cfg, k->B, k->T, k->C, k->NH);
        for (size_t i = 0; i < r.nqkv; i++) r.dqkv[i] -= 0.5f;
        fd_t f = {k, xmalloc(sizeof(double) * r.nqkv), xmalloc(sizeof(double) * r.nout), r.dout};
        for (size_t i = 0; i < r.nqkv; i++) f.qkv[i] = r.qkv[i];
        int hs = k->C / k->NH, ld = 3 * k->C;
        size_t nchk = k->big ? 40 : 150;
        size_t step = r.nqkv > nchk ? r.nqkv / nchk : 1;
        double worst = 0;
        for (size_t i = 0; i < r.nqkv; i += step) {
            int b = (int)(i / ((size_t)k->T * ld)), hh = (int)(i % ld % k->C) / hs;
            double x0 = f.qkv[i];
            f.qkv[i] = x0 + h;
            double fp = ref_loss_bh(&f, b, hh);
            f.qkv[i] = x0 - h;
            double fm = ref_loss_bh(&f, b, hh);
            f.qkv[i] = x0;
            double fd = (fp - fm) / (2 * h), g = r.dqkv[i];
            double err = fabs(g - fd) / fmax(floor, fabs(g) + fabs(fd));
            if (err > worst) worst = err;
            if (err > tol) print_message("case %zu elem %zu: analytic %g numeric %g\n", c, i, g, fd);
        }
        assert_true(worst < tol);
        free(f.qkv); free(f.out);
        run_free(&r);
    }
}

/* The float backward also agrees with finite differences of the float forward
 * (central differences in double on the real kernel; looser, as float
 * round-off in the forward limits the numeric derivative). */
static double flt_loss(void *vr)
{
    run_t *r = vr;
    run_fwd(r);
    return gc_dot(r->out, r->dout, r->nout);
}

static void test_backward_float_gradcheck(void **state)
{
    (void)state;
    for (size_t c = 0; c < NCASES; c++) {
        const case_t *k = &CASES[c];
        if (k->big) continue; /* covered against the double reference above */
        run_t r;
        run_init(&r, k, 300 + c);
        run_fwd(&r);
        memset(r.dqkv, 0, sizeof(float) * r.nqkv);
        attn_backward(r.dqkv, r.work, r.dout, r.qkv, r.saved, &k->cfg, k->B, k->T, k->C, k->NH);
        double e = gc_check(flt_loss, &r, r.qkv, r.dqkv, r.nqkv, 3e-2f, 150, 1e-2, 1e-2, "attn");
        assert_true(e < 1e-2);
        run_free(&r);
    }
}

/* Change every input at positions > t0 (and, for the window checks, at
 * chosen earlier positions) and compare output rows bit for bit. */
static void perturb_pos(run_t *r, int b, int pos, uint64_t seed)
{
    size_t ld = 3 * r->k->C;
    gc_fill(r->qkv + ((size_t)b * r->k->T + pos) * ld, ld, seed, 3.0f);
}

static int rows_equal(const float *a, const float *b, const case_t *k, int bb, int t0, int t1)
{
    size_t off = ((size_t)bb * k->T + t0) * k->C;
    return memcmp(a + off, b + off, sizeof(float) * (size_t)(t1 - t0) * k->C) == 0;
}

static void test_causality(void **state)
{
    (void)state;
    for (size_t c = 0; c < NCASES; c++) {
        const case_t *k = &CASES[c];
        run_t r;
        run_init(&r, k, 400 + c);
        run_fwd(&r);
        float *base = xmalloc(sizeof(float) * r.nout);
        memcpy(base, r.out, sizeof(float) * r.nout);
        const int t0s[] = {0, k->T / 3, k->T / 2 + 1, k->T - 2};
        for (int a = 0; a < 4; a++) {
            int t0 = t0s[a];
            if (t0 < 0 || t0 >= k->T - 1) continue;
            run_t s = r;
            s.qkv = xmalloc(sizeof(float) * r.nqkv);
            memcpy(s.qkv, r.qkv, sizeof(float) * r.nqkv);
            for (int b = 0; b < k->B; b++)
                for (int p = t0 + 1; p < k->T; p++) perturb_pos(&s, b, p, 1000 + p);
            s.out = xmalloc(sizeof(float) * r.nout);
            run_fwd(&s);
            for (int b = 0; b < k->B; b++) {
                assert_true(rows_equal(base, s.out, k, b, 0, t0 + 1));
                /* and the future really was read: the next row changed */
                assert_false(rows_equal(base, s.out, k, b, t0 + 1, t0 + 2));
            }
            free(s.qkv); free(s.out);
        }
        free(base);
        run_free(&r);
    }
}

/* Sliding: output at t ignores positions < t-W+1 but uses t-W+1.
 * Hierarchical: ignores non-global positions before the window, uses
 * global ones. */
static void test_window_dependence(void **state)
{
    (void)state;
    for (size_t c = 0; c < NCASES; c++) {
        const case_t *k = &CASES[c];
        int W = k->cfg.window, S = k->cfg.stride;
        if (k->cfg.kind == ATTN_FULL || W >= k->T - 1 || (k->cfg.kind == ATTN_HIERARCHICAL && S == 1))
            continue;
        int t = k->T - 3, lo = t - W + 1; /* first position t sees in its window */
        run_t r;
        run_init(&r, k, 500 + c);
        run_fwd(&r);
        float *base = xmalloc(sizeof(float) * r.nout);
        memcpy(base, r.out, sizeof(float) * r.nout);
        float *orig = xmalloc(sizeof(float) * r.nqkv);
        memcpy(orig, r.qkv, sizeof(float) * r.nqkv);
        int b = k->B - 1;
        /* every position before the window that t must not see */
        for (int p = 0; p < lo; p++)
            if (k->cfg.kind == ATTN_SLIDING || p % S != S - 1) perturb_pos(&r, b, p, 7000 + p);
        run_fwd(&r);
        assert_true(rows_equal(base, r.out, k, b, t, t + 1));
        memcpy(r.qkv, orig, sizeof(float) * r.nqkv);
        /* the window's first position is seen */
        perturb_pos(&r, b, lo, 99);
        run_fwd(&r);
        assert_false(rows_equal(base, r.out, k, b, t, t + 1));
        memcpy(r.qkv, orig, sizeof(float) * r.nqkv);
        if (k->cfg.kind == ATTN_HIERARCHICAL) {
            /* the last global position before the window is seen, and so is the first */
            int g = (lo / S) * S - 1;
            assert_true(g >= 0 && g < lo);
            perturb_pos(&r, b, g, 98);
            run_fwd(&r);
            assert_false(rows_equal(base, r.out, k, b, t, t + 1));
            memcpy(r.qkv, orig, sizeof(float) * r.nqkv);
            perturb_pos(&r, b, S - 1, 97);
            run_fwd(&r);
            assert_false(rows_equal(base, r.out, k, b, t, t + 1));
        }
        free(base); free(orig);
        run_free(&r);
    }
}

/* Saved memory is O(T*W) for sliding, O(T*(W + T/stride)) for hierarchical,
 * and below T*T for full (blocks above the diagonal are skipped). */
static void test_memory_bounds(void **state)
{
    (void)state;
    const int B = 2, NH = 4, C = 256, T = 4096;
    const size_t per = (size_t)B * NH * T;
    attn_config full = {ATTN_FULL, 0, 0}, sl = {ATTN_SLIDING, 256, 0},
                hi = {ATTN_HIERARCHICAL, 128, 64};
    size_t sf = attn_saved_size(&full, B, T, NH);
    assert_true(sf < per * T * 6 / 10 && sf >= per * T / 2);
    assert_true(attn_saved_size(&sl, B, T, NH) <= per * (256 + 128));
    assert_true(attn_saved_size(&hi, B, T, NH) <= per * (128 + 128 + T / 64));
    /* workspace does not grow with the batch beyond the thread slots */
    assert_true(attn_work_size(&sl, 64, T, C, NH) <= 16 * ((size_t)128 * (256 + 128) + 1));
    assert_true(attn_work_size(&full, 1, T, C, NH) > 0);
    /* doubling T roughly doubles sliding memory, quadruples full memory */
    size_t s2 = attn_saved_size(&sl, B, 2 * T, NH), s1 = attn_saved_size(&sl, B, T, NH);
    assert_true(s2 < s1 * 21 / 10);
    assert_true(attn_saved_size(&full, B, 2 * T, NH) > sf * 38 / 10);
}

static void test_kind_names(void **state)
{
    (void)state;
    attn_kind kd;
    const char *names[] = {"full", "sliding_window", "hierarchical"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(attn_kind_parse(names[i], &kd), 0);
        assert_int_equal(kd, i);
        assert_string_equal(attn_kind_name(kd), names[i]);
    }
    assert_int_equal(attn_kind_parse("sliding", &kd), -1);
    assert_int_equal(attn_kind_parse("", &kd), -1);
    assert_int_equal(attn_kind_parse(NULL, &kd), -1);
}

/* ---- rotary positions ------------------------------------------------- */

/* The rotation keeps norms, position 0 is the identity, the inverse undoes
 * it, and a rotated q . k depends on the distance of the positions only. */
static void test_rope_properties(void **state)
{
    (void)state;
    const int C = 24, NH = 3, hs = C / NH, maxT = 300;
    float *tab = xmalloc(sizeof(float) * rope_table_size(maxT, hs));
    rope_table_fill(tab, maxT, hs);
    float x[4][72], y[72];
    for (int i = 0; i < 4; i++) gc_fill(x[i], 72, 50 + i, 1.0f);
    memcpy(y, x[0], sizeof y);
    int p0 = 0;
    rope_apply_qk(y, 1, C, NH, &p0, 0, tab, 0);
    assert_memory_equal(y, x[0], sizeof y); /* cos 0 = 1, sin 0 = 0 exactly */
    int p = 217;
    rope_apply_qk(y, 1, C, NH, &p, 0, tab, 0);
    double n0 = 0, n1 = 0;
    for (int i = 0; i < 2 * C; i++) n0 += (double)x[0][i] * x[0][i], n1 += (double)y[i] * y[i];
    assert_true(fabs(n0 - n1) < 1e-5 * n0);
    for (int i = 2 * C; i < 3 * C; i++) assert_true(y[i] == x[0][i]); /* values are not rotated */
    rope_apply_qk(y, 1, C, NH, &p, 0, tab, 1);
    for (int i = 0; i < 3 * C; i++) assert_true(fabs(y[i] - x[0][i]) < 1e-5);
    /* q at t, k at s: the per-head dot product depends on t - s only */
    const int pairs[][2] = {{5, 2}, {105, 102}, {290, 287}, {3, 0}};
    double dots[4][3];
    for (int c = 0; c < 4; c++) {
        float q[72], k[72];
        memcpy(q, x[1], sizeof q);
        memcpy(k, x[2], sizeof k);
        rope_apply_qk(q, 1, C, NH, &pairs[c][0], 0, tab, 0);
        rope_apply_qk(k, 1, C, NH, &pairs[c][1], 0, tab, 0);
        for (int h = 0; h < NH; h++) {
            dots[c][h] = 0;
            for (int i = 0; i < hs; i++) dots[c][h] += (double)q[h * hs + i] * k[C + h * hs + i];
        }
    }
    for (int c = 1; c < 4; c++)
        for (int h = 0; h < NH; h++) assert_true(fabs(dots[c][h] - dots[0][h]) < 1e-4);
    /* rows without positions take r % T */
    float rows[2 * 3 * 72];
    for (int r = 0; r < 6; r++) memcpy(rows + r * 72, x[3], sizeof x[3]);
    rope_apply_qk(rows, 6, C, NH, NULL, 3, tab, 0);
    assert_memory_equal(rows, rows + 3 * 72, 3 * 72 * sizeof(float));
    assert_memory_equal(rows, x[3], 72 * sizeof(float));
    free(tab);
}

/* loss(raw qkv) = sum(attn(rope(raw)) * dout): what a rotary block computes. */
typedef struct {
    run_t r;
    float *raw, *tab;
} rope_run;

static void rope_fwd(rope_run *x)
{
    const case_t *k = x->r.k;
    memcpy(x->r.qkv, x->raw, sizeof(float) * x->r.nqkv);
    rope_apply_qk(x->r.qkv, k->B * k->T, k->C, k->NH, NULL, k->T, x->tab, 0);
    run_fwd(&x->r);
}

static double rope_loss(void *vx)
{
    rope_run *x = vx;
    rope_fwd(x);
    return gc_dot(x->r.out, x->r.dout, x->r.nout);
}

/* d(raw) = rope^-1(attn_backward(...)) against central differences of the
 * float forward, per variant (q, k and v elements all sampled). */
static void test_rope_backward_gradcheck(void **state)
{
    (void)state;
    double worst_all = 0;
    for (size_t c = 0; c < NCASES; c++) {
        const case_t *k = &CASES[c];
        if (k->big) continue;
        rope_run x;
        run_init(&x.r, k, 500 + c);
        x.raw = xmalloc(sizeof(float) * x.r.nqkv);
        memcpy(x.raw, x.r.qkv, sizeof(float) * x.r.nqkv);
        x.tab = xmalloc(sizeof(float) * rope_table_size(k->T, k->C / k->NH));
        rope_table_fill(x.tab, k->T, k->C / k->NH);
        rope_fwd(&x);
        memset(x.r.dqkv, 0, sizeof(float) * x.r.nqkv);
        attn_backward(x.r.dqkv, x.r.work, x.r.dout, x.r.qkv, x.r.saved, &k->cfg, k->B, k->T, k->C, k->NH);
        rope_apply_qk(x.r.dqkv, k->B * k->T, k->C, k->NH, NULL, k->T, x.tab, 1);
        double e = gc_check(rope_loss, &x, x.raw, x.r.dqkv, x.r.nqkv, 3e-2f, 200, 1e-2, 1e-2, "rope attn");
        if (e > worst_all) worst_all = e;
        assert_true(e < 1e-2);
        free(x.raw);
        free(x.tab);
        run_free(&x.r);
    }
    print_message("rotary attention gradcheck: worst error %.2e over the small cases\n", worst_all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_matches_reference),
        cmocka_unit_test(test_backward_matches_finite_differences),
        cmocka_unit_test(test_backward_float_gradcheck),
        cmocka_unit_test(test_causality),
        cmocka_unit_test(test_window_dependence),
        cmocka_unit_test(test_memory_bounds),
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_rope_properties),
        cmocka_unit_test(test_rope_backward_gradcheck),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
