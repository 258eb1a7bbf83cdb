/* Tests of the elementwise and dense layers: linear, layernorm, gelu,
 * embedding, cross-entropy loss, argmax accuracy, dropout. Forward passes against naive
 * double-precision references, backward passes against finite differences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/nn/dropout.h"
#include "engine/nn/embedding.h"
#include "engine/nn/fastmath.h"
#include "engine/nn/gelu.h"
#include "engine/nn/layernorm.h"
#include "engine/nn/linear.h"
#include "engine/nn/loss.h"
#include "gradcheck.h"

#define TOL 1e-2   /* max |g - fd| / max(FLOOR, |g| + |fd|) for float32 */
#define FLOOR 1e-3
/* LayerNorm: one input moves every output of its row, so float round-off in
 * the forward limits the finite difference to ~1e-5 absolute */
#define LN_FLOOR 1e-2

static float *fa(size_t n) { float *p = calloc(n ? n : 1, sizeof *p); assert_non_null(p); return p; }

/* ---------- linear ---------- */

typedef struct {
    int N, C, OC;
    float *inp, *w, *b, *out, *dout;
} lin_ctx;

static double lin_loss(void *vc)
{
    lin_ctx *c = vc;
    linear_forward(c->out, c->inp, c->w, c->b, c->N, c->C, c->OC);
    return gc_dot(c->out, c->dout, (size_t)c->N * c->OC);
}

static void test_linear_forward_naive(void **state)
{
    (void)state;
    int N = 7, C = 13, OC = 11;
    float *inp = fa(N * C), *w = fa(OC * C), *b = fa(OC), *out = fa(N * OC);
    gc_fill(inp, N * C, 1, 1.0f);
    gc_fill(w, OC * C, 2, 1.0f);
    gc_fill(b, OC, 3, 1.0f);
    for (int withb = 0; withb < 2; withb++) {
        memset(out, 0x7f, sizeof(float) * N * OC); /* garbage: forward must overwrite */
        linear_forward(out, inp, w, withb ? b : NULL, N, C, OC);
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OC; o++) {
                double s = withb ? b[o] : 0.0;
                for (int i = 0; i < C; i++) s += (double)inp[n * C + i] * w[o * C + i];
                assert_true(fabs(out[n * OC + o] - s) < 1e-5);
            }
    }
    free(inp); free(w); free(b); free(out);
}

static void test_linear_backward_gradcheck(void **state)
{
    (void)state;
    lin_ctx c = {9, 12, 10, NULL, NULL, NULL, NULL, NULL};
    size_t ni = c.N * c.C, nw = c.OC * c.C, no = c.N * c.OC;
    c.inp = fa(ni); c.w = fa(nw); c.b = fa(c.OC); c.out = fa(no); c.dout = fa(no);
    gc_fill(c.inp, ni, 11, 1.0f);
    gc_fill(c.w, nw, 12, 0.5f);
    gc_fill(c.b, c.OC, 13, 0.5f);
    gc_fill(c.dout, no, 14, 1.0f);
    float *dinp = fa(ni), *dw = fa(nw), *db = fa(c.OC);
    /* accumulation: start from a known non-zero value and subtract it back */
    for (size_t i = 0; i < nw; i++) dw[i] = 0.25f;
    for (int i = 0; i < c.OC; i++) db[i] = -0.75f;
    lin_loss(&c);
    linear_backward(dinp, dw, db, c.dout, c.inp, c.w, c.N, c.C, c.OC);
    for (size_t i = 0; i < nw; i++) dw[i] -= 0.25f;
    for (int i = 0; i < c.OC; i++) db[i] += 0.75f;
    assert_true(gc_check(lin_loss, &c, c.inp, dinp, ni, 1e-2f, 200, FLOOR, TOL, "linear dinp") < TOL);
    assert_true(gc_check(lin_loss, &c, c.w, dw, nw, 1e-2f, 200, FLOOR, TOL, "linear dw") < TOL);
    assert_true(gc_check(lin_loss, &c, c.b, db, c.OC, 1e-2f, 200, FLOOR, TOL, "linear db") < TOL);
    /* dinp NULL and dbias NULL are allowed and leave the rest unchanged */
    float *dw2 = fa(nw);
    linear_backward(NULL, dw2, NULL, c.dout, c.inp, c.w, c.N, c.C, c.OC);
    for (size_t i = 0; i < nw; i++) assert_true(fabsf(dw2[i] - dw[i]) < 1e-5f);
    free(dw2);
    free(c.inp); free(c.w); free(c.b); free(c.out); free(c.dout); free(dinp); free(dw); free(db);
}

/* ---------- layernorm ---------- */

typedef struct {
    int N, C;
    float *inp, *w, *b, *out, *mean, *rstd, *dout;
} ln_ctx;

static double ln_loss(void *vc)
{
    ln_ctx *c = vc;
    layernorm_forward(c->out, c->mean, c->rstd, c->inp, c->w, c->b, c->N, c->C);
    return gc_dot(c->out, c->dout, (size_t)c->N * c->C);
}

static void test_layernorm_forward_naive(void **state)
{
    (void)state;
    int N = 5, C = 37;
    float *x = fa(N * C), *w = fa(C), *b = fa(C), *o = fa(N * C), *m = fa(N), *r = fa(N);
    gc_fill(x, N * C, 21, 3.0f);
    for (int i = 0; i < N * C; i++) x[i] += 10.0f; /* offset: tests the centring */
    gc_fill(w, C, 22, 1.0f);
    gc_fill(b, C, 23, 1.0f);
    layernorm_forward(o, m, r, x, w, b, N, C);
    for (int n = 0; n < N; n++) {
        double mean = 0, var = 0;
        for (int i = 0; i < C; i++) mean += x[n * C + i];
        mean /= C;
        for (int i = 0; i < C; i++) var += (x[n * C + i] - mean) * (x[n * C + i] - mean);
        var /= C; /* biased, as PyTorch */
        double rs = 1.0 / sqrt(var + 1e-5);
        assert_true(fabs(m[n] - mean) < 1e-4);
        assert_true(fabs(r[n] - rs) < 1e-5 * rs);
        for (int i = 0; i < C; i++) {
            double want = (x[n * C + i] - mean) * rs * w[i] + b[i];
            assert_true(fabs(o[n * C + i] - want) < 1e-4);
        }
    }
    /* a constant row: variance 0, output is the bias (eps keeps it finite) */
    for (int i = 0; i < C; i++) x[i] = 2.0f;
    layernorm_forward(o, m, r, x, w, b, 1, C);
    for (int i = 0; i < C; i++) assert_true(fabsf(o[i] - b[i]) < 1e-6f);
    assert_true(fabsf(r[0] - 1.0f / sqrtf(1e-5f)) < 1.0f);
    free(x); free(w); free(b); free(o); free(m); free(r);
}

static void test_layernorm_backward_gradcheck(void **state)
{
    (void)state;
    ln_ctx c = {6, 70, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    size_t n = c.N * c.C;
    c.inp = fa(n); c.w = fa(c.C); c.b = fa(c.C); c.out = fa(n); c.mean = fa(c.N);
    c.rstd = fa(c.N); c.dout = fa(n);
    gc_fill(c.inp, n, 31, 2.0f);
    gc_fill(c.w, c.C, 32, 1.5f);
    gc_fill(c.b, c.C, 33, 1.0f);
    gc_fill(c.dout, n, 34, 1.0f);
    float *dx = fa(n), *dw = fa(c.C), *db = fa(c.C);
    for (int i = 0; i < c.C; i++) db[i] = 1.0f; /* accumulation */
    ln_loss(&c);
    layernorm_backward(dx, dw, db, c.dout, c.inp, c.w, c.mean, c.rstd, c.N, c.C);
    for (int i = 0; i < c.C; i++) db[i] -= 1.0f;
    assert_true(gc_check(ln_loss, &c, c.inp, dx, n, 5e-2f, 300, LN_FLOOR, TOL, "ln dinp") < TOL);
    assert_true(gc_check(ln_loss, &c, c.w, dw, c.C, 1e-2f, 300, FLOOR, TOL, "ln dw") < TOL);
    assert_true(gc_check(ln_loss, &c, c.b, db, c.C, 1e-2f, 300, FLOOR, TOL, "ln db") < TOL);
    free(c.inp); free(c.w); free(c.b); free(c.out); free(c.mean); free(c.rstd); free(c.dout);
    free(dx); free(dw); free(db);
}

/* ---------- gelu ---------- */

typedef struct { int n; float *x, *y, *dy; } gelu_ctx;

static double gelu_loss(void *vc)
{
    gelu_ctx *c = vc;
    gelu_forward(c->y, c->x, c->n);
    return gc_dot(c->y, c->dy, c->n);
}

static void test_gelu_matches_pytorch(void **state)
{
    (void)state;
    /* torch.nn.functional.gelu(x, approximate='tanh') in float64 */
    const float x[] = {-3.0f, -1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 2.5f};
    const double want[] = {-0.0036373921, -0.1588080094, -0.1542859902, 0.0,
                           0.3457140098,  0.8411919906,  2.4849157339};
    float y[7];
    gelu_forward(y, x, 7);
    for (int i = 0; i < 7; i++) assert_true(fabs(y[i] - want[i]) < 2e-6);
    /* and the double-precision formula over a wide range, saturation included */
    enum { NG = 4001 };
    float *xs = fa(NG), *ys = fa(NG);
    for (int i = 0; i < NG; i++) xs[i] = -20.0f + 40.0f * i / (NG - 1);
    xs[NG / 2] = 1e-4f;
    gelu_forward(ys, xs, NG);
    for (int i = 0; i < NG; i++) {
        double x = xs[i];
        double g = 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
        assert_true(fabs(ys[i] - g) <= 4e-7 * fmax(1.0, fabs(g)));
    }
    free(xs); free(ys);
}

static void test_gelu_backward_gradcheck(void **state)
{
    (void)state;
    gelu_ctx c = {400, fa(400), fa(400), fa(400)};
    gc_fill(c.x, c.n, 41, 4.0f);
    gc_fill(c.dy, c.n, 42, 1.0f);
    float *dx = fa(c.n);
    for (int i = 0; i < c.n; i++) dx[i] = -3.0f;
    gelu_backward(dx, c.x, c.dy, c.n);
    for (int i = 0; i < c.n; i++) dx[i] += 3.0f;
    assert_true(gc_check(gelu_loss, &c, c.x, dx, c.n, 1e-2f, 400, FLOOR, TOL, "gelu") < TOL);
    free(c.x); free(c.y); free(c.dy); free(dx);
}

/* ---------- fastmath ---------- */

static void test_fastmath_accuracy(void **state)
{
    (void)state;
    double worst_exp = 0, worst_tanh = 0;
    for (float x = -87.0f; x <= 0.0f; x += 0.00731f) {
        double e = exp((double)x);
        worst_exp = fmax(worst_exp, fabs(fastmath_exp_neg(x) - e) / e);
    }
    for (float x = -12.0f; x <= 12.0f; x += 0.000917f)
        worst_tanh = fmax(worst_tanh, fabs(fastmath_tanh(x) - tanh((double)x)));
    assert_true(worst_exp < 2.5e-7);  /* ~2 ulp */
    assert_true(worst_tanh < 2.5e-7);
    assert_true(fastmath_exp_neg(0.0f) == 1.0f);
    assert_true(fastmath_exp_neg(-INFINITY) < 1e-37f && fastmath_exp_neg(-INFINITY) >= 0.0f);
    assert_true(fastmath_tanh(0.0f) == 0.0f && fastmath_tanh(30.0f) == 1.0f);
    /* NaN of either sign stays NaN (a clamp must not turn it into ~0) */
    volatile float zero = 0.0f;
    float nan_default = zero / zero;
    assert_true(isnan(fastmath_exp_neg(nan_default)) && isnan(fastmath_exp_neg(-nan_default)));
    assert_true(isnan(fastmath_tanh(nan_default)) && isnan(fastmath_tanh(-nan_default)));
    /* the clamp boundary and values just inside it */
    assert_true(fastmath_exp_neg(-87.0f) == fastmath_exp_neg(-1000.0f));
    assert_true(fabs(fastmath_exp_neg(-86.5f) - exp(-86.5)) / exp(-86.5) < 2.5e-7);
}

/* ---------- embedding ---------- */

static void test_embedding_forward_backward(void **state)
{
    (void)state;
    int B = 2, T = 5, C = 6, V = 4;
    int32_t tok[10] = {0, 3, 3, 1, 2, 3, 3, 0, 1, 1};
    float *wte = fa(V * C), *wpe = fa(T * C), *out = fa(B * T * C), *dout = fa(B * T * C);
    gc_fill(wte, V * C, 51, 1.0f);
    gc_fill(wpe, T * C, 52, 1.0f);
    gc_fill(dout, B * T * C, 53, 1.0f);
    embedding_forward(out, tok, wte, wpe, B, T, C);
    for (int bt = 0; bt < B * T; bt++)
        for (int i = 0; i < C; i++)
            assert_true(out[bt * C + i] == wte[tok[bt] * C + i] + wpe[(bt % T) * C + i]);
    float *dwte = fa(V * C), *dwpe = fa(T * C);
    dwte[0] = 5.0f; /* accumulates */
    embedding_backward(dwte, dwpe, dout, tok, B, T, C);
    for (int v = 0; v < V; v++)
        for (int i = 0; i < C; i++) {
            double s = (v == 0 && i == 0) ? 5.0 : 0.0;
            for (int bt = 0; bt < B * T; bt++) if (tok[bt] == v) s += dout[bt * C + i];
            assert_true(fabs(dwte[v * C + i] - s) < 1e-5);
        }
    for (int t = 0; t < T; t++)
        for (int i = 0; i < C; i++) {
            double s = dout[t * C + i] + dout[(T + t) * C + i];
            assert_true(fabs(dwpe[t * C + i] - s) < 1e-5);
        }
    /* dwpe NULL: no position gradient, token gradient still accumulated */
    float before = dwte[3 * C + 2];
    embedding_backward(dwte, NULL, dout, tok, B, T, C);
    double add = 0;
    for (int bt = 0; bt < B * T; bt++) if (tok[bt] == 3) add += dout[bt * C + 2];
    assert_true(fabs(dwte[3 * C + 2] - (before + add)) < 1e-5);
    free(wte); free(wpe); free(out); free(dout); free(dwte); free(dwpe);
}

static void test_embedding_sinusoidal(void **state)
{
    (void)state;
    int T = 50, C = 16;
    float *tab = fa(T * C);
    embedding_sinusoidal(tab, T, C);
    for (int c = 0; c < C; c++) assert_true(tab[c] == ((c & 1) ? 1.0f : 0.0f)); /* t = 0 */
    assert_true(fabsf(tab[1 * C + 0] - sinf(1.0f)) < 1e-6f);
    assert_true(fabsf(tab[1 * C + 1] - cosf(1.0f)) < 1e-6f);
    double a = 7.0 / pow(10000.0, 4.0 / C); /* t = 7, i = 2: columns 4 and 5 */
    assert_true(fabs(tab[7 * C + 4] - sin(a)) < 1e-6);
    assert_true(fabs(tab[7 * C + 5] - cos(a)) < 1e-6);
    a = 49.0 / pow(10000.0, 14.0 / C);
    assert_true(fabs(tab[49 * C + 15] - cos(a)) < 1e-6);
    free(tab);
}

/* ---------- cross-entropy ---------- */

typedef struct { int N, V, pad; float *logits, *probs; int32_t *tg; } xe_ctx;

static double xe_loss(void *vc)
{
    xe_ctx *c = vc;
    int cnt;
    return xent_forward(c->probs, c->logits, c->tg, c->N, c->V, c->pad, &cnt);
}

static void test_xent_loss_and_pad(void **state)
{
    (void)state;
    int N = 6, V = 9, pad = 0;
    int32_t tg[6] = {3, 0, 8, 1, 0, 5}; /* rows 1 and 4 are PAD */
    float *lg = fa(N * V), *pr = fa(N * V);
    gc_fill(lg, N * V, 61, 3.0f);
    lg[2 * V + 4] = 60.0f; /* target 8 of row 2 gets a tiny probability */
    int cnt = -1;
    float loss = xent_forward(pr, lg, tg, N, V, pad, &cnt);
    assert_int_equal(cnt, 4);
    double want = 0;
    for (int r = 0; r < N; r++) {
        double mx = -1e30, s = 0;
        for (int i = 0; i < V; i++) mx = fmax(mx, lg[r * V + i]);
        for (int i = 0; i < V; i++) s += exp(lg[r * V + i] - mx);
        for (int i = 0; i < V; i++) assert_true(fabs(pr[r * V + i] - exp(lg[r * V + i] - mx) / s) < 1e-6);
        if (tg[r] != pad) want += log(s) + mx - lg[r * V + tg[r]];
    }
    want /= 4;
    assert_true(fabs(loss - want) < 1e-5 * fmax(1.0, fabs(want)));
    /* changing PAD rows' logits leaves the loss unchanged */
    for (int i = 0; i < V; i++) { lg[1 * V + i] += 5.0f * i; lg[4 * V + i] = -7.0f; }
    assert_true(xent_forward(pr, lg, tg, N, V, pad, &cnt) == loss);
    /* gradient: PAD rows exactly zero (overwrites), others (p - onehot) * scale / count */
    float *dl = fa(N * V);
    for (int i = 0; i < N * V; i++) dl[i] = 123.0f;
    xent_backward(dl, pr, tg, N, V, pad, cnt, 2.0f);
    for (int r = 0; r < N; r++)
        for (int i = 0; i < V; i++) {
            float g = dl[r * V + i];
            if (tg[r] == pad) assert_true(g == 0.0f);
            else assert_true(fabsf(g - (pr[r * V + i] - (i == tg[r])) * 2.0f / 4) < 1e-6f);
        }
    /* all PAD: loss 0, count 0, gradient 0 */
    int32_t allpad[6] = {0, 0, 0, 0, 0, 0};
    assert_true(xent_forward(pr, lg, allpad, N, V, pad, &cnt) == 0.0f);
    assert_int_equal(cnt, 0);
    xent_backward(dl, pr, allpad, N, V, pad, cnt, 1.0f);
    for (int i = 0; i < N * V; i++) assert_true(dl[i] == 0.0f);
    /* a NaN logit (either sign) makes its row's loss NaN, never a finite value */
    volatile float zero = 0.0f;
    float nan_default = zero / zero;
    for (int sgn = 0; sgn < 2; sgn++) {
        float saved = lg[2 * V + 7];
        lg[2 * V + 7] = sgn ? -nan_default : nan_default;
        assert_true(isnan(xent_forward(pr, lg, tg, N, V, pad, &cnt)));
        lg[2 * V + 7] = saved;
    }
    /* out-of-range targets are ignored rather than read out of bounds */
    int32_t bad[6] = {3, -4, 9, 1000, 2, 5};
    xent_forward(pr, lg, bad, N, V, pad, &cnt);
    assert_int_equal(cnt, 3);
    free(lg); free(pr); free(dl);
}

static void test_xent_gradcheck(void **state)
{
    (void)state;
    xe_ctx c = {5, 11, 2, fa(55), fa(55), NULL};
    int32_t tg[5] = {4, 2, 10, 0, 7};
    c.tg = tg;
    gc_fill(c.logits, 55, 71, 2.0f);
    int cnt;
    xent_forward(c.probs, c.logits, c.tg, c.N, c.V, c.pad, &cnt);
    float *dl = fa(55);
    xent_backward(dl, c.probs, c.tg, c.N, c.V, c.pad, cnt, 1.0f);
    assert_true(gc_check(xe_loss, &c, c.logits, dl, 55, 1e-2f, 55, FLOOR, TOL, "xent") < TOL);
    free(c.logits); free(c.probs); free(dl);
}

/* Argmax: first index on ties, NaN never wins; the accuracy count skips
 * ignored targets and never matches an out-of-range one. */
static void test_argmax_correct(void **state)
{
    (void)state;
    enum { N = 6, V = 4, PAD = 2 };
    const float lg[N * V] = {
        0.1f, 0.9f, 0.3f, 0.2f, /* argmax 1, target 1: correct */
        5.0f, 5.0f, 1.0f, 5.0f, /* tie: argmax 0, target 3: wrong */
        0.0f, 0.0f, 9.0f, 0.0f, /* argmax 2 = PAD target: ignored */
        1.0f, NAN, 2.0f, 0.5f,  /* NaN skipped: argmax 2, target 0: wrong */
        -1.0f, -2.0f, -3.0f, -0.5f, /* argmax 3, target 3: correct */
        0.0f, 1.0f, 0.0f, 0.0f, /* target out of range: wrong */
    };
    const int32_t tg[N] = {1, 3, PAD, 0, 3, 7};
    assert_int_equal(loss_argmax(lg, V), 1);
    assert_int_equal(loss_argmax(lg + V, V), 0);
    assert_int_equal(loss_argmax(lg + 3 * V, V), 2);
    assert_int_equal(loss_argmax(lg + 4 * V, V), 3);
    const float nan_first[3] = {NAN, 1.0f, 2.0f};
    assert_int_equal(loss_argmax(nan_first, 3), 0);
    assert_int_equal(loss_argmax_correct(lg, tg, N, V, PAD), 2);
    /* the same rows scored with no target ignored: row 2 now counts as correct */
    assert_int_equal(loss_argmax_correct(lg, tg, N, V, -1), 3);
    assert_int_equal(loss_argmax_correct(lg, tg, 0, V, PAD), 0);
}

/* ---------- dropout ---------- */

static void test_dropout(void **state)
{
    (void)state;
    int n = 200000;
    float *x = fa(n), *y = fa(n), *y2 = fa(n), *dx = fa(n), *dy = fa(n);
    uint8_t *m = malloc(n), *m2 = malloc(n);
    assert_non_null(m); assert_non_null(m2);
    gc_fill(x, n, 81, 1.0f);
    gc_fill(dy, n, 82, 1.0f);
    const float ps[] = {0.1f, 0.37f, 0.8f};
    for (int k = 0; k < 3; k++) {
        float p = ps[k];
        dropout_forward(y, m, x, n, p, 1234, 1);
        long dropped = 0;
        for (int i = 0; i < n; i++) {
            if (!m[i]) { dropped++; assert_true(y[i] == 0.0f); }
            else assert_true(fabsf(y[i] - x[i] / (1.0f - p)) <= 1e-6f * fabsf(y[i]) + 1e-12f);
        }
        double frac = (double)dropped / n;
        assert_true(fabs(frac - p) < 0.01); /* ~5 sigma at n = 200000 */
        /* same seed, same mask; another seed, another mask */
        dropout_forward(y2, m2, x, n, p, 1234, 1);
        assert_memory_equal(m, m2, n);
        dropout_forward(y2, m2, x, n, p, 1235, 1);
        assert_true(memcmp(m, m2, n) != 0);
        /* backward: dx += dy * mask / (1-p) */
        for (int i = 0; i < n; i++) dx[i] = 1.0f;
        dropout_backward(dx, dy, m, n, p, 1);
        for (int i = 0; i < n; i++) {
            float want = 1.0f + (m[i] ? dy[i] / (1.0f - p) : 0.0f);
            assert_true(fabsf(dx[i] - want) < 1e-5f);
        }
    }
    /* in place gives the same result */
    dropout_forward(y, m, x, n, 0.3f, 99, 1);
    memcpy(y2, x, sizeof(float) * n);
    dropout_forward(y2, m2, y2, n, 0.3f, 99, 1);
    assert_memory_equal(y, y2, sizeof(float) * n);
    /* eval or p = 0: a copy, and backward passes the gradient through */
    dropout_forward(y, m, x, n, 0.5f, 7, 0);
    assert_memory_equal(y, x, sizeof(float) * n);
    dropout_forward(y, m, x, n, 0.0f, 7, 1);
    assert_memory_equal(y, x, sizeof(float) * n);
    memset(dx, 0, sizeof(float) * n);
    dropout_backward(dx, dy, m, n, 0.5f, 0);
    assert_memory_equal(dx, dy, sizeof(float) * n);
    /* p = 1 drops everything without dividing by zero */
    dropout_forward(y, m, x, n, 1.0f, 7, 1);
    for (int i = 0; i < n; i++) assert_true(y[i] == 0.0f);
    free(x); free(y); free(y2); free(dx); free(dy); free(m); free(m2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_forward_naive),
        cmocka_unit_test(test_linear_backward_gradcheck),
        cmocka_unit_test(test_layernorm_forward_naive),
        cmocka_unit_test(test_layernorm_backward_gradcheck),
        cmocka_unit_test(test_gelu_matches_pytorch),
        cmocka_unit_test(test_gelu_backward_gradcheck),
        cmocka_unit_test(test_fastmath_accuracy),
        cmocka_unit_test(test_embedding_forward_backward),
        cmocka_unit_test(test_embedding_sinusoidal),
        cmocka_unit_test(test_xent_loss_and_pad),
        cmocka_unit_test(test_xent_gradcheck),
        cmocka_unit_test(test_argmax_correct),
        cmocka_unit_test(test_dropout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
