/* Tests of engine/vaegan on a tiny model: a training step's metrics are
 * finite; the adversarial gradient really changes the decoder and the
 * encoder; the n_critic schedule; save -> load -> the next step is
 * bit-identical; the decoder starts exactly from a transformer checkpoint;
 * evaluation is deterministic; the configs and the inference VAE come back
 * from a checkpoint; 2 accumulated micro-batches match the full batch
 * (vae_gan and vae). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/model/model_ckpt.h"
#include "engine/model/vaegan.h"
#include "util/log.h"
#include "testutil.h"

#define B 2
#define T 16

static model_config tiny_model(void)
{
    return (model_config){.vocab_size = 774, .d_model = 16, .n_layers = 1, .n_heads = 2, .d_ff = 32,
                          .max_seq_len = 32, .attn = {.kind = ATTN_FULL, .window = 32, .stride = 8},
                          .dropout = 0.1f, .positions = POS_LEARNED};
}

static vae_config tiny_vae(void)
{
    vae_config vc;
    vae_config_defaults(&vc);
    vc.enc_layers = 1;
    int dims[3] = {4, 4, 2}, segs[3] = {1, 2, 4};
    for (int l = 0; l < VAE_LEVELS; l++) vc.latent_dim[l] = dims[l], vc.n_segments[l] = segs[l];
    vc.beta.warmup_steps = 4;
    return vc;
}

static disc_config tiny_disc(void)
{
    disc_config dc = disc_config_default();
    dc.embed = 8;
    dc.hidden = 8;
    dc.n_scales = 2;
    dc.scales[0] = 1;
    dc.scales[1] = 4;
    return dc;
}

static vaegan_config tiny_gan(void)
{
    vaegan_config gc;
    vaegan_config_defaults(&gc);
    gc.start_step = 0;
    gc.opt = adamw_default_config(1e-3f, 1e-4f, 2, 100);
    return gc;
}

/* A tiny VAE-GAN for batches up to NB x T (dropout as tiny_model unless
 * NO_DROPOUT; free bits FREE_BITS; N_CRITIC D updates per G update). */
static vaegan *make_sized(const vaegan_config *gc, uint64_t seed, int nb, int no_dropout, float free_bits,
                          int n_critic)
{
    model_config mc = tiny_model();
    vae_config vc = tiny_vae();
    disc_config dc = tiny_disc();
    dc.n_critic = n_critic;
    if (no_dropout) mc.dropout = 0.0f;
    vc.free_bits = free_bits;
    vaegan *m;
    char err[AURL_ERR_LEN];
    int rc = vaegan_create(&m, &mc, &vc, &dc, gc, nb, T, seed, err);
    if (rc != 0) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
    return m;
}

static vaegan *make(const vaegan_config *gc, uint64_t seed)
{
    vae_config vc = tiny_vae();
    return make_sized(gc, seed, B, 0, vc.free_bits, tiny_disc().n_critic);
}

/* A fixed batch with a PAD tail in the second example. */
static void batch(int32_t *in, int32_t *tg, int salt)
{
    for (int i = 0; i < B * T; i++) {
        in[i] = 4 + (i * 37 + salt * 11) % 700;
        tg[i] = 4 + ((i + 1) * 37 + salt * 11) % 700;
    }
    tg[B * T - 1] = 2;
    tg[B * T - 2] = 2;
}

/* A tiny VAE-GAN (seed 1) after one training step on batch 0, which is
 * left in IN and TG (B x T each). */
static vaegan *trained_once(int32_t *in, int32_t *tg)
{
    vaegan_config gc = tiny_gan();
    vaegan *m = make(&gc, 1);
    batch(in, tg, 0);
    assert_int_equal(vaegan_train_step(m, in, tg, B, T, 0, 5, NULL), 0);
    return m;
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++) d = fmax(d, fabs((double)a[i] - b[i]));
    return d;
}

static double rel(double a, double b) { return fabs(a - b) / fmax(fabs(a), 1e-12); }

/* One process, a batch of 4 windows: 2 accumulated micro-batches of 2
 * (vaegan_set_split) against the full batch, STEPS steps (the GAN from
 * step 2, a G update every second step; free bits near the KL so that the
 * mask is decided by the whole batch): every term of every step within
 * float rounding, and the weights after. */
static void accumulated_matches_full(int use_gan)
{
    enum { NB = 4, STEPS = 8 };
    vaegan_config gc = tiny_gan();
    gc.use_gan = use_gan;
    gc.start_step = 2;
    gc.adv_weight_max = 1e3f; /* the ratio itself, not the clamp */
    vaegan *full = make_sized(&gc, 3, NB, 1, 2e-3f, 2), *acc = make_sized(&gc, 3, NB / 2, 1, 2e-3f, 2);
    char err[AURL_ERR_LEN];
    vaegan_split sp = {0, 1, 2, NB / 2};
    assert_int_equal(vaegan_set_split(acc, &sp, err), 0);
    int32_t in[NB * T], tg[NB * T];
    double worst = 0;
    int g_updates = 0;
    for (int s = 0; s < STEPS; s++) {
        batch(in, tg, s);
        batch(in + B * T, tg + B * T, s + 100);
        vaegan_metrics a, b;
        assert_int_equal(vaegan_train_step(full, in, tg, NB, T, s, 5, &a), 0);
        assert_int_equal(vaegan_train_step_split(acc, in, tg, T, s, 5, &b, err, sizeof err), 0);
        assert_int_equal(a.tokens, b.tokens);
        assert_int_equal(a.g_update, b.g_update);
        g_updates += a.g_update;
        if (a.g_update) assert_true(a.adv_weight < 1e3f * gc.adv_weight);
        double terms[][2] = {{a.loss, b.loss},         {a.recon, b.recon},           {a.kl_pen[0], b.kl_pen[0]},
                             {a.kl_pen[1], b.kl_pen[1]}, {a.kl_pen[2], b.kl_pen[2]}, {a.grad_norm, b.grad_norm},
                             {a.d_loss, b.d_loss},     {a.adv_weight, b.adv_weight}, {a.fm, b.fm},
                             {a.g_adv, b.g_adv}};
        for (size_t i = 0; i < sizeof terms / sizeof terms[0]; i++)
            if (terms[i][0] != 0) worst = fmax(worst, rel(terms[i][0], terms[i][1]));
        for (int l = 0; l < VAE_LEVELS; l++) assert_int_equal(a.active[l], b.active[l]);
        assert_float_equal(a.d_acc_real, b.d_acc_real, 1e-6);
    }
    vae *va = vaegan_vae(full), *vb = vaegan_vae(acc);
    double d = 0;
    for (int dec = 0; dec < 2; dec++) {
        size_t n, n2;
        const float *pa = vae_array(va, dec, VAE_PARAMS, &n), *pb = vae_array(vb, dec, VAE_PARAMS, &n2);
        assert_int_equal(n, n2);
        d = fmax(d, max_diff(pa, pb, n));
    }
    double dd = 0;
    if (use_gan)
        dd = max_diff(disc_params(vaegan_disc(full)), disc_params(vaegan_disc(acc)),
                      vaegan_n_params_disc(full));
    print_message("%s, 2 accumulated micro-batches vs the full batch of 4, %d steps (%d G updates): worst relative "
                  "metric diff %.2g, max |weight diff| VAE %.3g, D %.3g\n",
                  use_gan ? "vae_gan" : "vae", STEPS, g_updates, worst, d, dd);
    assert_true(worst < 1e-4);
    assert_true(d < 1e-5 && dd < 1e-5);
    if (use_gan) assert_true(g_updates > 0);
    vaegan_free(full);
    vaegan_free(acc);
}

static void test_accumulated_matches_full_batch_vae_gan(void **state)
{
    (void)state;
    accumulated_matches_full(1);
}

static void test_accumulated_matches_full_batch_vae(void **state)
{
    (void)state;
    accumulated_matches_full(0);
}

static int setup(void **state)
{
    log_set_quiet(1);
    return testutil_tmpdir_setup(state);
}

static void test_step_metrics_finite(void **state)
{
    (void)state;
    vaegan_config gc = tiny_gan();
    vaegan *m = make(&gc, 1);
    int32_t in[B * T], tg[B * T];
    for (int s = 0; s < 3; s++) {
        batch(in, tg, s);
        vaegan_metrics mt;
        assert_int_equal(vaegan_train_step(m, in, tg, B, T, s, 5, &mt), 0);
        const char *names[VAEGAN_N_METRICS];
        double vals[VAEGAN_N_METRICS];
        assert_int_equal(vaegan_metrics_list(&mt, names, vals, VAEGAN_N_METRICS), VAEGAN_N_METRICS);
        for (int i = 0; i < VAEGAN_N_METRICS; i++) {
            if (!isfinite(vals[i])) fprintf(stderr, "%s = %g\n", names[i], vals[i]);
            assert_true(isfinite(vals[i]));
        }
        assert_true(mt.gan_on && mt.g_update);
        assert_true(mt.recon > 0 && mt.adv_weight >= 0 && mt.d_loss > 0);
        assert_int_equal(mt.tokens, B * T - 2);
    }
    assert_true(vaegan_n_params_disc(m) > 0 && vaegan_n_params_vae(m) > vaegan_n_params_disc(m));
    /* bad sizes are refused */
    assert_int_equal(vaegan_train_step(m, in, tg, B, 6, 3, 5, NULL), -1);
    assert_int_equal(vaegan_train_step(m, in, tg, B + 1, T, 3, 5, NULL), -1);
    vaegan_free(m);
}


/* Two identical models, one with the adversarial terms weighted 0: after a
 * step, the decoder embedding and the encoder differ, so the adversarial
 * gradient reached both. eps = 1 keeps AdamW's first update proportional to
 * the gradient (not its sign). */
static void test_adversarial_gradient_reaches_decoder_and_encoder(void **state)
{
    (void)state;
    vaegan_config g0 = tiny_gan(), g1 = tiny_gan();
    g0.opt.eps = g1.opt.eps = 1.0f;
    g0.adv_weight = 0, g0.fm_weight = 0;
    g1.adv_weight = 1, g1.adv_weight_max = 1e4f, g1.fm_weight = 0;
    vaegan *a = make(&g0, 3), *b = make(&g1, 3);
    int32_t in[B * T], tg[B * T];
    batch(in, tg, 0);
    vaegan_metrics ma, mb;
    assert_int_equal(vaegan_train_step(a, in, tg, B, T, 0, 9, &ma), 0);
    assert_int_equal(vaegan_train_step(b, in, tg, B, T, 0, 9, &mb), 0);
    assert_true(ma.recon == mb.recon);
    assert_true(mb.adv_weight > 0);
    const char *names[] = {"dec.wte.weight", "dec.blocks.0.mlp.fc1.weight", "enc.wte.weight", "latent.global.mu.weight",
                           "latent.fine.proj.weight"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const nn_tensor *ta = vae_tensor_find(vaegan_vae(a), names[i]);
        const nn_tensor *tb = vae_tensor_find(vaegan_vae(b), names[i]);
        if (!ta) fprintf(stderr, "missing %s\n", names[i]);
        assert_non_null(ta);
        double d = max_diff(ta->param, tb->param, ta->numel);
        if (!(d > 0)) fprintf(stderr, "%s unchanged by the adversarial term\n", names[i]);
        assert_true(d > 0);
    }
    vaegan_free(a);
    vaegan_free(b);
}

static void test_n_critic_schedule(void **state)
{
    (void)state;
    vaegan_config gc = tiny_gan();
    gc.start_step = 1;
    model_config mc = tiny_model();
    vae_config vc = tiny_vae();
    disc_config dc = tiny_disc();
    dc.n_critic = 3;
    vaegan *m;
    char err[AURL_ERR_LEN];
    assert_int_equal(vaegan_create(&m, &mc, &vc, &dc, &gc, B, T, 1, err), 0);
    int32_t in[B * T], tg[B * T];
    int expect_g[7] = {0, 1, 0, 0, 1, 0, 0};
    for (int s = 0; s < 7; s++) {
        batch(in, tg, s);
        vaegan_metrics mt;
        assert_int_equal(vaegan_train_step(m, in, tg, B, T, s, 5, &mt), 0);
        assert_int_equal(mt.gan_on, s >= 1);
        assert_int_equal(mt.g_update, expect_g[s]);
        assert_int_equal(vaegan_disc_opt(m)->step, s); /* D steps on every GAN step */
        assert_int_equal(vaegan_opt(m)->step, s + 1);
    }
    vaegan_free(m);
}

static void assert_same_weights(vaegan *a, vaegan *b)
{
    for (int i = 0; i < vae_n_tensors(vaegan_vae(a)); i++) {
        const nn_tensor *x = vae_tensor_at(vaegan_vae(a), i), *y = vae_tensor_at(vaegan_vae(b), i);
        assert_memory_equal(x->param, y->param, x->numel * sizeof(float));
    }
    for (int i = 0; i < disc_n_tensors(vaegan_disc(a)); i++) {
        const nn_tensor *x = disc_tensor_at(vaegan_disc(a), i), *y = disc_tensor_at(vaegan_disc(b), i);
        assert_memory_equal(x->param, y->param, x->numel * sizeof(float));
    }
}

static void test_save_load_next_step_identical(void **state)
{
    (void)state;
    vaegan_config gc = tiny_gan();
    gc.tau_anneal_steps = 10;
    vaegan *a = make(&gc, 1), *b = make(&gc, 77);
    int32_t in[B * T], tg[B * T];
    for (int s = 0; s < 3; s++) {
        batch(in, tg, s);
        assert_int_equal(vaegan_train_step(a, in, tg, B, T, s, 5, NULL), 0);
    }
    const char *path = testutil_path("vg.ckpt");
    char err[AURL_ERR_LEN];
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddNumberToObject(meta, "step", 3);
    assert_int_equal(vaegan_save(path, a, meta, err), 0);
    cJSON_Delete(meta);
    cJSON *back;
    assert_int_equal(vaegan_load(path, b, 1, &back, err), 0);
    assert_int_equal((int)cJSON_GetObjectItem(back, "step")->valuedouble, 3);
    cJSON_Delete(back);
    assert_same_weights(a, b);
    for (int s = 3; s < 5; s++) {
        batch(in, tg, s);
        vaegan_metrics ma, mb;
        assert_int_equal(vaegan_train_step(a, in, tg, B, T, s, 5, &ma), 0);
        assert_int_equal(vaegan_train_step(b, in, tg, B, T, s, 5, &mb), 0);
        assert_memory_equal(&ma, &mb, sizeof ma);
    }
    assert_same_weights(a, b);
    /* a checkpoint of the other mode is refused */
    vaegan_config plain = tiny_gan();
    plain.use_gan = 0;
    vaegan *c = make(&plain, 1);
    assert_int_equal(vaegan_load(path, c, 1, NULL, err), -1);
    assert_non_null(strstr(err, "mode"));
    assert_null(vaegan_disc(c));
    assert_int_equal(vaegan_n_params_disc(c), 0);
    vaegan_free(c);
    vaegan_free(a);
    vaegan_free(b);
}

static void test_decoder_from_transformer_checkpoint(void **state)
{
    (void)state;
    model_config mc = tiny_model();
    transformer *t;
    char err[AURL_ERR_LEN];
    assert_int_equal(transformer_create(&t, &mc, B, T, 4242, err), 0);
    const char *path = testutil_path("stage2.ckpt");
    assert_int_equal(model_ckpt_save(path, t, NULL, NULL, err), 0);
    vaegan_config gc = tiny_gan();
    vaegan *m = make(&gc, 1);
    const nn_tensor *enc = vae_tensor_find(vaegan_vae(m), "enc.wte.weight");
    float before = enc->param[5];
    assert_int_equal(vaegan_load_decoder_from(m, path, err), 0);
    transformer *dec = vaegan_decoder(m);
    assert_int_equal(transformer_n_tensors(dec), transformer_n_tensors(t));
    for (int i = 0; i < transformer_n_tensors(t); i++)
        assert_memory_equal(transformer_tensor_at(dec, i)->param, transformer_tensor_at(t, i)->param,
                            transformer_tensor_at(t, i)->numel * sizeof(float));
    assert_true(enc->param[5] == before); /* the encoder keeps its fresh weights */
    assert_int_equal(vaegan_load_decoder_from(m, testutil_path("missing.ckpt"), err), -1);
    transformer_free(t);
    vaegan_free(m);
}

static void test_eval_deterministic(void **state)
{
    (void)state;
    int32_t in[B * T], tg[B * T];
    vaegan *m = trained_once(in, tg);
    double r1, k1, r2, k2;
    int n;
    double v1 = vaegan_eval(m, in, tg, B, T, &r1, &k1, &n);
    double v2 = vaegan_eval(m, in, tg, B, T, &r2, &k2, NULL);
    assert_true(isfinite(v1) && v1 == v2 && r1 == r2 && k1 == k2);
    assert_true(k1 >= 0 && fabs(v1 - (r1 + k1 / T)) < 1e-9);
    assert_int_equal(n, B * T - 2);
    assert_true(isnan(vaegan_eval(m, in, tg, B, 6, NULL, NULL, NULL)));
    vaegan_free(m);
}

static void test_configs_and_inference_vae_from_checkpoint(void **state)
{
    (void)state;
    int32_t in[B * T], tg[B * T];
    vaegan *m = trained_once(in, tg);
    const char *path = testutil_path("inf.ckpt");
    char err[AURL_ERR_LEN];
    assert_int_equal(vaegan_save(path, m, NULL, err), 0);
    model_config mc;
    vae_config vc;
    disc_config dc;
    int use_gan;
    assert_int_equal(vaegan_read_configs(path, &mc, &vc, &dc, &use_gan, err), 0);
    model_config emc = tiny_model();
    vae_config evc = tiny_vae();
    disc_config edc = tiny_disc();
    assert_int_equal(use_gan, 1);
    assert_int_equal(mc.d_model, emc.d_model);
    assert_int_equal(mc.d_ff, emc.d_ff);
    assert_int_equal(vc.enc_layers, evc.enc_layers);
    assert_memory_equal(vc.latent_dim, evc.latent_dim, sizeof vc.latent_dim);
    assert_memory_equal(vc.n_segments, evc.n_segments, sizeof vc.n_segments);
    assert_int_equal(vc.beta.warmup_steps, evc.beta.warmup_steps);
    assert_int_equal(dc.n_scales, edc.n_scales);
    assert_int_equal(dc.scales[1], edc.scales[1]);
    assert_int_equal(dc.hidden, edc.hidden);
    vae *v;
    assert_int_equal(vaegan_load_vae_for_inference(path, 1, T, &v, err), 0);
    for (int i = 0; i < vae_n_tensors(v); i++)
        assert_memory_equal(vae_tensor_at(v, i)->param, vae_tensor_at(vaegan_vae(m), i)->param,
                            vae_tensor_at(v, i)->numel * sizeof(float));
    vae_free(v);
    /* not a vaegan checkpoint */
    transformer *t;
    assert_int_equal(transformer_create(&t, &emc, 1, T, 1, err), 0);
    const char *tp = testutil_path("t.ckpt");
    assert_int_equal(model_ckpt_save(tp, t, NULL, NULL, err), 0);
    assert_int_equal(vaegan_read_configs(tp, &mc, &vc, &dc, &use_gan, err), -1);
    assert_int_equal(vaegan_load_vae_for_inference(tp, 1, T, &v, err), -1);
    transformer_free(t);
    vaegan_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_step_metrics_finite),
        cmocka_unit_test(test_adversarial_gradient_reaches_decoder_and_encoder),
        cmocka_unit_test(test_n_critic_schedule),
        cmocka_unit_test(test_save_load_next_step_identical),
        cmocka_unit_test(test_decoder_from_transformer_checkpoint),
        cmocka_unit_test(test_eval_deterministic),
        cmocka_unit_test(test_configs_and_inference_vae_from_checkpoint),
        cmocka_unit_test(test_accumulated_matches_full_batch_vae_gan),
        cmocka_unit_test(test_accumulated_matches_full_batch_vae),
    };
    return cmocka_run_group_tests(tests, setup, testutil_tmpdir_teardown);
}
