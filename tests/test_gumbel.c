/* Tests of Gumbel-softmax / straight-through (src/engine/gumbel.c): noise
 * statistics and reproducibility, forward (rows sum to 1, hard = argmax,
 * temperature), backward against finite differences of the soft path,
 * scale/accumulate, the PyTorch fixture, the whole differentiable chain
 * logits -> Gumbel soft -> discriminator -> loss against finite
 * differences, and that the straight-through adversarial gradient reaches
 * a Transformer decoder's embeddings through transformer_backward_with_dlogits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/model/discriminator.h"
#include "engine/nn/gan_loss.h"
#include "engine/nn/gumbel.h"
#include "engine/model/transformer.h"
#include "gradcheck.h"
#include "ref_fixture.h"

#define FIXTURE "tests/fixtures/disc_ref.bin"

static void test_noise(void **state)
{
    (void)state;
    enum { N = 200000 };
    float *g = malloc(N * sizeof(float)), *g2 = malloc(N * sizeof(float));
    gumbel_noise(g, N, 5);
    gumbel_noise(g2, N, 5);
    assert_memory_equal(g, g2, N * sizeof(float));
    gumbel_noise(g2 + 100, 50, 5); /* counter-based: a sub-range is not a restart */
    gumbel_noise(g2, N, 6);
    int same = 0;
    double s = 0.0, s2 = 0.0;
    for (int i = 0; i < N; i++) {
        assert_true(isfinite(g[i]));
        same += g[i] == g2[i];
        s += g[i];
        s2 += (double)g[i] * g[i];
    }
    double mean = s / N, var = s2 / N - mean * mean;
    printf("gumbel noise: mean %.4f (0.5772), variance %.4f (%.4f)\n", mean, var, M_PI * M_PI / 6);
    assert_true(same < 10);
    assert_true(fabs(mean - 0.5772157) < 0.02);
    assert_true(fabs(var - M_PI * M_PI / 6) < 0.05);
    free(g);
    free(g2);
}

static void test_forward(void **state)
{
    (void)state;
    enum { N = 5, V = 9 };
    float l[N * V], g[N * V], y[N * V], y2[N * V];
    int32_t idx[N];
    gc_fill(l, N * V, 1, 2.0f);
    gumbel_noise(g, N * V, 3);
    gumbel_softmax_forward(y, idx, l, g, N, V, 0.5f);
    for (int n = 0; n < N; n++) {
        double s = 0.0;
        int arg = 0;
        for (int v = 0; v < V; v++) {
            s += y[n * V + v];
            if (l[n * V + v] + g[n * V + v] > l[n * V + arg] + g[n * V + arg]) arg = v;
        }
        assert_float_equal(s, 1.0, 1e-5);
        assert_int_equal(idx[n], arg);
    }
    /* lower temperature: sharper */
    gumbel_softmax_forward(y2, NULL, l, g, N, V, 0.1f);
    for (int n = 0; n < N; n++) assert_true(y2[n * V + idx[n]] > y[n * V + idx[n]]);
    /* no noise: plain softmax(l / tau) */
    gumbel_softmax_forward(y, idx, l, NULL, N, V, 1.0f);
    double z = 0.0;
    for (int v = 0; v < V; v++) z += exp(l[v]);
    assert_float_equal(y[3], exp(l[3]) / z, 1e-6);
    /* one-hot rows */
    float oh[N * V];
    gumbel_one_hot(oh, idx, N, V);
    for (int n = 0; n < N; n++)
        for (int v = 0; v < V; v++) assert_true(oh[n * V + v] == (v == idx[n] ? 1.0f : 0.0f));
    /* degenerate tau is clamped, NaN logits do not crash */
    l[0] = NAN;
    gumbel_softmax_forward(y, idx, l, g, N, V, 0.0f);
    assert_true(idx[1] >= 0 && idx[1] < V);
}

/* max |x| (a scale for the finite-difference error floor) */
static double max_abs(const float *x, int n)
{
    double m = 0.0;
    for (int i = 0; i < n; i++) m = fabs(x[i]) > m ? fabs(x[i]) : m;
    return m;
}

typedef struct {
    float *l, *g, *y, *w;
    int N, V;
    float tau;
} soft_ctx;

static double soft_loss(void *p)
{
    soft_ctx *c = p;
    gumbel_softmax_forward(c->y, NULL, c->l, c->g, c->N, c->V, c->tau);
    return gc_dot(c->y, c->w, (size_t)c->N * c->V);
}

static void test_backward_fd(void **state)
{
    (void)state;
    enum { N = 4, V = 13 };
    float l[N * V], g[N * V], y[N * V], w[N * V], dl[N * V], dl2[N * V];
    gc_fill(l, N * V, 7, 1.5f);
    gc_fill(w, N * V, 8, 1.0f);
    gumbel_noise(g, N * V, 9);
    soft_ctx c = {l, g, y, w, N, V, 0.7f};
    soft_loss(&c);
    gumbel_softmax_backward(dl, y, w, N, V, 0.7f, 1.0f, 0);
    double e = gc_check(soft_loss, &c, l, dl, N * V, 1e-2f, N * V, 0.02 * max_abs(dl, N * V), 1e-3, "gumbel soft");
    printf("gumbel soft path gradcheck: worst rel err %.2e\n", e);
    assert_true(e < 1e-3);
    /* scale and accumulate */
    soft_loss(&c); /* y at the unperturbed logits again */
    memcpy(dl2, dl, sizeof dl);
    gumbel_softmax_backward(dl2, y, w, N, V, 0.7f, 0.5f, 1);
    for (int i = 0; i < N * V; i++) assert_float_equal(dl2[i], 1.5f * dl[i], 1e-6f);
}

static void test_pytorch_reference(void **state)
{
    (void)state;
    static ref_file f;
    ref_load(&f, FIXTURE);
    const ref_tensor *lt = ref_get(&f, "gumbel/logits", 0);
    int N = lt->dims[0], V = lt->dims[1];
    size_t n = (size_t)N * V;
    const float *cf = ref_get(&f, "config", 0)->data;
    float tau = cf[11 + (int)cf[5]];
    float *y = malloc(n * sizeof(float)), *dl = malloc(n * sizeof(float));
    int32_t *idx = malloc((size_t)N * sizeof(int32_t));
    gumbel_softmax_forward(y, idx, lt->data, ref_get(&f, "gumbel/noise", n)->data, N, V, tau);
    double a1, a2;
    double r1 = ref_compare(y, ref_get(&f, "gumbel/soft", n)->data, n, &a1);
    const float *hard = ref_get(&f, "gumbel/hard", (size_t)N)->data;
    for (int i = 0; i < N; i++) assert_int_equal(idx[i], (int)hard[i]);
    /* straight-through: the gradient of sum(w * y_st) w.r.t. the logits */
    gumbel_softmax_backward(dl, y, ref_get(&f, "gumbel/dy", n)->data, N, V, tau, 1.0f, 0);
    double r2 = ref_compare(dl, ref_get(&f, "gumbel/dlogits", n)->data, n, &a2);
    printf("gumbel vs PyTorch: soft rel err %.2e, dlogits rel err %.2e\n", r1, r2);
    assert_true(r1 < 1e-5);
    assert_true(r2 < 1e-4);
    free(y);
    free(dl);
    free(idx);
    ref_free(&f);
}

/* ---- chain through the discriminator -------------------------------------- */

typedef struct {
    disc *d;
    float *l, *g, *y;
    int B, T, V;
    float tau;
} chain_ctx;

/* G non-saturating loss of D(Gumbel soft(l)) */
static double chain_loss(void *p)
{
    chain_ctx *c = p;
    gumbel_softmax_forward(c->y, NULL, c->l, c->g, c->B * c->T, c->V, c->tau);
    const float *lg = disc_forward(c->d, c->y, c->B, c->T, 0);
    return gan_g_loss(GAN_LOSS_NONSATURATING, lg, c->B, NULL);
}

static disc *tiny_disc(int V, int B, int T)
{
    disc_config dc = disc_config_default();
    dc.vocab = V;
    dc.embed = 8;
    dc.hidden = 8;
    dc.leaky = 0.5f;
    dc.scales[0] = 1;
    dc.scales[1] = 2;
    dc.scales[2] = 4;
    disc *d = NULL;
    char err[AURL_ERR_LEN];
    assert_int_equal(disc_create(&d, &dc, B, T, 21, err), 0);
    return d;
}

static void test_chain_fd(void **state)
{
    (void)state;
    enum { B = 2, T = 8, V = 10, N = B * T };
    disc *d = tiny_disc(V, B, T);
    float l[N * V], g[N * V], y[N * V], dx[N * V], dl[N * V], dlog[B];
    gc_fill(l, N * V, 31, 1.0f);
    gumbel_noise(g, N * V, 32);
    chain_ctx c = {d, l, g, y, B, T, V, 0.8f};
    chain_loss(&c);
    gan_g_loss(GAN_LOSS_NONSATURATING, disc_logits(d), B, dlog);
    disc_backward(d, dlog, NULL, 0, dx);
    gumbel_softmax_backward(dl, y, dx, N, V, 0.8f, 1.0f, 0);
    /* the error floor: float rounding in D's forward over a 1e-2 step */
    double e = gc_check(chain_loss, &c, l, dl, N * V, 2e-2f, 200, 0.1 * max_abs(dl, N * V), 1e-2,
                        "logits -> gumbel -> D");
    printf("chain gradcheck (soft path): worst rel err %.2e\n", e);
    assert_true(e < 1e-2);
    disc_free(d);
}

/* The adversarial gradient of a straight-through fake reaches the decoder. */
static void test_reaches_decoder(void **state)
{
    (void)state;
    enum { B = 2, T = 8, V = 40, N = B * T };
    model_config mc;
    memset(&mc, 0, sizeof mc);
    mc.vocab_size = V;
    mc.d_model = 16;
    mc.n_layers = 2;
    mc.n_heads = 2;
    mc.d_ff = 32;
    mc.max_seq_len = T;
    mc.attn.kind = ATTN_FULL;
    mc.attn.window = 256;
    mc.attn.stride = 64;
    mc.positions = POS_LEARNED;
    transformer *m = NULL;
    char err[AURL_ERR_LEN];
    int rc = transformer_create(&m, &mc, B, T, 5, err);
    if (rc) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
    disc *d = tiny_disc(V, B, T);
    int32_t in[N], hard[N];
    for (int i = 0; i < N; i++) in[i] = (i * 11 + 4) % V;
    transformer_forward(m, in, NULL, B, T, 0, 0);
    float *g = malloc(sizeof(float) * N * V), *soft = malloc(sizeof(float) * N * V);
    float *dx = malloc(sizeof(float) * N * V), *dl = malloc(sizeof(float) * N * V), dlog[B];
    gumbel_noise(g, N * V, 77);
    gumbel_softmax_forward(soft, hard, transformer_logits(m), g, N, V, 1.0f);
    const float *lg = disc_forward_tokens(d, hard, B, T, 1); /* hard forward value */
    float gl = gan_g_loss(GAN_LOSS_HINGE, lg, B, dlog);
    disc_backward(d, dlog, NULL, 0, dx);             /* d loss / d one-hot input */
    gumbel_softmax_backward(dl, soft, dx, N, V, 1.0f, 1.0f, 0); /* through the soft path */
    transformer_zero_grad(m);
    assert_int_equal(transformer_backward_with_dlogits(m, dl, 0.0f), 0);
    const char *names[] = {"wpe.weight", "wte.weight", "blocks.0.attn.qkv.weight"};
    for (int k = 0; k < 3; k++) {
        const nn_tensor *t = transformer_tensor_find(m, names[k]);
        assert_non_null(t);
        double nrm = gan_norm(t->grad, t->numel);
        printf("adversarial gradient (G hinge loss %.4f) at decoder %s: norm %.3e\n", gl, names[k], nrm);
        assert_true(nrm > 1e-8 && isfinite(nrm));
    }
    free(g);
    free(soft);
    free(dx);
    free(dl);
    disc_free(d);
    transformer_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noise),
        cmocka_unit_test(test_forward),
        cmocka_unit_test(test_backward_fd),
        cmocka_unit_test(test_pytorch_reference),
        cmocka_unit_test(test_chain_fd),
        cmocka_unit_test(test_reaches_decoder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
