/* Tests of the multi-scale discriminator (src/engine/discriminator.c) and
 * spectral normalisation (src/engine/spectral_norm.c): finite-difference
 * gradients of every parameter tensor and of the input (u, v frozen), the
 * one-hot token path against the dense path, the SN gradient formula and
 * power-iteration convergence to the true largest singular value, the
 * PyTorch fixture (logits, u/v after the power iteration, every gradient),
 * config validation and parameter counts, and a short training run that
 * separates two synthetic token distributions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/nn/adamw.h"
#include "engine/model/discriminator.h"
#include "engine/nn/gan_loss.h"
#include "util/rng.h"
#include "engine/nn/spectral_norm.h"
#include "gradcheck.h"
#include "ref_fixture.h"

#define FIXTURE "tests/fixtures/disc_ref.bin"

static disc_config tiny_config(void)
{
    disc_config c = disc_config_default();
    c.vocab = 11;
    c.embed = 5;
    c.hidden = 6;
    c.n_layers = 2;
    c.kernel = 3;
    c.n_scales = 3;
    c.scales[0] = 1;
    c.scales[1] = 3;
    c.scales[2] = 4;
    return c;
}

static disc *make(const disc_config *c, int B, int T, uint64_t seed)
{
    disc *d = NULL;
    char err[AURL_ERR_LEN];
    int rc = disc_create(&d, c, B, T, seed, err);
    if (rc) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
    return d;
}

/* ---- config and parameter table ----------------------------------------- */

static void test_config(void **state)
{
    (void)state;
    char err[AURL_ERR_LEN];
    disc_config c = disc_config_default();
    assert_int_equal(disc_config_validate(&c, err), 0);
    assert_int_equal(c.vocab, 774);
    assert_int_equal(c.loss, GAN_LOSS_HINGE);
    disc_config b = c;
    b.kernel = 2;
    assert_int_equal(disc_config_validate(&b, err), -1);
    assert_non_null(strstr(err, "kernel"));
    b = c;
    b.n_scales = 0;
    assert_int_equal(disc_config_validate(&b, err), -1);
    b = c;
    b.scales[2] = 4;
    assert_int_equal(disc_config_validate(&b, err), -1);
    assert_non_null(strstr(err, "twice"));
    b = c;
    b.lr = NAN;
    assert_int_equal(disc_config_validate(&b, err), -1);
    b = c;
    b.n_critic = 0;
    assert_int_equal(disc_config_validate(&b, err), -1);
    assert_int_equal(disc_count_params(&b), 0);
    disc *d = NULL;
    assert_int_equal(disc_create(&d, &b, 2, 8, 1, err), -1);
    assert_null(d);

    /* defaults: embed 774*64, per scale (3*64*128+128) + (3*128*128+128) + (128+1) */
    size_t want = 774 * 64 + 3 * ((size_t)3 * 64 * 128 + 128 + 3 * 128 * 128 + 128 + 128 + 1);
    assert_int_equal(disc_count_params(&c), want);
    d = make(&c, 2, 32, 1);
    assert_int_equal(disc_n_params(d), want);
    size_t sum = 0;
    int nbuf = 0;
    for (int i = 0; i < disc_n_tensors(d); i++) {
        const nn_tensor *t = disc_tensor_at(d, i);
        assert_int_equal(strncmp(t->name, "disc.", 5), 0);
        if (t->buffer) {
            nbuf++;
            assert_null(t->grad);
        } else {
            sum += t->numel;
        }
    }
    assert_int_equal(sum, want);
    assert_int_equal(nbuf, 2 * disc_n_sn(d));
    assert_int_equal(disc_n_sn(d), 9);
    assert_non_null(disc_tensor_find(d, "disc.s2.head.weight_v"));
    assert_null(disc_tensor_find(d, "disc.s3.head.weight"));
    assert_int_equal(disc_feature_dim(d), 3 * 128);
    /* batch bigger than created is refused, not overrun */
    int32_t tok[3 * 33] = {0};
    assert_null(disc_forward_tokens(d, tok, 3, 32, 0));
    assert_null(disc_forward_tokens(d, tok, 2, 33, 0));
    disc_free(d);
    disc_free(NULL);
}

/* ---- finite differences ------------------------------------------------- */

typedef struct {
    disc *d;
    float *x;
    const float *wl, *wf;
    int B, T;
} fd_ctx;

/* Finite-difference check of up to max_checks elements spread over x.
 * Moving one weight moves sigma and with it every pre-activation of its
 * layer, so some steps straddle a LeakyReLU kink somewhere and that
 * element's difference quotient is off. Each element is tried with up to three
 * step sizes and keeps the best error; returns the fraction of elements
 * within tol and the worst error in *worst. (Exactness is checked against
 * PyTorch in test_pytorch_reference; this catches wrong backward maths,
 * which would fail most elements.) */
static double check_kinked(gc_loss_fn loss, void *ctx, float *x, const float *g, size_t n, size_t max_checks,
                           double tol, double *worst)
{
    size_t step = n > max_checks ? n / max_checks : 1, good = 0, tried = 0;
    *worst = 0.0;
    for (size_t i = 0; i < n; i += step) {
        static const float hs[3] = {1e-3f, 3e-3f, 3e-4f};
        double e = INFINITY;
        for (int k = 0; k < 3 && !(e < tol); k++) {
            double ek = gc_check(loss, ctx, x + i, g + i, 1, hs[k], 1, 1e-2, 1e9, "");
            if (ek < e) e = ek;
        }
        if (e > *worst) *worst = e;
        good += e < tol;
        tried++;
    }
    return (double)good / (double)tried;
}

/* L = sum wl * logits + sum wf * features, u and v frozen */
static double fd_loss(void *p)
{
    fd_ctx *c = p;
    const float *lg = disc_forward(c->d, c->x, c->B, c->T, 0);
    return gc_dot(lg, c->wl, (size_t)c->B) +
           gc_dot(disc_features(c->d), c->wf, (size_t)c->B * disc_feature_dim(c->d));
}

static void test_gradcheck(void **state)
{
    (void)state;
    disc_config cfg = tiny_config();
    int B = 2, T = 9, V = cfg.vocab; /* T not a multiple of 3 or 4: short last windows */
    disc *d = make(&cfg, B, T, 7);
    int FD = disc_feature_dim(d);
    float *x = malloc(sizeof(float) * B * T * V), *dx = malloc(sizeof(float) * B * T * V);
    float wl[2], *wf = malloc(sizeof(float) * B * FD);
    gc_fill(x, (size_t)B * T * V, 1, 1.0f);
    gc_fill(wl, 2, 2, 1.0f);
    gc_fill(wf, (size_t)B * FD, 3, 1.0f);
    /* a non-converged SN state (random u, v plus one power iteration), so
     * the sigma term of the gradient matters; tensors are weight, bias, u, v */
    for (int i = 0; i < disc_n_tensors(d); i++) {
        const nn_tensor *t = disc_tensor_at(d, i);
        if (!t->buffer || strstr(t->name, "weight_v")) continue;
        const nn_tensor *w = disc_tensor_at(d, i - 2), *v = disc_tensor_at(d, i + 1);
        gc_fill(t->param, t->numel, 100 + i, 1.0f);
        gc_fill(v->param, v->numel, 200 + i, 1.0f);
        sn_power_iteration(w->param, t->param, v->param, w->dims[0], w->dims[1], 1);
    }
    fd_ctx c = {d, x, wl, wf, B, T};
    fd_loss(&c);
    disc_zero_grad(d);
    disc_backward(d, wl, wf, 1, dx);
    double worst = 0.0, worst_frac = 1.0, e;
    for (int i = 0; i < disc_n_tensors(d); i++) {
        const nn_tensor *t = disc_tensor_at(d, i);
        if (t->buffer) continue;
        double frac = check_kinked(fd_loss, &c, t->param, t->grad, t->numel, 60, 2e-2, &e);
        if (frac < 0.9) printf("gradcheck %s: only %.0f%% of elements within 2e-2 (worst %.3g)\n", t->name, 100 * frac, e);
        assert_true(frac >= 0.9);
        if (frac < worst_frac) worst_frac = frac;
        if (e > worst) worst = e;
    }
    double frac = check_kinked(fd_loss, &c, x, dx, (size_t)B * T * V, 120, 2e-2, &e);
    printf("discriminator gradcheck: >= %.0f%% of parameter elements within 2e-2 (worst %.2e), input %.0f%% (worst %.2e)\n",
           100 * worst_frac, worst, 100 * frac, e);
    assert_true(frac >= 0.9);

    /* param_grads = 0 leaves D's gradients alone but gives the same dinput */
    float *dx2 = malloc(sizeof(float) * B * T * V);
    disc_zero_grad(d);
    fd_loss(&c);
    disc_backward(d, wl, wf, 0, dx2);
    assert_memory_equal(dx, dx2, sizeof(float) * B * T * V);
    for (size_t i = 0; i < disc_n_params(d); i++) assert_true(disc_grads(d)[i] == 0.0f);
    free(dx2);
    free(x);
    free(dx);
    free(wf);
    disc_free(d);
}

/* the one-hot token path equals the dense path (forward, dinput, grads) */
static void test_token_path(void **state)
{
    (void)state;
    disc_config cfg = tiny_config();
    int B = 2, T = 8, V = cfg.vocab, N = B * T;
    disc *d = make(&cfg, B, T, 3);
    int32_t tok[16];
    float *x = calloc((size_t)N * V, sizeof(float));
    for (int n = 0; n < N; n++) {
        tok[n] = (n * 7 + 3) % V;
        x[(size_t)n * V + tok[n]] = 1.0f;
    }
    tok[5] = -4; /* invalid ids give a zero row, same as an all-zero input row */
    x[(size_t)5 * V + (5 * 7 + 3) % V] = 0.0f;
    size_t np = disc_n_params(d);
    float *g1 = malloc(np * sizeof(float)), *dx1 = malloc(sizeof(float) * N * V), *dx2 = malloc(sizeof(float) * N * V);
    float wl[2] = {0.7f, -1.3f}, l1[2];
    memcpy(l1, disc_forward(d, x, B, T, 0), sizeof l1);
    disc_zero_grad(d);
    disc_backward(d, wl, NULL, 1, dx1);
    memcpy(g1, disc_grads(d), np * sizeof(float));
    const float *l2 = disc_forward_tokens(d, tok, B, T, 0);
    for (int b = 0; b < B; b++) assert_float_equal(l1[b], l2[b], 1e-5f);
    disc_zero_grad(d);
    disc_backward(d, wl, NULL, 1, dx2);
    for (size_t i = 0; i < np; i++) assert_float_equal(g1[i], disc_grads(d)[i], 1e-5f);
    for (size_t i = 0; i < (size_t)N * V; i++) assert_float_equal(dx1[i], dx2[i], 1e-5f);
    free(x);
    free(g1);
    free(dx1);
    free(dx2);
    disc_free(d);
}

/* ---- spectral norm ------------------------------------------------------ */

typedef struct {
    float *W, *Wsn, *u, *v, *w;
    int OC, IC;
} sn_ctx;

static double sn_loss(void *p)
{
    sn_ctx *c = p;
    float s = sn_sigma(c->W, c->u, c->v, c->OC, c->IC);
    sn_forward(c->Wsn, c->W, s, (size_t)c->OC * c->IC);
    return gc_dot(c->Wsn, c->w, (size_t)c->OC * c->IC);
}

static void test_sn_gradient(void **state)
{
    (void)state;
    enum { OC = 7, IC = 5 };
    float W[OC * IC], Wsn[OC * IC], w[OC * IC], dW[OC * IC] = {0}, u[OC], v[IC];
    gc_fill(W, OC * IC, 11, 1.0f);
    gc_fill(w, OC * IC, 12, 1.0f);
    rng_state r;
    rng_seed(&r, 5);
    sn_init(u, v, W, OC, IC, &r, 2); /* not converged on purpose */
    sn_ctx c = {W, Wsn, u, v, w, OC, IC};
    sn_loss(&c);
    float s = sn_sigma(W, u, v, OC, IC);
    sn_backward(dW, w, Wsn, u, v, s, OC, IC);
    double e = gc_check(sn_loss, &c, W, dW, OC * IC, 1e-2f, OC * IC, 1e-4, 1e-3, "sn W");
    printf("spectral norm gradcheck: worst rel err %.2e\n", e);
    assert_true(e < 1e-3);
    /* the sigma term is really there: without it the gradient would be w / sigma */
    double diff = 0.0;
    for (int i = 0; i < OC * IC; i++) diff += fabs(dW[i] - w[i] / s);
    assert_true(diff > 1e-2);
}

/* Gram-Schmidt orthonormal columns of a (n, k) matrix, in place (double). */
static void orthonormalise(double *M, int n, int k)
{
    for (int j = 0; j < k; j++) {
        for (int p = 0; p < j; p++) {
            double dot = 0.0;
            for (int i = 0; i < n; i++) dot += M[i * k + j] * M[i * k + p];
            for (int i = 0; i < n; i++) M[i * k + j] -= dot * M[i * k + p];
        }
        double nn = 0.0;
        for (int i = 0; i < n; i++) nn += M[i * k + j] * M[i * k + j];
        nn = sqrt(nn);
        for (int i = 0; i < n; i++) M[i * k + j] /= nn;
    }
}

static void test_sn_power_iteration(void **state)
{
    (void)state;
    /* W = U diag(s) V^T with known singular values */
    enum { OC = 12, IC = 9 };
    const double s[IC] = {3.0, 2.4, 1.5, 1.0, 0.8, 0.5, 0.3, 0.2, 0.1};
    double U[OC * IC], Vm[IC * IC];
    rng_state r;
    rng_seed(&r, 42);
    for (int i = 0; i < OC * IC; i++) U[i] = rng_normal(&r);
    for (int i = 0; i < IC * IC; i++) Vm[i] = rng_normal(&r);
    orthonormalise(U, OC, IC);
    orthonormalise(Vm, IC, IC);
    float W[OC * IC], u[OC], v[IC];
    for (int o = 0; o < OC; o++)
        for (int i = 0; i < IC; i++) {
            double a = 0.0;
            for (int k = 0; k < IC; k++) a += U[o * IC + k] * s[k] * Vm[i * IC + k];
            W[o * IC + i] = (float)a;
        }
    sn_init(u, v, W, OC, IC, &r, 0);
    float first = sn_power_iteration(W, u, v, OC, IC, 1);
    /* persistent u, v: one iteration per "step" converges over steps */
    float sig = first;
    for (int step = 0; step < 300; step++) sig = sn_power_iteration(W, u, v, OC, IC, 1);
    printf("power iteration: sigma after 1 step %.5f, after 301 steps %.6f (true 3)\n", first, sig);
    assert_float_equal(sig, 3.0f, 1e-4f);
    assert_float_equal(sn_sigma(W, u, v, OC, IC), sig, 1e-6f);
    /* and the normalised matrix has spectral norm 1 */
    float Wsn[OC * IC], u2[OC], v2[IC];
    sn_forward(Wsn, W, sig, OC * IC);
    sn_init(u2, v2, Wsn, OC, IC, &r, 0);
    assert_float_equal(sn_power_iteration(Wsn, u2, v2, OC, IC, 300), 1.0f, 1e-4f);
    /* degenerate matrix: no NaN */
    float Z[OC * IC] = {0};
    float sz = sn_power_iteration(Z, u2, v2, OC, IC, 3);
    assert_true(isfinite(sz));
    sn_forward(Wsn, Z, sz, OC * IC);
    for (int i = 0; i < OC * IC; i++) assert_true(isfinite(Wsn[i]));
}

/* ---- PyTorch fixture ---------------------------------------------------- */

#define REF_REL_TOL 1e-4

static void check_close(const char *what, const float *a, const float *b, size_t n, double tol, double *worst)
{
    double abs_err, rel = ref_compare(a, b, n, &abs_err);
    if (rel > *worst) *worst = rel;
    if (!(rel <= tol)) fprintf(stderr, "%s: rel err %.3g (abs %.3g)\n", what, rel, abs_err);
    assert_true(rel <= tol);
}

static void test_pytorch_reference(void **state)
{
    (void)state;
    static ref_file f;
    ref_load(&f, FIXTURE);
    const float *cf = ref_get(&f, "config", 0)->data;
    disc_config cfg = disc_config_default();
    cfg.vocab = (int)cf[0];
    cfg.embed = (int)cf[1];
    cfg.hidden = (int)cf[2];
    cfg.n_layers = (int)cf[3];
    cfg.kernel = (int)cf[4];
    cfg.n_scales = (int)cf[5];
    int S = cfg.n_scales;
    for (int s = 0; s < S; s++) cfg.scales[s] = (int)cf[6 + s];
    cfg.leaky = cf[6 + S];
    cfg.sn_iters = (int)cf[7 + S];
    int B = (int)cf[8 + S], T = (int)cf[9 + S];
    float fm_w = cf[10 + S];
    disc *d = make(&cfg, B, T, 1);
    char name[128];
    for (int i = 0; i < disc_n_tensors(d); i++) {
        const nn_tensor *t = disc_tensor_at(d, i);
        snprintf(name, sizeof name, "weights/%s", t->name);
        memcpy(t->param, ref_get(&f, name, t->numel)->data, t->numel * sizeof(float));
    }
    size_t nx = (size_t)B * T * cfg.vocab;
    const float *x = ref_get(&f, "input", nx)->data;
    int FD = disc_feature_dim(d);
    const ref_tensor *rf = ref_get(&f, "realfeat", 0);
    const float *lg = disc_forward(d, x, B, T, 1);
    double worst = 0.0;
    check_close("logits", lg, ref_get(&f, "logits", B)->data, B, REF_REL_TOL, &worst);
    check_close("scale_logits", disc_scale_logits(d), ref_get(&f, "scale_logits", (size_t)S * B)->data, (size_t)S * B,
                REF_REL_TOL, &worst);
    check_close("features", disc_features(d), ref_get(&f, "features", (size_t)B * FD)->data, (size_t)B * FD,
                REF_REL_TOL, &worst);
    double fwd_worst = worst;
    /* loss = G_nonsat + fm_w * FM_L2 */
    float dl[8], *dfeat = malloc(sizeof(float) * B * FD), *scratch = malloc(sizeof(float) * 2 * FD);
    float g = gan_g_loss(GAN_LOSS_NONSATURATING, lg, B, dl);
    float fm = gan_fm_loss(GAN_FM_L2, rf->data, rf->dims[0], disc_features(d), B, FD, dfeat, scratch);
    for (int i = 0; i < B * FD; i++) dfeat[i] *= fm_w;
    const float *rl = ref_get(&f, "loss", 3)->data;
    assert_float_equal(g + fm_w * fm, rl[0], 1e-5f * fabsf(rl[0]) + 1e-6f);
    assert_float_equal(g, rl[1], 1e-5f * fabsf(rl[1]) + 1e-6f);
    assert_float_equal(fm, rl[2], 1e-5f * fabsf(rl[2]) + 1e-6f);
    float *dx = malloc(sizeof(float) * nx);
    disc_zero_grad(d);
    disc_backward(d, dl, dfeat, 1, dx);
    worst = 0.0;
    check_close("grad/input", dx, ref_get(&f, "grad/input", nx)->data, nx, REF_REL_TOL, &worst);
    double sn_worst = 0.0;
    for (int i = 0; i < disc_n_tensors(d); i++) {
        const nn_tensor *t = disc_tensor_at(d, i);
        if (t->buffer) {
            snprintf(name, sizeof name, "after/%s", t->name);
            check_close(name, t->param, ref_get(&f, name, t->numel)->data, t->numel, REF_REL_TOL, &sn_worst);
        } else {
            snprintf(name, sizeof name, "grad/%s", t->name);
            check_close(name, t->grad, ref_get(&f, name, t->numel)->data, t->numel, REF_REL_TOL, &worst);
        }
    }
    /* D / G loss values of both kinds */
    const float *fl = ref_get(&f, "fake_logits", B)->data, *dref = ref_get(&f, "dloss", 4)->data;
    float got[4] = {gan_d_loss(GAN_LOSS_HINGE, lg, B, fl, B, NULL, NULL),
                    gan_d_loss(GAN_LOSS_NONSATURATING, lg, B, fl, B, NULL, NULL),
                    gan_g_loss(GAN_LOSS_HINGE, fl, B, NULL), gan_g_loss(GAN_LOSS_NONSATURATING, fl, B, NULL)};
    for (int i = 0; i < 4; i++) assert_float_equal(got[i], dref[i], 1e-5f * fabsf(dref[i]) + 1e-6f);
    printf("discriminator vs PyTorch: forward rel err %.2e, gradients %.2e, SN u/v %.2e\n", fwd_worst, worst, sn_worst);
    free(dfeat);
    free(scratch);
    free(dx);
    disc_free(d);
    ref_free(&f);
}

/* ---- training separates two distributions ------------------------------- */

/* real: each token repeated twice (t odd copies t-1); fake: i.i.d. tokens.
 * The per-token marginals are the same: only neighbouring positions tell. */
static void make_batch(int32_t *tok, int B, int T, int V, int real, rng_state *r)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            int32_t *p = tok + (size_t)b * T + t;
            *p = real && (t & 1) ? p[-1] : (int32_t)rng_below(r, (uint64_t)V);
        }
}

static void test_training_separates(void **state)
{
    (void)state;
    disc_config cfg = disc_config_default();
    cfg.vocab = 64;
    cfg.embed = 16;
    cfg.hidden = 32;
    cfg.scales[0] = 1;
    cfg.scales[1] = 2;
    cfg.scales[2] = 4;
    cfg.lr = 1e-3f;
    int B = 8, T = 32, steps = 300;
    disc *d = make(&cfg, B, T, 9);
    adamw_config ac = disc_adamw_config(&cfg);
    adamw opt;
    adamw_init(&opt, &ac);
    rng_state r;
    rng_seed(&r, 77);
    int32_t real[8 * 32], fake[8 * 32];
    float lr_[8], lf[8], dr[8], df[8];
    float first = 0.0f, last = 0.0f;
    for (int step = 0; step < steps; step++) {
        make_batch(real, B, T, cfg.vocab, 1, &r);
        make_batch(fake, B, T, cfg.vocab, 0, &r);
        /* the recipe of discriminator.h: each half right after its forward */
        memcpy(lr_, disc_forward_tokens(d, real, B, T, 1), sizeof lr_);
        float L = gan_d_loss(cfg.loss, lr_, B, NULL, 0, dr, NULL);
        disc_backward(d, dr, NULL, 1, NULL);
        memcpy(lf, disc_forward_tokens(d, fake, B, T, 0), sizeof lf);
        L += gan_d_loss(cfg.loss, NULL, 0, lf, B, NULL, df);
        disc_backward(d, df, NULL, 1, NULL);
        assert_float_equal(L, gan_d_loss(cfg.loss, lr_, B, lf, B, NULL, NULL), 1e-5f);
        adamw_result res = disc_step(d, &opt, L);
        assert_int_equal(res.skipped, 0);
        if (step == 0) first = L;
        last = L;
    }
    /* fresh batches */
    int correct_r = 0, correct_f = 0, n = 0;
    for (int k = 0; k < 8; k++) {
        make_batch(real, B, T, cfg.vocab, 1, &r);
        make_batch(fake, B, T, cfg.vocab, 0, &r);
        float ar, af;
        memcpy(lr_, disc_forward_tokens(d, real, B, T, 0), sizeof lr_);
        memcpy(lf, disc_forward_tokens(d, fake, B, T, 0), sizeof lf);
        gan_accuracy(lr_, B, lf, B, &ar, &af);
        correct_r += (int)lroundf(ar * B);
        correct_f += (int)lroundf(af * B);
        n += B;
    }
    float acc = (float)(correct_r + correct_f) / (2 * n);
    printf("D separation: hinge loss %.3f -> %.3f after %d steps; held-out accuracy real %.2f fake %.2f (%.2f)\n",
           first, last, steps, (float)correct_r / n, (float)correct_f / n, acc);
    for (int i = 0; i < disc_n_sn(d); i++) assert_true(isfinite(disc_sn_sigma(d, i)) && disc_sn_sigma(d, i) > 0.0f);
    assert_true(last < first);
    assert_true(acc > 0.8f);
    disc_free(d);
}

int main(void)
{
    /* the tests' matrices are tiny: threads only add waiting (and on a busy
     * machine OpenMP's spinning threads slow them down many times over) */
    omp_set_num_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_gradcheck),
        cmocka_unit_test(test_token_path),
        cmocka_unit_test(test_sn_gradient),
        cmocka_unit_test(test_sn_power_iteration),
        cmocka_unit_test(test_pytorch_reference),
        cmocka_unit_test(test_training_separates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
