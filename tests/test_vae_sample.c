/* test_vae_sample: the curses-free VAE generation logic (engine/vae_sample)
 * on a tiny random VAE: seeded prior z (reproducible, ~N(0,1)), slerp and
 * linear interpolation (endpoints, norms, midpoint direction), the encoder's
 * window (truncate / PAD-pad) and posterior means (identical windows give
 * identical mu, different windows different), decoding with cond rows from
 * z (z changes the tokens, same z + seed repeats them, length capped at
 * T - 1, interpolation endpoints decode as their sources) and the checkpoint
 * probe (transformer vs stage-3 header, seq_len, damaged file). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"
#include "engine/model/checkpoint.h"
#include "engine/model/model_ckpt.h"
#include "engine/model/model_yaml.h"
#include "engine/sample/vae_sample.h"
#include "testutil.h"

#define T_WIN 32

static model_config tiny_model(void)
{
    model_config c;
    model_yaml_defaults(&c);
    c.vocab_size = TOK_VOCAB_SIZE;
    c.d_model = 16;
    c.n_layers = 1;
    c.n_heads = 2;
    c.d_ff = 32;
    c.max_seq_len = T_WIN;
    c.dropout = 0.0f;
    return c;
}

static vae_config tiny_vae_config(void)
{
    vae_config v;
    vae_config_defaults(&v);
    v.enc_layers = 1;
    int d[3] = {8, 4, 2}, s[3] = {1, 4, 8};
    for (int l = 0; l < VAE_LEVELS; l++) {
        v.latent_dim[l] = d[l];
        v.n_segments[l] = s[l];
    }
    return v;
}

/* A tiny VAE whose latent projections are scaled up so z clearly matters
 * (fresh heads are normal(0, 0.02): their conditioning would be ~0.1). */
static vae *make_vae(uint64_t seed)
{
    model_config mc = tiny_model();
    vae_config vc = tiny_vae_config();
    vae *m = NULL;
    char err[AURL_ERR_LEN] = "";
    int rc = vae_create(&m, &mc, &vc, 1, T_WIN, seed, err);
    if (rc) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
    for (int l = 0; l < VAE_LEVELS; l++) {
        char nm[64];
        snprintf(nm, sizeof nm, "latent.%s.proj.weight", vae_level_names[l]);
        const nn_tensor *t = vae_tensor_find(m, nm);
        assert_non_null(t);
        for (size_t i = 0; i < t->numel; i++) t->param[i] *= 100.0f;
    }
    return m;
}

static double norm(const float *x, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)x[i] * x[i];
    return sqrt(s);
}

static double cosine(const float *a, const float *b, int n)
{
    double d = 0;
    for (int i = 0; i < n; i++) d += (double)a[i] * b[i];
    return d / (norm(a, n) * norm(b, n));
}

static void test_prior(void **state)
{
    (void)state;
    enum { N = 40000 };
    float *a = malloc(N * sizeof(float)), *b = malloc(N * sizeof(float)), *c = malloc(N * sizeof(float));
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    vae_sample_prior(a, N, 7);
    vae_sample_prior(b, N, 7);
    vae_sample_prior(c, N, 8);
    assert_memory_equal(a, b, N * sizeof(float));
    int same = 0;
    for (int i = 0; i < N; i++) same += a[i] == c[i];
    assert_true(same < 10);
    double mean = 0, var = 0, m4 = 0;
    for (int i = 0; i < N; i++) mean += a[i];
    mean /= N;
    for (int i = 0; i < N; i++) {
        double d = a[i] - mean;
        var += d * d;
        m4 += d * d * d * d;
    }
    var /= N;
    m4 /= N;
    assert_true(fabs(mean) < 0.03);
    assert_true(fabs(var - 1.0) < 0.04);
    assert_true(fabs(m4 / (var * var) - 3.0) < 0.2); /* normal kurtosis, not uniform's 1.8 */
    free(a);
    free(b);
    free(c);
}

static void test_interp(void **state)
{
    (void)state;
    enum { N = 256 };
    float a[N], b[N], o[N], l[N];
    vae_sample_prior(a, N, 1);
    vae_sample_prior(b, N, 2);
    for (int k = 0; k < 2; k++) {
        vae_interp kind = k ? VAE_INTERP_LINEAR : VAE_INTERP_SLERP;
        vae_sample_interp(a, b, N, 0.0, kind, o);
        for (int i = 0; i < N; i++) assert_true(fabsf(o[i] - a[i]) < 1e-5f);
        vae_sample_interp(a, b, N, 1.0, kind, o);
        for (int i = 0; i < N; i++) assert_true(fabsf(o[i] - b[i]) < 1e-5f);
    }
    assert_string_equal(vae_interp_name(VAE_INTERP_SLERP), "slerp");
    assert_string_equal(vae_interp_name(VAE_INTERP_LINEAR), "linear");
    double na = norm(a, N), nb = norm(b, N);
    double lo = (na < nb ? na : nb) * 0.999, hi = (na > nb ? na : nb) * 1.001;
    for (int s = 1; s < 8; s++) {
        double t = s / 8.0;
        vae_sample_interp(a, b, N, t, VAE_INTERP_SLERP, o);
        double no = norm(o, N);
        assert_true(no >= lo && no <= hi); /* stays on the prior's shell */
        /* the angle to a grows with t, to b shrinks */
        double ca = cosine(o, a, N), cb = cosine(o, b, N);
        if (s < 4) assert_true(ca > cb);
        if (s > 4) assert_true(ca < cb);
        if (s == 4) assert_true(fabs(ca - cb) < 1e-3);
    }
    /* linear shrinks the midpoint of two near-orthogonal prior draws (~1/sqrt 2) */
    vae_sample_interp(a, b, N, 0.5, VAE_INTERP_LINEAR, l);
    vae_sample_interp(a, b, N, 0.5, VAE_INTERP_SLERP, o);
    for (int i = 0; i < N; i++) assert_true(fabsf(l[i] - 0.5f * (a[i] + b[i])) < 1e-5f);
    assert_true(norm(l, N) < 0.8 * norm(o, N));
    /* parallel vectors: slerp falls back to linear (no NaN) */
    float c[N], z[N];
    for (int i = 0; i < N; i++) {
        c[i] = 2 * a[i];
        z[i] = 0;
    }
    vae_sample_interp(a, c, N, 0.25, VAE_INTERP_SLERP, o);
    for (int i = 0; i < N; i++) assert_true(fabsf(o[i] - 1.25f * a[i]) < 1e-4f);
    vae_sample_interp(z, a, N, 0.5, VAE_INTERP_SLERP, o);
    for (int i = 0; i < N; i++) assert_true(fabsf(o[i] - 0.5f * a[i]) < 1e-5f);
}

static void test_window(void **state)
{
    (void)state;
    uint16_t tok[40];
    for (int i = 0; i < 40; i++) tok[i] = (uint16_t)(TOK_START + i);
    tok[5] = 60000; /* out of vocabulary */
    int32_t w[T_WIN];
    assert_int_equal(vae_sample_window(tok, 10, T_WIN, w), 10);
    assert_int_equal(w[0], tok[0]);
    assert_int_equal(w[5], TOK_UNK);
    assert_int_equal(w[9], tok[9]);
    for (int i = 10; i < T_WIN; i++) assert_int_equal(w[i], TOK_PAD);
    assert_int_equal(vae_sample_window(tok, 40, T_WIN, w), T_WIN);
    assert_int_equal(w[T_WIN - 1], tok[T_WIN - 1]);

    vae_config vc = tiny_vae_config(); /* segments 1, 4, 8 */
    assert_int_equal(vae_sample_window_len(&vc, 32), 32);
    assert_int_equal(vae_sample_window_len(&vc, 39), 32);
    assert_int_equal(vae_sample_window_len(&vc, 47), 40);
    assert_int_equal(vae_sample_window_len(&vc, 7), 0);
}

/* A plausible token stream: START, then note on / time shift / note off. */
static size_t make_tokens(uint16_t *tok, size_t n, int pitch0)
{
    size_t k = 0;
    tok[k++] = TOK_START;
    for (int i = 0; k + 3 < n; i++) {
        tok[k++] = (uint16_t)(TOK_NOTE_ON + (pitch0 + i * 5) % 88);
        tok[k++] = (uint16_t)(TOK_TIME_SHIFT + 3 + i % 7);
        tok[k++] = (uint16_t)(TOK_NOTE_OFF + (pitch0 + i * 5) % 88);
    }
    tok[k++] = TOK_END;
    return k;
}

static void test_encode(void **state)
{
    (void)state;
    vae *m = make_vae(11);
    int D = vae_latent_dim(m);
    assert_int_equal(D, 8 + 16 + 16);
    uint16_t t1[64], t2[64];
    size_t n1 = make_tokens(t1, 64, 10), n2 = make_tokens(t2, 64, 40);
    float *a = calloc((size_t)D, sizeof(float)), *b = calloc((size_t)D, sizeof(float)),
          *c = calloc((size_t)D, sizeof(float));
    char err[AURL_ERR_LEN];
    assert_int_equal(vae_sample_encode(m, t1, n1, T_WIN, a, err), 0);
    assert_int_equal(vae_sample_encode(m, t2, n2, T_WIN, c, err), 0);
    assert_int_equal(vae_sample_encode(m, t1, n1, T_WIN, b, err), 0);
    assert_memory_equal(a, b, (size_t)D * sizeof(float));
    double diff = 0;
    for (int i = 0; i < D; i++) diff += fabs(a[i] - c[i]);
    assert_true(diff > 1e-3);
    /* only the first window counts: tokens past T do not change mu */
    memcpy(t2, t1, sizeof t1);
    for (size_t i = T_WIN; i < 64; i++) t2[i] = TOK_NOTE_ON + 3;
    assert_int_equal(vae_sample_encode(m, t2, 64, T_WIN, b, err), 0);
    assert_memory_equal(a, b, (size_t)D * sizeof(float));
    /* a window that does not divide into the segments is refused */
    assert_int_equal(vae_sample_encode(m, t1, n1, 30, b, err), -1);
    assert_true(strlen(err) > 0);
    free(a);
    free(b);
    free(c);
    vae_free(m);
}

static int tokens_equal(const sampler_result *x, const sampler_result *y)
{
    return x->n_tokens == y->n_tokens && !memcmp(x->tokens, y->tokens, (size_t)x->n_tokens * sizeof(int32_t));
}

/* Progress callback: the largest generated count and the total announced. */
static int note_progress(void *ctx, int generated, int total)
{
    int *seen = ctx;
    if (generated > seen[0]) seen[0] = generated;
    seen[1] = total;
    return 0;
}

static void test_decode(void **state)
{
    (void)state;
    vae *m = make_vae(12);
    int D = vae_latent_dim(m);
    float *z1 = malloc((size_t)D * sizeof(float)), *z2 = malloc((size_t)D * sizeof(float)),
          *zt = malloc((size_t)D * sizeof(float));
    vae_sample_prior(z1, D, 1);
    vae_sample_prior(z2, D, 2);
    sampler_settings s;
    sampler_settings_default(&s);
    s.strategy = SAMPLER_TEMPERATURE;
    s.max_tokens = 1000; /* capped at T - 1 */
    s.seed = 5;
    char err[AURL_ERR_LEN];
    sampler_result r1, r1b, r2, rg1, rg2, ri;
    int seen[2] = {0, 0};
    assert_int_equal(vae_sample_decode(m, T_WIN, z1, &s, note_progress, seen, &r1, err), 0);
    assert_int_equal(seen[1], T_WIN - 1); /* the length was capped at T - 1 ... */
    assert_true(seen[0] >= 1 && seen[0] <= T_WIN - 1); /* ... and honoured */
    assert_int_equal(vae_sample_decode(m, T_WIN, z1, &s, NULL, NULL, &r1b, err), 0);
    assert_int_equal(vae_sample_decode(m, T_WIN, z2, &s, NULL, NULL, &r2, err), 0);
    assert_true(tokens_equal(&r1, &r1b));
    assert_false(tokens_equal(&r1, &r2));
    assert_int_equal(r1.tokens[0], TOK_START);
    assert_int_equal(r1.tokens[r1.n_tokens - 1], TOK_END);
    assert_int_equal(r1.grammar_errors, 0);
    /* greedy depends on z alone */
    s.strategy = SAMPLER_GREEDY;
    assert_int_equal(vae_sample_decode(m, T_WIN, z1, &s, NULL, NULL, &rg1, err), 0);
    assert_int_equal(vae_sample_decode(m, T_WIN, z2, &s, NULL, NULL, &rg2, err), 0);
    assert_false(tokens_equal(&rg1, &rg2));
    /* interpolation endpoints decode as their sources */
    vae_sample_interp(z1, z2, D, 0.0, VAE_INTERP_SLERP, zt);
    assert_int_equal(vae_sample_decode(m, T_WIN, zt, &s, NULL, NULL, &ri, err), 0);
    assert_true(tokens_equal(&ri, &rg1));
    sampler_result_free(&ri);
    vae_sample_interp(z1, z2, D, 1.0, VAE_INTERP_SLERP, zt);
    assert_int_equal(vae_sample_decode(m, T_WIN, zt, &s, NULL, NULL, &ri, err), 0);
    assert_true(tokens_equal(&ri, &rg2));
    sampler_result_free(&ri);
    /* bad windows are refused with a message */
    assert_int_equal(vae_sample_decode(m, T_WIN + 8, z1, &s, NULL, NULL, &ri, err), -1);
    assert_int_equal(vae_sample_decode(m, 30, z1, &s, NULL, NULL, &ri, err), -1);
    assert_true(strlen(err) > 0);
    sampler_result_free(&r1);
    sampler_result_free(&r1b);
    sampler_result_free(&r2);
    sampler_result_free(&rg1);
    sampler_result_free(&rg2);
    free(z1);
    free(z2);
    free(zt);
    vae_free(m);
}

static void test_probe(void **state)
{
    (void)state;
    char err[AURL_ERR_LEN];
    vae_ckpt_info info;
    /* a transformer checkpoint */
    model_config mc = tiny_model();
    transformer *t = NULL;
    assert_int_equal(transformer_create(&t, &mc, 1, 1, 3, err), 0);
    const char *tp = testutil_path("t.ckpt");
    assert_int_equal(model_ckpt_save(tp, t, NULL, NULL, err), 0);
    transformer_free(t);
    assert_int_equal(vae_sample_probe(tp, &info, err), 0);
    assert_int_equal(info.is_vae, 0);
    /* stage-3 headers */
    float x[2] = {1, 2};
    ckpt_tensor ct = {.name = "vae.x", .ndim = 1, .dims = {2}, .data = x};
    const char *vp = testutil_path("v.ckpt");
    assert_int_equal(ckpt_save(vp, "{\"mode\":\"vae_gan\",\"data\":{\"seq_len\":32}}", &ct, 1, err), 0);
    assert_int_equal(vae_sample_probe(vp, &info, err), 0);
    assert_int_equal(info.is_vae, 1);
    assert_int_equal(info.use_gan, 1);
    assert_int_equal(info.seq_len, 32);
    assert_int_equal(ckpt_save(vp, "{\"mode\":\"vae\",\"seq_len\":64}", &ct, 1, err), 0);
    assert_int_equal(vae_sample_probe(vp, &info, err), 0);
    assert_int_equal(info.is_vae, 1);
    assert_int_equal(info.use_gan, 0);
    assert_int_equal(info.seq_len, 64);
    assert_int_equal(ckpt_save(vp, "{\"mode\":\"vae_gan\",\"vae\":{\"window\":16},\"seq_len\":64}", &ct, 1, err), 0);
    assert_int_equal(vae_sample_probe(vp, &info, err), 0);
    assert_int_equal(info.seq_len, 16);
    /* damaged and missing files */
    size_t len;
    unsigned char *bytes = testutil_read_file(vp, &len);
    bytes[len / 2] ^= 0x55;
    testutil_write_bytes("bad.ckpt", bytes, len);
    free(bytes);
    err[0] = '\0';
    assert_int_equal(vae_sample_probe(testutil_path("bad.ckpt"), &info, err), -1);
    assert_true(strlen(err) > 0);
    assert_int_equal(vae_sample_probe(testutil_path("none.ckpt"), &info, err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prior),  cmocka_unit_test(test_interp), cmocka_unit_test(test_window),
        cmocka_unit_test(test_encode), cmocka_unit_test(test_decode), cmocka_unit_test(test_probe),
    };
    return cmocka_run_group_tests(tests, testutil_tmpdir_setup, testutil_tmpdir_teardown);
}
