/* Tests of the Transformer model (src/engine/transformer.c): finite-
 * difference gradients of the whole model for every attention variant,
 * agreement with the PyTorch reference fixture (logits, loss, every
 * gradient, a 10-step AdamW loss curve), causality, batch-size handling,
 * robustness to bad tokens, and the parameter table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/nn/adamw.h"
#include "util/rng.h"
#include "engine/model/transformer.h"
#include "gradcheck.h"
#include "ref_fixture.h"
#include "util/fileio.h"

#define FIXTURE "tests/fixtures/transformer_ref.bin"

/* ---- helpers --------------------------------------------------------- */

static model_config tiny_config(attn_kind kind, int window, int stride, int learned, float dropout)
{
    model_config c;
    memset(&c, 0, sizeof c);
    c.vocab_size = 40;
    c.d_model = 16;
    c.n_layers = 2;
    c.n_heads = 2;
    c.d_ff = 32;
    c.max_seq_len = 8;
    c.attn.kind = kind;
    c.attn.window = window;
    c.attn.stride = stride;
    c.dropout = dropout;
    c.positions = (model_pos)learned;
    return c;
}

static transformer *make(const model_config *c, int B, int T, uint64_t seed)
{
    transformer *m;
    char err[AURL_ERR_LEN];
    int rc = transformer_create(&m, c, B, T, seed, err);
    if (rc != 0) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
    return m;
}

/* ---- finite differences ----------------------------------------------- */

typedef struct {
    transformer *m;
    const int32_t *in, *tg;
    int B, T, training;
} fd_ctx;

static double fd_loss(fd_ctx *c) { return transformer_forward(c->m, c->in, c->tg, c->B, c->T, c->training, 77); }

/* Central-difference check of a sample of every tensor's gradient. */
static void check_model_gradients(const model_config *cfg, const char *label)
{
    const int B = 2, T = 8;
    transformer *m = make(cfg, B, T, 5);
    /* larger weights than the init so gradients stand well above float noise */
    rng_state r;
    rng_seed(&r, 99);
    for (int i = 0; i < transformer_n_tensors(m); i++) gc_randomize_tensor(transformer_tensor_at(m, i), &r, 0.25f);
    int32_t in[16], tg[16];
    gc_tokens(in, B * T, cfg->vocab_size, 1);
    gc_tokens(tg, B * T, cfg->vocab_size, 2);
    tg[3] = 2; /* PAD targets are ignored */
    tg[12] = 2;
    fd_ctx ctx = {m, in, tg, B, T, cfg->dropout > 0};
    transformer_zero_grad(m);
    fd_loss(&ctx);
    transformer_backward(m);
    double worst_vec = 0.0;
    for (int i = 0; i < transformer_n_tensors(m); i++) {
        const nn_tensor *t = transformer_tensor_at(m, i);
        double num = 0.0, den = 0.0;
        int bad = 0;
        for (int s = 0; s < 6; s++) {
            size_t j = s == 0 ? 0 : s == 1 ? t->numel - 1 : (size_t)rng_below(&r, t->numel);
            if (!strcmp(t->name, "wte.weight") && s < 4) j = (size_t)in[s * 3] * cfg->d_model + (size_t)s; /* rows in use */
            float x0 = t->param[j];
            const float h = 1e-2f;
            t->param[j] = x0 + h;
            double fp = fd_loss(&ctx);
            double hp = (double)t->param[j] - x0;
            t->param[j] = x0 - h;
            double fm = fd_loss(&ctx);
            double hm = x0 - (double)t->param[j];
            t->param[j] = x0;
            double fd = (fp - fm) / (hp + hm);
            double g = t->grad[j];
            num += (g - fd) * (g - fd);
            den += g * g + fd * fd;
            if (fabs(g - fd) > 3e-2 * (fabs(g) + fabs(fd)) + 1e-4) {
                printf("  %s %s[%zu]: analytic %.6g numeric %.6g\n", label, t->name, j, g, fd);
                bad = 1;
            }
        }
        double rel = sqrt(num / (den + 1e-30));
        if (rel > worst_vec) worst_vec = rel;
        if (rel > 1e-2 || bad) printf("  %s %s: sample rel err %.3g\n", label, t->name, rel);
        assert_true(den > 1e-10); /* the sampled gradient is not trivially zero */
        assert_true(rel < 1e-2);
        assert_false(bad);
    }
    printf("  gradcheck %-28s worst per-tensor rel err %.2e over %d tensors\n", label, worst_vec,
           transformer_n_tensors(m));
    transformer_free(m);
}

static void test_gradcheck_full(void **state)
{
    (void)state;
    model_config c = tiny_config(ATTN_FULL, 256, 64, 1, 0.0f);
    check_model_gradients(&c, "full/learned");
}

static void test_gradcheck_sliding(void **state)
{
    (void)state;
    model_config c = tiny_config(ATTN_SLIDING, 3, 64, 1, 0.0f);
    check_model_gradients(&c, "sliding W=3/learned");
}

static void test_gradcheck_hierarchical(void **state)
{
    (void)state;
    model_config c = tiny_config(ATTN_HIERARCHICAL, 2, 2, 0, 0.0f);
    check_model_gradients(&c, "hierarchical W=2 s=2/sinusoidal");
}

/* Rotary positions (no table; q, k rotated in every block), each variant. */
static void test_gradcheck_rotary(void **state)
{
    (void)state;
    model_config c = tiny_config(ATTN_FULL, 256, 64, POS_ROTARY, 0.0f);
    check_model_gradients(&c, "full/rotary");
    c = tiny_config(ATTN_SLIDING, 3, 64, POS_ROTARY, 0.0f);
    check_model_gradients(&c, "sliding W=3/rotary");
    c = tiny_config(ATTN_HIERARCHICAL, 2, 2, POS_ROTARY, 0.0f);
    check_model_gradients(&c, "hierarchical W=2 s=2/rotary");
}

static void test_gradcheck_dropout(void **state)
{
    (void)state;
    model_config c = tiny_config(ATTN_FULL, 256, 64, 1, 0.2f);
    check_model_gradients(&c, "full/learned/dropout 0.2");
}

/* ---- PyTorch fixture ---------------------------------------------------- */

#define REF_REL_TOL 1e-4

static void check_variant(const ref_file *f, const char *v, int store_logits)
{
    const float *cf = ref_get(f, "config", 0)->data;
    char nm[160];
    snprintf(nm, sizeof nm, "%s/attn", v);
    const float *at = ref_get(f, nm, 0)->data;
    model_config c;
    memset(&c, 0, sizeof c);
    c.vocab_size = (int)cf[0];
    c.d_model = (int)cf[1];
    c.n_layers = (int)cf[2];
    c.n_heads = (int)cf[3];
    c.d_ff = (int)cf[4];
    c.max_seq_len = (int)cf[5];
    c.attn.kind = (attn_kind)(int)at[0];
    c.attn.window = (int)at[1];
    c.attn.stride = (int)at[2];
    c.positions = (model_pos)(int)at[3];
    int B = (int)cf[6], T = (int)cf[7], N = B * T;
    transformer *m = make(&c, B, T, 1);
    for (int i = 0; i < transformer_n_tensors(m); i++) {
        const nn_tensor *t = transformer_tensor_at(m, i);
        snprintf(nm, sizeof nm, "weights/%s", t->name);
        const ref_tensor *r = ref_get(f, nm, 0);
        assert_int_equal(r->numel, t->numel);
        for (int d = 0; d < t->ndims; d++) assert_int_equal(r->dims[d], t->dims[d]);
        memcpy(t->param, r->data, t->numel * sizeof(float));
    }
    int32_t *in = malloc(N * sizeof *in), *tg = malloc(N * sizeof *tg);
    for (int i = 0; i < N; i++) {
        in[i] = (int32_t)ref_get(f, "inputs", 0)->data[i];
        tg[i] = (int32_t)ref_get(f, "targets", 0)->data[i];
    }
    transformer_zero_grad(m);
    float loss = transformer_forward(m, in, tg, B, T, 1, 0);
    snprintf(nm, sizeof nm, "%s/loss", v);
    float ref_loss = ref_get(f, nm, 0)->data[0];
    printf("  [%s] loss %.7f ref %.7f (abs err %.2e)\n", v, loss, ref_loss, fabs(loss - ref_loss));
    assert_true(fabs(loss - ref_loss) < 1e-5);
    double abs_err, rel;
    if (store_logits) {
        snprintf(nm, sizeof nm, "%s/logits", v);
        const ref_tensor *r = ref_get(f, nm, 0);
        assert_int_equal(r->numel, (size_t)N * c.vocab_size);
        rel = ref_compare(transformer_logits(m), r->data, r->numel, &abs_err);
        printf("  [%s] %-28s max abs err %.2e  rel %.2e\n", v, "logits", abs_err, rel);
        assert_true(rel < REF_REL_TOL);
    }
    transformer_backward(m);
    double worst = 0.0;
    for (int i = 0; i < transformer_n_tensors(m); i++) {
        const nn_tensor *t = transformer_tensor_at(m, i);
        snprintf(nm, sizeof nm, "%s/grad/%s", v, t->name);
        const ref_tensor *r = ref_get(f, nm, 0);
        assert_int_equal(r->numel, t->numel);
        rel = ref_compare(t->grad, r->data, t->numel, &abs_err);
        printf("  [%s] grad %-23s max abs err %.2e  rel %.2e\n", v, t->name, abs_err, rel);
        if (rel > worst) worst = rel;
        assert_true(rel < REF_REL_TOL);
    }
    printf("  [%s] worst gradient rel err %.2e (tolerance %.0e)\n", v, worst, REF_REL_TOL);

    /* 10 AdamW steps with the reference's hyper-parameters */
    const float *o = ref_get(f, "optim", 0)->data;
    adamw_config oc = adamw_default_config(o[0], o[1], (long)o[2], (long)o[3]);
    oc.beta1 = o[4];
    oc.beta2 = o[5];
    oc.eps = o[6];
    oc.weight_decay = o[7];
    oc.grad_clip = o[8];
    int steps = (int)o[9];
    adamw opt;
    adamw_init(&opt, &oc);
    snprintf(nm, sizeof nm, "%s/losses", v);
    const float *rl = ref_get(f, nm, 0)->data;
    snprintf(nm, sizeof nm, "%s/gradnorms", v);
    const float *rn = ref_get(f, nm, 0)->data;
    transformer_zero_grad(m);
    int clipped = 0;
    double worst_loss = 0.0;
    for (int s = 0; s < steps; s++) {
        float l = transformer_forward(m, in, tg, B, T, 1, 0);
        transformer_backward(m);
        adamw_result res = transformer_step(m, &opt, l);
        assert_false(res.skipped);
        if (res.grad_norm > oc.grad_clip) clipped++;
        printf("  [%s] step %d loss %.6f ref %.6f  grad norm %.5f ref %.5f  lr %.2e\n", v, s, l, rl[s],
               res.grad_norm, rn[s], res.lr);
        if (fabs(l - rl[s]) > worst_loss) worst_loss = fabs(l - rl[s]);
        assert_true(fabs(l - rl[s]) < 1e-4);
        assert_true(fabs(res.grad_norm - rn[s]) < 1e-4 * rn[s]);
    }
    assert_true(clipped > 0); /* the clipping path was exercised */
    assert_true(rl[steps - 1] < rl[0] - 0.5f);
    printf("  [%s] 10-step loss curve worst abs err %.2e (tolerance 1e-4)\n", v, worst_loss);
    free(in);
    free(tg);
    transformer_free(m);
}

static void test_pytorch_reference(void **state)
{
    (void)state;
    static ref_file f;
    ref_load(&f, FIXTURE);
    check_variant(&f, "full", 1);
    check_variant(&f, "sliding", 0);
    check_variant(&f, "hier", 0);
    check_variant(&f, "rot_full", 1);
    check_variant(&f, "rot_sliding", 0);
    check_variant(&f, "rot_hier", 0);
    ref_free(&f);
}

/* ---- behaviour -------------------------------------------------------- */

static void test_causal(void **state)
{
    (void)state;
    attn_kind kinds[3] = {ATTN_FULL, ATTN_SLIDING, ATTN_HIERARCHICAL};
    for (int k = 0; k < 6; k++) { /* learned, then rotary positions */
        model_config c = tiny_config(kinds[k % 3], 3, 2, k < 3 ? POS_LEARNED : POS_ROTARY, 0.0f);
        transformer *m = make(&c, 1, 8, 3);
        int32_t a[8], b[8];
        gc_tokens(a, 8, c.vocab_size, 10);
        memcpy(b, a, sizeof a);
        b[5] = (a[5] + 1) % c.vocab_size;
        b[7] = (a[7] + 7) % c.vocab_size;
        size_t nl = (size_t)8 * c.vocab_size;
        float *la = malloc(nl * sizeof(float));
        transformer_forward(m, a, NULL, 1, 8, 0, 0);
        memcpy(la, transformer_logits(m), nl * sizeof(float));
        transformer_forward(m, b, NULL, 1, 8, 0, 0);
        const float *lb = transformer_logits(m);
        for (size_t i = 0; i < (size_t)5 * c.vocab_size; i++) assert_true(fabsf(la[i] - lb[i]) <= 1e-6f);
        double diff = 0;
        for (size_t i = (size_t)5 * c.vocab_size; i < nl; i++) diff += fabsf(la[i] - lb[i]);
        assert_true(diff > 1e-4); /* later positions do change */
        free(la);
        transformer_free(m);
    }
}

/* A smaller (B, T) than created gives the same result as a model created
 * for exactly that size (same seed), and is position-consistent. */
static void test_smaller_batch(void **state)
{
    (void)state;
    model_config c = tiny_config(ATTN_FULL, 4, 2, 1, 0.0f);
    transformer *big = make(&c, 3, 8, 11), *small = make(&c, 2, 5, 11);
    int32_t in[10], tg[10];
    gc_tokens(in, 10, c.vocab_size, 4);
    gc_tokens(tg, 10, c.vocab_size, 5);
    float l1 = transformer_forward(big, in, tg, 2, 5, 1, 0);
    float l2 = transformer_forward(small, in, tg, 2, 5, 1, 0);
    assert_true(fabsf(l1 - l2) < 1e-6f);
    transformer_backward(big);
    transformer_backward(small);
    for (int i = 0; i < transformer_n_tensors(big); i++) {
        const nn_tensor *a = transformer_tensor_at(big, i), *b = transformer_tensor_at(small, i);
        double e;
        ref_compare(a->grad, b->grad, a->numel, &e);
        assert_true(e < 1e-6);
    }
    /* too large a batch is refused, not crashed on */
    assert_true(isnan(transformer_forward(small, in, tg, 3, 5, 1, 0)));
    assert_true(isnan(transformer_forward(small, in, tg, 2, 6, 1, 0)));
    transformer_free(big);
    transformer_free(small);
}

static void test_bad_tokens_and_all_pad(void **state)
{
    (void)state;
    model_config c = tiny_config(ATTN_SLIDING, 3, 2, 0, 0.1f);
    transformer *m = make(&c, 1, 8, 2);
    int32_t in[8] = {-5, 1000000, 4, 2, 3, INT32_MAX, INT32_MIN, 39};
    int32_t tg[8] = {2, 2, 2, 2, 2, 2, 2, 2};
    transformer_zero_grad(m);
    float l = transformer_forward(m, in, tg, 1, 8, 1, 9);
    assert_true(l == 0.0f);
    assert_int_equal(transformer_target_count(m), 0);
    transformer_backward(m);
    const float *g = transformer_grads(m);
    for (size_t i = 0; i < transformer_n_params(m); i++) assert_true(g[i] == 0.0f);
    int32_t tg2[8] = {5, -1, 774, 7, 2, 9, 1, 0}; /* out-of-range targets are ignored like PAD */
    l = transformer_forward(m, in, tg2, 1, 8, 1, 9);
    assert_true(isfinite(l) && l > 0.0f);
    assert_int_equal(transformer_target_count(m), 5);
    transformer_free(m);
}

static void test_param_table(void **state)
{
    (void)state;
    model_config c = tiny_config(ATTN_FULL, 4, 2, 1, 0.0f);
    transformer *m = make(&c, 2, 8, 1);
    size_t total = 0;
    for (int i = 0; i < transformer_n_tensors(m); i++) {
        const nn_tensor *t = transformer_tensor_at(m, i);
        assert_ptr_equal(t->param, transformer_params(m) + t->offset);
        assert_ptr_equal(t->grad, transformer_grads(m) + t->offset);
        assert_ptr_equal(t->m, transformer_adam_m(m) + t->offset);
        assert_ptr_equal(t->v, transformer_adam_v(m) + t->offset);
        assert_int_equal(t->offset, total);
        assert_int_equal(t->decay, t->ndims == 2);
        total += t->numel;
    }
    assert_int_equal(total, transformer_n_params(m));
    assert_int_equal(total, transformer_count_params(&c));
    assert_int_equal(transformer_n_tensors(m), 2 + 12 * 2 + 2);
    const nn_tensor *q = transformer_tensor_find(m, "blocks.1.attn.qkv.weight");
    assert_non_null(q);
    assert_int_equal(q->dims[0], 48);
    assert_int_equal(q->dims[1], 16);
    assert_null(transformer_tensor_find(m, "nope"));
    /* init statistics: wte ~ N(0, 0.02), proj scaled by 1/sqrt(2L), LN 1/0, biases 0 */
    const nn_tensor *wte = transformer_tensor_find(m, "wte.weight");
    double s2 = 0;
    for (size_t i = 0; i < wte->numel; i++) s2 += (double)wte->param[i] * wte->param[i];
    double sd = sqrt(s2 / wte->numel);
    assert_true(sd > 0.018 && sd < 0.022);
    const nn_tensor *pw = transformer_tensor_find(m, "blocks.0.mlp.fc2.weight");
    s2 = 0;
    for (size_t i = 0; i < pw->numel; i++) s2 += (double)pw->param[i] * pw->param[i];
    sd = sqrt(s2 / pw->numel);
    assert_true(sd > 0.007 && sd < 0.013); /* 0.02/sqrt(4) = 0.01 */
    assert_true(transformer_tensor_find(m, "ln_f.weight")->param[3] == 1.0f);
    assert_true(transformer_tensor_find(m, "blocks.0.attn.qkv.bias")->param[5] == 0.0f);
    /* same seed, same weights; different seed, different */
    transformer *m2 = make(&c, 1, 4, 1), *m3 = make(&c, 1, 4, 2);
    assert_memory_equal(transformer_params(m), transformer_params(m2), total * sizeof(float));
    assert_true(memcmp(transformer_params(m), transformer_params(m3), total * sizeof(float)) != 0);
    transformer_free(m);
    transformer_free(m2);
    transformer_free(m3);
    /* invalid configs are rejected with a message */
    char err[AURL_ERR_LEN];
    transformer *bad = NULL;
    c.n_heads = 3;
    assert_int_equal(transformer_create(&bad, &c, 1, 4, 1, err), -1);
    assert_null(bad);
    assert_non_null(strstr(err, "n_heads"));
    c.n_heads = 2;
    assert_int_equal(transformer_create(&bad, &c, 1, 9, 1, err), -1); /* T > max_seq_len */
    assert_int_equal(transformer_create(&bad, &c, 1 << 23, 8, 1, err), -1); /* int-indexed activations overflow */
    assert_non_null(strstr(err, "too large"));
    assert_null(bad);
}

/* Training on a fixed batch reduces the loss; a NaN loss is skipped. */
static void test_training_and_nan_guard(void **state)
{
    (void)state;
    model_config c = tiny_config(ATTN_FULL, 4, 2, 1, 0.0f);
    transformer *m = make(&c, 2, 8, 1);
    int32_t in[16], tg[16];
    gc_tokens(in, 16, c.vocab_size, 21);
    gc_tokens(tg, 16, c.vocab_size, 22);
    adamw_config oc = adamw_default_config(1e-2f, 1e-3f, 5, 50);
    adamw opt;
    adamw_init(&opt, &oc);
    float first = 0, last = 0;
    for (int s = 0; s < 50; s++) {
        float l = transformer_forward(m, in, tg, 2, 8, 1, (uint64_t)s);
        transformer_backward(m);
        adamw_result r = transformer_step(m, &opt, l);
        assert_false(r.skipped);
        if (s == 0) first = l;
        last = l;
    }
    assert_true(last < 0.5f * first);
    size_t n = transformer_n_params(m);
    float *before = malloc(n * sizeof(float));
    memcpy(before, transformer_params(m), n * sizeof(float));
    transformer_forward(m, in, tg, 2, 8, 1, 0);
    transformer_backward(m);
    adamw_result r = transformer_step(m, &opt, NAN);
    assert_true(r.skipped);
    assert_true(r.lr_mult == 0.5f);
    assert_memory_equal(before, transformer_params(m), n * sizeof(float));
    for (size_t i = 0; i < n; i++) assert_true(transformer_grads(m)[i] == 0.0f);
    free(before);
    transformer_free(m);
}

/* A NaN weight (a diverged model, or a checkpoint saved from one) must give
 * a NaN loss, so evaluation cannot report it as a finite "best" model, and
 * its non-finite gradient must make the optimiser skip the step. */
static void test_nan_weights_poison_loss(void **state)
{
    (void)state;
    attn_kind kinds[3] = {ATTN_FULL, ATTN_SLIDING, ATTN_HIERARCHICAL};
    const char *where[] = {"blocks.0.ln1.weight", "blocks.1.attn.qkv.weight", "ln_f.bias"};
    for (int k = 0; k < 3; k++) {
        model_config c = tiny_config(kinds[k], 3, 2, 1, 0.0f);
        transformer *m = make(&c, 2, 8, 4);
        int32_t in[16], tg[16];
        gc_tokens(in, 16, c.vocab_size, 31);
        gc_tokens(tg, 16, c.vocab_size, 32);
        assert_true(isfinite(transformer_forward(m, in, tg, 2, 8, 1, 0)));
        volatile float zero = 0.0f;
        float nan_default = zero / zero; /* the CPU's default NaN (negative on x86) */
        transformer_tensor_find(m, where[k])->param[1] = k == 1 ? -nan_default : nan_default;
        float l = transformer_forward(m, in, tg, 2, 8, 0, 0);
        if (!isnan(l)) printf("  NaN in %s gave loss %g\n", where[k], l);
        assert_true(isnan(l));
        adamw_config oc = adamw_default_config(1e-3f, 1e-4f, 0, 10);
        adamw opt;
        adamw_init(&opt, &oc);
        transformer_forward(m, in, tg, 2, 8, 1, 0);
        transformer_backward(m);
        assert_true(transformer_step(m, &opt, 1.0f).skipped); /* finite loss, NaN gradients */
        transformer_free(m);
    }
}

static void test_flops(void **state)
{
    (void)state;
    model_config c = tiny_config(ATTN_FULL, 4, 2, 1, 0.0f);
    c.vocab_size = 10;
    c.d_model = 4;
    c.d_ff = 8;
    c.n_layers = 1;
    /* matmul MACs 4*16 + 2*32 + 40 = 168; attention 2*4*mean keys (T=3: 2) = 16 */
    assert_true(fabs(transformer_flops_per_token(&c, 3) - 6.0 * (168 + 16)) < 1e-9);
    c.attn.kind = ATTN_SLIDING;
    c.attn.window = 2; /* keys 1,2,2 -> mean 5/3 */
    assert_true(fabs(transformer_flops_per_token(&c, 3) - 6.0 * (168 + 8.0 * 5 / 3)) < 1e-9);
    c.attn.kind = ATTN_HIERARCHICAL;
    c.attn.window = 1;
    c.attn.stride = 1; /* keys: window 1 + all earlier = t+1 -> same as full */
    c.attn.kind = ATTN_FULL;
    double full = transformer_flops_per_token(&c, 6);
    c.attn.kind = ATTN_HIERARCHICAL;
    assert_true(fabs(transformer_flops_per_token(&c, 6) - full) < 1e-9);
    /* an unvalidated config never divides by zero; its parameter count is 0 */
    c.attn.stride = 0;
    c.attn.window = 0;
    assert_true(isfinite(transformer_flops_per_token(&c, 6)));
    assert_true(transformer_count_params(&c) == 0);
    c.attn.stride = 1;
    c.attn.window = 1;
    assert_true(transformer_count_params(&c) > 0);
    c.n_heads = 3; /* does not divide d_model 4 */
    assert_true(transformer_count_params(&c) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_param_table),
        cmocka_unit_test(test_flops),
        cmocka_unit_test(test_gradcheck_full),
        cmocka_unit_test(test_gradcheck_sliding),
        cmocka_unit_test(test_gradcheck_hierarchical),
        cmocka_unit_test(test_gradcheck_rotary),
        cmocka_unit_test(test_gradcheck_dropout),
        cmocka_unit_test(test_pytorch_reference),
        cmocka_unit_test(test_causal),
        cmocka_unit_test(test_smaller_batch),
        cmocka_unit_test(test_bad_tokens_and_all_pad),
        cmocka_unit_test(test_training_and_nan_guard),
        cmocka_unit_test(test_nan_weights_poison_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
