/* test_vae: the VAE (src/engine/vae.c), its KL with free bits and beta
 * schedule (kl.c), and the transformer hooks it uses (conditioning input and
 * its gradient, extra d(logits)): finite differences, the PyTorch fixture
 * tests/fixtures/vae_ref.bin (tests/reference/reference_vae.py), reproducibility, and
 * that a briefly trained VAE's latent really carries information. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/nn/kl.h"
#include "engine/model/model_yaml.h"
#include "util/rng.h"
#include "engine/model/transformer.h"
#include "engine/model/vae.h"
#include "gradcheck.h"
#include "ref_fixture.h"
#include "util/fileio.h"

#define FIXTURE "tests/fixtures/vae_ref.bin"

static model_config tiny_model(int V, int C, int L, int NH, int F, int maxT, float dropout)
{
    model_config c;
    model_yaml_defaults(&c);
    c.vocab_size = V;
    c.d_model = C;
    c.n_layers = L;
    c.n_heads = NH;
    c.d_ff = F;
    c.max_seq_len = maxT;
    c.dropout = dropout;
    return c;
}

static vae_config tiny_vae(int enc_layers, int d0, int d1, int d2, int s0, int s1, int s2, float free_bits)
{
    vae_config v;
    vae_config_defaults(&v);
    v.enc_layers = enc_layers;
    int d[3] = {d0, d1, d2}, s[3] = {s0, s1, s2};
    for (int l = 0; l < VAE_LEVELS; l++) {
        v.latent_dim[l] = d[l];
        v.n_segments[l] = s[l];
    }
    v.free_bits = free_bits;
    return v;
}

static vae *make_vae(const model_config *mc, const vae_config *vc, int B, int T, uint64_t seed)
{
    vae *m = NULL;
    char err[AURL_ERR_LEN] = "";
    int rc = vae_create(&m, mc, vc, B, T, seed, err);
    if (rc) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
    return m;
}

/* ---- KL and beta ------------------------------------------------------- */

typedef struct {
    const float *mu, *lv;
    int B, S, D;
    float fb;
} kl_ctx;

static double kl_loss(void *p)
{
    kl_ctx *c = p;
    return kl_forward(c->mu, c->lv, c->B, c->S, c->D, c->fb, NULL).kl_pen;
}

static void test_kl_free_bits(void **state)
{
    (void)state;
    enum { B = 3, S = 2, D = 4, R = B * S };
    float mu[R * D], lv[R * D], kbar[D];
    /* dims 0, 2 far above the threshold; dims 1, 3 well below it */
    for (int r = 0; r < R; r++)
        for (int j = 0; j < D; j++) {
            int big = j % 2 == 0;
            mu[r * D + j] = big ? 1.0f + 0.1f * (float)(r - j) : 0.01f * (float)(r + 1);
            lv[r * D + j] = big ? -0.5f + 0.05f * (float)r : 0.02f * (float)(r - 2);
        }
    const float fb = 0.2f;
    kl_stats st = kl_forward(mu, lv, B, S, D, fb, kbar);
    double expect_kl = 0.0, expect_pen = 0.0;
    for (int j = 0; j < D; j++) {
        double s = 0.0;
        for (int r = 0; r < R; r++) {
            double m = mu[r * D + j], v = lv[r * D + j];
            s += 0.5 * (m * m + exp(v) - 1.0 - v);
        }
        s /= R;
        assert_float_equal(kbar[j], s, 1e-5);
        expect_kl += S * s;
        expect_pen += S * (s > fb ? s : fb);
        if (j % 2 == 0) assert_true(s > fb);
        else assert_true(s < fb);
    }
    assert_float_equal(st.kl, expect_kl, 1e-5);
    assert_float_equal(st.kl_pen, expect_pen, 1e-5);
    assert_true(st.kl_pen > st.kl); /* the collapsed dims cost the free bits */
    assert_int_equal(st.active, 4 - 0 - (kbar[1] <= KL_ACTIVE_NATS) - (kbar[3] <= KL_ACTIVE_NATS));

    float dmu[R * D] = {0}, dlv[R * D] = {0};
    kl_backward(dmu, dlv, mu, lv, kbar, B, S, D, fb, 1.0f, B);
    for (int r = 0; r < R; r++) { /* below the threshold: exactly zero gradient */
        assert_true(dmu[r * D + 1] == 0.0f && dlv[r * D + 1] == 0.0f);
        assert_true(dmu[r * D + 3] == 0.0f && dlv[r * D + 3] == 0.0f);
    }
    kl_ctx c = {mu, lv, B, S, D, fb};
    double e1 = gc_check(kl_loss, &c, mu, dmu, R * D, 1e-3f, R * D, 1e-6, 1e-2, "kl mu");
    double e2 = gc_check(kl_loss, &c, lv, dlv, R * D, 1e-3f, R * D, 1e-6, 1e-2, "kl logvar");
    printf("  kl free bits: pen %.4f (plain %.4f), gradcheck mu %.1e logvar %.1e\n", st.kl_pen, st.kl, e1, e2);
    assert_true(e1 < 1e-2 && e2 < 1e-2);
    /* without free bits every dim has gradient and pen == kl */
    st = kl_forward(mu, lv, B, S, D, 0.0f, kbar);
    assert_float_equal(st.kl, st.kl_pen, 1e-9);
}

static void test_beta_schedule(void **state)
{
    (void)state;
    beta_schedule lin = {BETA_LINEAR, 100, 1, 0.5f};
    assert_float_equal(beta_at(&lin, 0), 0.0f, 1e-7);
    assert_float_equal(beta_at(&lin, 50), 0.25f, 1e-6);
    assert_float_equal(beta_at(&lin, 100), 0.5f, 1e-7);
    assert_float_equal(beta_at(&lin, 100000), 0.5f, 1e-7);
    beta_schedule cyc = {BETA_CYCLICAL, 100, 200, 1.0f};
    assert_float_equal(beta_at(&cyc, 50), 0.5f, 1e-6);
    assert_float_equal(beta_at(&cyc, 150), 1.0f, 1e-6);
    assert_float_equal(beta_at(&cyc, 200), 0.0f, 1e-7);
    assert_float_equal(beta_at(&cyc, 250), 0.5f, 1e-6);
    beta_schedule none = {BETA_LINEAR, 0, 1, 0.3f};
    assert_float_equal(beta_at(&none, 0), 0.3f, 1e-7);
    beta_kind k;
    assert_int_equal(beta_kind_parse("cyclical", &k), 0);
    assert_int_equal(k, BETA_CYCLICAL);
    assert_int_equal(beta_kind_parse("cosine", &k), -1);
    assert_string_equal(beta_kind_name(BETA_LINEAR), "linear");
}

static void test_config_validate(void **state)
{
    (void)state;
    model_config mc;
    model_yaml_defaults(&mc);
    mc.d_model = 128, mc.n_layers = 3, mc.n_heads = 4, mc.d_ff = 512, mc.max_seq_len = 512;
    vae_config vc;
    vae_config_defaults(&vc);
    char err[AURL_ERR_LEN] = "";
    assert_int_equal(vae_config_validate(&vc, &mc, 256, err), 0);
    assert_int_equal(vae_config_validate(&vc, &mc, 100, err), -1); /* 100 % 8 != 0 */
    assert_non_null(strstr(err, "n_segments"));
    vc.beta.kind = BETA_CYCLICAL;
    vc.beta.cycle_steps = 0;
    assert_int_equal(vae_config_validate(&vc, &mc, 256, err), -1);
    vae_config_defaults(&vc);
    vc.free_bits = NAN;
    assert_int_equal(vae_config_validate(&vc, &mc, 256, err), -1);
    vae_config_defaults(&vc);
    assert_int_equal(vae_config_validate(&vc, &mc, 1024, err), -1); /* window > max_seq_len */
    vae *m = NULL;
    assert_int_equal(vae_create(&m, &mc, &vc, 2, 100, 1, err), -1);
    assert_null(m);
    assert_int_equal(vae_count_params(&mc, &vc, 100), 0);
}

/* ---- transformer hooks --------------------------------------------------- */

typedef struct {
    transformer *m;
    const int32_t *in, *tg;
    const float *extra; /* (N, V) weights of the extra logit loss, or NULL */
    float w;
    int B, T, N;
} hook_ctx;

/* xent_weight * recon + sum(logits * extra) */
static double hook_loss(void *p)
{
    hook_ctx *c = p;
    double l = c->w * transformer_forward(c->m, c->in, c->tg, c->B, c->T, 1, 5);
    if (c->extra) l += gc_dot(transformer_logits(c->m), c->extra, (size_t)c->N * transformer_config(c->m)->vocab_size);
    return l;
}

static void test_transformer_hooks(void **state)
{
    (void)state;
    enum { B = 2, T = 8, N = B * T };
    model_config mc = tiny_model(32, 16, 2, 2, 32, 8, 0.1f);
    transformer *m = NULL;
    char err[AURL_ERR_LEN];
    assert_int_equal(transformer_create(&m, &mc, B, T, 3, err), 0);
    rng_state r;
    rng_seed(&r, 11);
    for (int i = 0; i < transformer_n_tensors(m); i++) gc_randomize_tensor(transformer_tensor_at(m, i), &r, 0.25f);
    int32_t in[N], tg[N];
    gc_tokens(in, N, 32, 1);
    gc_tokens(tg, N, 32, 2);
    tg[5] = 2;
    float cond[N * 16], extra[N * 32];
    gc_fill(cond, N * 16, 7, 0.5f);
    gc_fill(extra, N * 32, 8, 0.3f);

    /* no cond, weight 1, no extra == transformer_backward exactly */
    size_t np = transformer_n_params(m);
    float *g1 = malloc(np * sizeof(float));
    transformer_zero_grad(m);
    transformer_forward(m, in, tg, B, T, 1, 5);
    transformer_backward(m);
    memcpy(g1, transformer_grads(m), np * sizeof(float));
    transformer_zero_grad(m);
    transformer_forward(m, in, tg, B, T, 1, 5);
    assert_int_equal(transformer_backward_with_dlogits(m, NULL, 1.0f), 0);
    assert_memory_equal(g1, transformer_grads(m), np * sizeof(float));
    free(g1);

    /* cond changes the loss; its gradient matches finite differences */
    transformer_set_cond(m, cond);
    hook_ctx c = {m, in, tg, extra, 0.7f, B, T, N};
    transformer_zero_grad(m);
    hook_loss(&c);
    assert_int_equal(transformer_backward_with_dlogits(m, extra, 0.7f), 0);
    float dcond[N * 16];
    memcpy(dcond, transformer_cond_grad(m), sizeof dcond);
    double e = gc_check(hook_loss, &c, cond, dcond, N * 16, 1e-2f, 48, 1e-4, 3e-2, "cond");
    printf("  cond hook gradcheck worst %.2e\n", e);
    assert_true(e < 3e-2);
    const char *names[] = {"wte.weight", "blocks.0.attn.qkv.weight", "blocks.1.mlp.fc2.weight", "ln_f.bias"};
    for (int k = 0; k < 4; k++) {
        const nn_tensor *t = transformer_tensor_find(m, names[k]);
        float *g = malloc(t->numel * sizeof(float));
        memcpy(g, t->grad, t->numel * sizeof(float));
        e = gc_check(hook_loss, &c, t->param, g, t->numel, 1e-2f, 24, 1e-4, 3e-2, names[k]);
        printf("  extra-dlogits gradcheck %-26s worst %.2e\n", names[k], e);
        assert_true(e < 3e-2);
        free(g);
    }
    /* only the extra term (no cross-entropy) */
    c.w = 0.0f;
    transformer_zero_grad(m);
    hook_loss(&c);
    assert_int_equal(transformer_backward_with_dlogits(m, extra, 0.0f), 0);
    const nn_tensor *t = transformer_tensor_find(m, "blocks.0.mlp.fc1.weight");
    float *g = malloc(t->numel * sizeof(float));
    memcpy(g, t->grad, t->numel * sizeof(float));
    e = gc_check(hook_loss, &c, t->param, g, t->numel, 1e-2f, 24, 1e-4, 3e-2, "extra only");
    assert_true(e < 3e-2);
    free(g);
    transformer_forward(m, in, NULL, B, T, 0, 0);
    assert_int_equal(transformer_backward_with_dlogits(m, NULL, 1.0f), -1); /* nothing to back-propagate */
    transformer_set_cond(m, NULL);
    transformer_free(m);
}

/* ---- VAE finite differences ------------------------------------------------ */

typedef struct {
    vae *m;
    const int32_t *in, *tg;
    int B, T;
} vae_ctx;

static double vae_loss(void *p)
{
    vae_ctx *c = p;
    return vae_forward(c->m, c->in, c->tg, c->B, c->T, 0, VAE_Z_FIXED_EPS, 0);
}

/* Every encoder, latent-head and decoder embedding gradient against finite
 * differences, with the encoder and decoder on positions pos. */
static void check_vae_gradients(model_pos pos)
{
    enum { B = 2, T = 8, N = B * T };
    model_config mc = tiny_model(32, 16, 1, 2, 32, 8, 0.0f);
    mc.positions = pos;
    /* free bits 0.3: with these weights some dims sit above, some below */
    vae_config vc = tiny_vae(2, 3, 2, 2, 1, 2, 4, 0.3f);
    vae *m = make_vae(&mc, &vc, B, T, 9);
    rng_state r;
    rng_seed(&r, 12);
    for (int i = 0; i < vae_n_tensors(m); i++) {
        const nn_tensor *t = vae_tensor_at(m, i);
        gc_randomize_tensor(t, &r, strncmp(t->name, "latent.", 7) == 0 ? 0.3f : 0.25f);
    }
    for (int l = 0; l < VAE_LEVELS; l++) {
        int n = B * vc.n_segments[l] * vc.latent_dim[l];
        rng_fill_normal(&r, vae_eps(m, l), n, 0.0f, 1.0f);
    }
    vae_set_beta(m, 0.8f);
    int32_t in[N], tg[N];
    gc_tokens(in, N, 32, 3);
    gc_tokens(tg, N, 32, 4);
    tg[6] = 2;
    vae_ctx c = {m, in, tg, B, T};
    vae_zero_grad(m);
    float loss = (float)vae_loss(&c);
    assert_true(isfinite(loss));
    const vae_stats *st = vae_last_stats(m);
    printf("  vae gradcheck model: loss %.4f recon %.4f kl %.3f/%.3f/%.3f pen %.3f/%.3f/%.3f\n", st->loss, st->recon,
           st->kl[0], st->kl[1], st->kl[2], st->kl_pen[0], st->kl_pen[1], st->kl_pen[2]);
    vae_backward(m);
    double worst = 0.0;
    int checked = 0;
    for (int i = 0; i < vae_n_tensors(m); i++) {
        const nn_tensor *t = vae_tensor_at(m, i);
        if (strncmp(t->name, "dec.blocks", 10) == 0) continue; /* the decoder is checked in test_transformer */
        float *g = malloc(t->numel * sizeof(float));
        memcpy(g, t->grad, t->numel * sizeof(float));
        /* floor 2e-3: float FD noise is ~6e-5 (key biases have exactly 0 gradient) */
        double e = gc_check(vae_loss, &c, t->param, g, t->numel, 1e-2f, 12, 2e-3, 5e-2, t->name);
        if (e > worst) worst = e;
        assert_true(e < 5e-2);
        double gn = 0.0;
        for (size_t j = 0; j < t->numel; j++) gn += fabs(g[j]);
        if (strcmp(t->name, "enc.wpe.weight") && strcmp(t->name, "dec.wpe.weight")) assert_true(gn > 0.0);
        free(g);
        checked++;
    }
    printf("  vae gradcheck (%s positions): %d tensors (encoder, latent heads, decoder embeddings/ln_f), worst %.2e\n",
           model_pos_name(pos), checked, worst);
    vae_free(m);
}

static void test_vae_gradcheck(void **state)
{
    (void)state;
    check_vae_gradients(POS_LEARNED);
    check_vae_gradients(POS_ROTARY); /* the bidirectional encoder rotates q, k as the decoder does */
}

/* ---- PyTorch fixture ------------------------------------------------------- */

#define REF_REL_TOL 1e-4

static void test_pytorch_reference(void **state)
{
    (void)state;
    static ref_file f;
    ref_load(&f, FIXTURE);
    const float *cf = ref_get(&f, "config", 0)->data;
    int V = (int)cf[0], C = (int)cf[1], L = (int)cf[2], NH = (int)cf[3], F = (int)cf[4], maxT = (int)cf[5];
    int B = (int)cf[6], T = (int)cf[7], EL = (int)cf[8];
    model_config mc = tiny_model(V, C, L, NH, F, maxT, 0.0f);
    vae_config vc = tiny_vae(EL, (int)cf[9], (int)cf[10], (int)cf[11], (int)cf[12], (int)cf[13], (int)cf[14], cf[16]);
    vae *m = make_vae(&mc, &vc, B, T, 1);
    vae_set_beta(m, cf[15]);
    int loaded = 0;
    for (int i = 0; i < f.n; i++) {
        if (strncmp(f.t[i].name, "weights/", 8)) continue;
        const nn_tensor *t = vae_tensor_find(m, f.t[i].name + 8);
        if (!t) fprintf(stderr, "no tensor %s in the vae\n", f.t[i].name + 8);
        assert_non_null(t);
        assert_int_equal(t->numel, f.t[i].numel);
        memcpy(t->param, f.t[i].data, t->numel * sizeof(float));
        loaded++;
    }
    assert_int_equal(loaded, vae_n_tensors(m)); /* every tensor has a reference */
    for (int l = 0; l < VAE_LEVELS; l++) {
        char nm[64];
        snprintf(nm, sizeof nm, "eps/%s", vae_level_names[l]);
        const ref_tensor *e = ref_get(&f, nm, 0);
        assert_int_equal(e->numel, (size_t)B * vc.n_segments[l] * vc.latent_dim[l]);
        memcpy(vae_eps(m, l), e->data, e->numel * sizeof(float));
    }
    int32_t in[64], tg[64];
    for (int i = 0; i < B * T; i++) {
        in[i] = (int32_t)ref_get(&f, "inputs", 0)->data[i];
        tg[i] = (int32_t)ref_get(&f, "targets", 0)->data[i];
    }
    vae_zero_grad(m);
    float loss = vae_forward(m, in, tg, B, T, 0, VAE_Z_FIXED_EPS, 0);
    const vae_stats *st = vae_last_stats(m);
    double worst_term = fabs(loss - ref_get(&f, "out/loss", 0)->data[0]);
    double d = fabs(st->recon - ref_get(&f, "out/recon", 0)->data[0]);
    if (d > worst_term) worst_term = d;
    for (int l = 0; l < VAE_LEVELS; l++) {
        char nm[64];
        snprintf(nm, sizeof nm, "out/kl_%s", vae_level_names[l]);
        d = fabs(st->kl[l] - ref_get(&f, nm, 0)->data[0]) / fabs(ref_get(&f, nm, 0)->data[0]);
        if (d > worst_term) worst_term = d;
        snprintf(nm, sizeof nm, "out/kl_pen_%s", vae_level_names[l]);
        d = fabs(st->kl_pen[l] - ref_get(&f, nm, 0)->data[0]) / fabs(ref_get(&f, nm, 0)->data[0]);
        if (d > worst_term) worst_term = d;
    }
    vae_backward(m);
    double worst = 0.0, worst_abs = 0.0;
    const char *worst_name = "";
    for (int i = 0; i < vae_n_tensors(m); i++) {
        const nn_tensor *t = vae_tensor_at(m, i);
        char nm[96];
        snprintf(nm, sizeof nm, "grad/%s", t->name);
        const ref_tensor *g = ref_get(&f, nm, t->numel);
        double e;
        double rel = ref_compare(t->grad, g->data, t->numel, &e);
        if (rel > worst) worst = rel, worst_name = t->name;
        if (e > worst_abs) worst_abs = e;
        if (rel > REF_REL_TOL) printf("  %s: rel err %.2e\n", t->name, rel);
    }
    printf("  vae vs PyTorch: loss %.6f (ref %.6f), worst loss-term err %.2e, worst grad rel err %.2e (%s), max abs %.2e\n",
           loss, ref_get(&f, "out/loss", 0)->data[0], worst_term, worst, worst_name, worst_abs);
    assert_true(worst_term < 1e-4);
    assert_true(worst < REF_REL_TOL);
    vae_free(m);
    ref_free(&f);
}

/* ---- behaviour ------------------------------------------------------------- */

static void test_reproducible_and_paths(void **state)
{
    (void)state;
    enum { B = 2, T = 16, N = B * T };
    model_config mc = tiny_model(40, 16, 1, 2, 32, 16, 0.1f);
    vae_config vc = tiny_vae(1, 4, 3, 2, 1, 4, 8, 0.05f);
    vae *a = make_vae(&mc, &vc, B, T, 21), *b = make_vae(&mc, &vc, B, T, 21), *c = make_vae(&mc, &vc, B, T, 22);
    assert_int_equal(vae_n_params(a), vae_count_params(&mc, &vc, T));
    int32_t in[N], tg[N];
    gc_tokens(in, N, 40, 5);
    gc_tokens(tg, N, 40, 6);
    float la = vae_forward(a, in, tg, B, T, 1, VAE_Z_SAMPLE, 7);
    float lb = vae_forward(b, in, tg, B, T, 1, VAE_Z_SAMPLE, 7);
    float lc = vae_forward(c, in, tg, B, T, 1, VAE_Z_SAMPLE, 7);
    assert_true(la == lb);
    assert_true(la != lc);
    assert_true(vae_forward(a, in, tg, B, T, 1, VAE_Z_SAMPLE, 8) != la); /* another eps */
    /* one step on both: still identical */
    adamw_config oc = adamw_default_config(1e-3f, 1e-4f, 0, 10);
    adamw oa, ob;
    adamw_init(&oa, &oc);
    adamw_init(&ob, &oc);
    for (int s = 0; s < 2; s++) {
        vae *m = s ? b : a;
        float l = vae_forward(m, in, tg, B, T, 1, VAE_Z_SAMPLE, 7);
        vae_backward(m);
        adamw_result r = vae_step(m, s ? &ob : &oa, l);
        assert_false(r.skipped);
    }
    assert_true(vae_forward(a, in, tg, B, T, 1, VAE_Z_SAMPLE, 9) == vae_forward(b, in, tg, B, T, 1, VAE_Z_SAMPLE, 9));
    /* bad sizes are refused, not crashed on */
    assert_true(isnan(vae_forward(a, in, tg, B, 12, 0, VAE_Z_MEAN, 0))); /* 12 % 8 != 0 */
    assert_true(isnan(vae_forward(a, in, tg, B + 1, T, 0, VAE_Z_MEAN, 0)));
    vae_backward(a); /* after a failed forward: a no-op */
    /* encode + cond_from_z reproduce the MEAN forward of one window */
    float mean_loss = vae_forward(a, in, tg, 1, T, 0, VAE_Z_MEAN, 0);
    float *mu = malloc((size_t)vae_latent_dim(a) * sizeof(float));
    float *cond = malloc((size_t)T * 16 * sizeof(float));
    assert_int_equal(vae_latent_dim(a), 4 + 4 * 3 + 8 * 2);
    assert_int_equal(vae_encode(a, in, T, mu), 0);
    assert_int_equal(vae_cond_from_z(a, mu, T, cond), 0);
    transformer_set_cond(vae_decoder(a), cond);
    float rec = transformer_forward(vae_decoder(a), in, tg, 1, T, 0, 0);
    transformer_set_cond(vae_decoder(a), NULL);
    assert_float_equal(rec, vae_last_stats(a)->recon, 1e-5);
    (void)mean_loss;
    assert_int_equal(vae_encode(a, in, 12, mu), -1);
    /* metrics */
    const char *names[VAE_N_METRICS];
    double vals[VAE_N_METRICS];
    assert_int_equal(vae_metrics(a, names, vals, VAE_N_METRICS), VAE_N_METRICS);
    assert_string_equal(names[0], "loss");
    assert_string_equal(names[VAE_N_METRICS - 1], "active_fine");
    assert_non_null(vae_tensor_find(a, "latent.segment.logvar.weight"));
    assert_non_null(vae_tensor_find(a, "dec.blocks.0.attn.qkv.weight"));
    assert_non_null(vae_tensor_find(a, "enc.blocks.0.mlp.fc2.bias"));
    assert_null(vae_tensor_find(a, "blocks.0.attn.qkv.weight"));
    free(mu);
    free(cond);
    vae_free(a);
    vae_free(b);
    vae_free(c);
}

/* Synthetic data: each 4-token chunk of a window is one of K fixed
 * patterns chosen at random; without the latent the first token of every
 * chunk is a guess among K, with it the whole window is predictable. */
#define LM_T 16
#define LM_K 4
static void lm_batch(int32_t *in, int32_t *tg, int B, const int32_t pat[LM_K][4], rng_state *r)
{
    for (int b = 0; b < B; b++) {
        int32_t seq[LM_T];
        for (int ch = 0; ch < LM_T / 4; ch++) {
            int k = (int)rng_below(r, LM_K);
            for (int j = 0; j < 4; j++) seq[ch * 4 + j] = pat[k][j];
        }
        in[b * LM_T] = 1; /* start token */
        for (int t = 0; t < LM_T; t++) {
            tg[b * LM_T + t] = seq[t];
            if (t + 1 < LM_T) in[b * LM_T + t + 1] = seq[t];
        }
    }
}

static void test_latent_matters(void **state)
{
    (void)state;
    enum { B = 16, N = B * LM_T };
    model_config mc = tiny_model(24, 32, 1, 2, 64, LM_T, 0.0f);
    vae_config vc = tiny_vae(1, 8, 4, 2, 1, 4, 8, 0.0f);
    vc.beta = (beta_schedule){BETA_LINEAR, 150, 1, 0.2f};
    vae *m = make_vae(&mc, &vc, B, LM_T, 31);
    int32_t pat[LM_K][4];
    for (int k = 0; k < LM_K; k++)
        for (int j = 0; j < 4; j++) pat[k][j] = (int32_t)(4 + k * 4 + j); /* distinct tokens 4..19 */
    rng_state r;
    rng_seed(&r, 5);
    adamw_config oc = adamw_default_config(3e-3f, 3e-4f, 20, 400);
    oc.weight_decay = 0.0f;
    adamw opt;
    adamw_init(&opt, &oc);
    int32_t in[N], tg[N];
    float first = 0.0f, last = 0.0f;
    for (int step = 0; step < 400; step++) {
        lm_batch(in, tg, B, pat, &r);
        vae_set_step(m, step);
        float l = vae_forward(m, in, tg, B, LM_T, 1, VAE_Z_SAMPLE, (uint64_t)step);
        if (step == 0) first = l;
        last = l;
        vae_backward(m);
        vae_step(m, &opt, l);
    }
    lm_batch(in, tg, B, pat, &r); /* held-out windows */
    vae_forward(m, in, tg, B, LM_T, 0, VAE_Z_MEAN, 1);
    vae_stats post = *vae_last_stats(m);
    vae_forward(m, in, tg, B, LM_T, 0, VAE_Z_SAMPLE, 2);
    float sampled = vae_last_stats(m)->recon;
    vae_forward(m, in, tg, B, LM_T, 0, VAE_Z_PRIOR, 3);
    float prior = vae_last_stats(m)->recon;
    vae_forward(m, in, tg, B, LM_T, 0, VAE_Z_SHUFFLE, 4);
    float shuffled = vae_last_stats(m)->recon;
    printf("  latent matters: train loss %.3f -> %.3f; recon posterior mean %.3f, posterior sample %.3f, prior %.3f, "
           "shuffled %.3f (nats/token; ideal with latent 0, without %.3f)\n",
           first, last, post.recon, sampled, prior, shuffled, log((double)LM_K) / 4.0);
    printf("  KL nats global %.2f segment %.2f fine %.2f, active dims %d/%d %d/%d %d/%d\n", post.kl[0], post.kl[1],
           post.kl[2], post.active[0], vc.latent_dim[0], post.active[1], vc.latent_dim[1], post.active[2],
           vc.latent_dim[2]);
    assert_true(post.recon + 0.15f < prior);
    assert_true(post.recon + 0.15f < shuffled);
    assert_true(sampled + 0.1f < prior);
    vae_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kl_free_bits),
        cmocka_unit_test(test_beta_schedule),
        cmocka_unit_test(test_config_validate),
        cmocka_unit_test(test_transformer_hooks),
        cmocka_unit_test(test_vae_gradcheck),
        cmocka_unit_test(test_pytorch_reference),
        cmocka_unit_test(test_reproducible_and_paths),
        cmocka_unit_test(test_latent_matters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
