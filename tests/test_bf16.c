/* Tests of bf16 decoding (engine/nn/bf16, kv_linear_forward_bf16,
 * attn_decode_row_bf16, kv_cache in KV_PREC_BF16): rounding to nearest
 * even with the CPU's subnormal and NaN rules; the vectorised narrowing,
 * the linear kernel, the attention and a whole cache step give the same
 * bits on the dispatched path and with the portable path forced; the
 * kernels stay within stated bounds of the float32 ones; a piece decodes
 * the same alone and in a batch in both precisions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"
#include "engine/model/transformer.h"
#include "engine/nn/attn_decode.h"
#include "engine/nn/bf16.h"
#include "engine/sample/kv_cache.h"
#include "engine/sample/kv_linear.h"
#include "engine/sample/sampler.h"
#include "util/rng.h"

static float *fa(size_t n) { float *p = calloc(n ? n : 1, sizeof *p); assert_non_null(p); return p; }

static float f_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static unsigned long long lcg = 12345;
static float frand(void)
{
    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((lcg >> 40) & 0xFFFFFF) / 16777216.0f * 2.0f - 1.0f;
}

/* Round to nearest, ties to even; subnormals to signed zero; NaN kept quiet. */
static void test_rounding(void **state)
{
    (void)state;
    static const uint32_t in[] = {0x3F800000u, 0x3F808000u, 0x3F818000u, 0x3F808001u, 0x3F807FFFu,
                                  0xBF80C000u, 0x7F7FFFFFu, 0x7F800000u, 0xFF800000u, 0x80000000u,
                                  0x00000001u, 0x807FFFFFu, 0x00800000u, 0x7FC00001u, 0x7F800001u,
                                  0xFFA00000u, 0x3EAAAAABu};
    static const uint16_t want[] = {0x3F80, 0x3F80, 0x3F82, 0x3F81, 0x3F80, 0xBF81, 0x7F80, 0x7F80, 0xFF80,
                                    0x8000, 0x0000, 0x8000, 0x0080, 0x7FC0, 0x7FC0, 0xFFE0, 0x3EAB};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        uint16_t h = bf16_from_f32(f_of(in[i]));
        if (h != want[i]) fail_msg("bf16(%08x) = %04x, want %04x", in[i], h, want[i]);
    }
    assert_true(bf16_to_f32(0x3F80) == 1.0f);
    assert_true(bf16_to_f32(0xC2F7) == -123.5f);
    /* the error of a normal value is at most half a unit of its 8 significant bits: 2^-8 of it */
    for (int i = 0; i < 10000; i++) {
        float x = frand() * 1000.0f;
        float r = bf16_to_f32(bf16_from_f32(x));
        assert_true(fabsf(r - x) <= fabsf(x) * 0x1p-8f);
    }
}

/* bf16_from_f32_n: the dispatched loop and the forced-portable one give the
 * scalar's bits, specials included. */
static void test_narrowing_paths(void **state)
{
    (void)state;
    enum { N = 1003 };
    float *x = fa(N);
    uint16_t a[N], b[N];
    for (int i = 0; i < N; i++) {
        uint32_t u = (uint32_t)(lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL) >> 1;
        x[i] = i % 3 ? frand() * 100 : f_of(u ^ ((uint32_t)i << 31)); /* every bit pattern kind */
    }
    bf16_from_f32_n(a, x, N);
    int was = bf16_force_portable(1);
    assert_true(bf16_portable_forced());
    assert_false(bf16_native());
    bf16_from_f32_n(b, x, N);
    bf16_force_portable(was);
    for (int i = 0; i < N; i++) {
        assert_int_equal(a[i], bf16_from_f32(x[i]));
        assert_int_equal(b[i], a[i]);
    }
    free(x);
}

/* kv_linear_forward_bf16 against double products: with the rounded weights
 * within 1e-6 of sum |x w| (float32 accumulation), with the float32 weights
 * within 2^-8 of it (bf16 rounding: half a unit of 8 significant bits) + the same; the portable path gives
 * the same bits; a row alone gives the same bits as in the batch. */
static void check_linear(int N, int C, int OC, int with_bias)
{
    float *x = fa((size_t)N * C), *w = fa((size_t)OC * C), *b = fa((size_t)OC), *o = fa((size_t)N * OC),
          *o2 = fa((size_t)N * OC);
    for (size_t i = 0; i < (size_t)N * C; i++) x[i] = frand();
    for (size_t i = 0; i < (size_t)OC * C; i++) w[i] = frand() * 0.1f;
    for (int i = 0; i < OC; i++) b[i] = frand();
    const float *bias = with_bias ? b : NULL;
    kv_packed16 pk;
    assert_int_equal(kv_linear_pack_bf16(&pk, w, C, OC), 0);
    kv_linear_forward_bf16(o, x, &pk, bias, N);
    for (int n = 0; n < N; n++)
        for (int j = 0; j < OC; j++) {
            double r16 = bias ? b[j] : 0, r32 = r16, mag = bias ? fabs(b[j]) : 0;
            for (int k = 0; k < C; k++) {
                double xk = x[(size_t)n * C + k], wk = w[(size_t)j * C + k];
                r16 += xk * bf16_to_f32(bf16_from_f32((float)wk));
                r32 += xk * wk;
                mag += fabs(xk * wk);
            }
            double got = o[(size_t)n * OC + j];
            if (fabs(got - r16) > 1e-6 * mag + 1e-30 || fabs(got - r32) > (0x1p-8 + 1e-6) * mag + 1e-30)
                fail_msg("N %d C %d OC %d out[%d][%d] = %.9g, want %.9g (bf16 weights) / %.9g", N, C, OC, n, j, got,
                         r16, r32);
        }
    int was = bf16_force_portable(1);
    kv_linear_forward_bf16(o2, x, &pk, bias, N);
    bf16_force_portable(was);
    assert_memory_equal(o, o2, (size_t)N * OC * sizeof(float));
    for (int n = 0; n < N; n++) {
        kv_linear_forward_bf16(o2, x + (size_t)n * C, &pk, bias, 1);
        assert_memory_equal(o2, o + (size_t)n * OC, (size_t)OC * sizeof(float));
    }
    kv_packed16_free(&pk);
    free(x), free(w), free(b), free(o), free(o2);
}

static void test_linear(void **state)
{
    (void)state;
    static const int shapes[][3] = {{1, 256, 768}, {16, 256, 774}, {7, 33, 65}, {5, 1, 1},  {3, 17, 63},
                                    {13, 64, 64},  {6, 100, 129}, {1, 1024, 256}, {11, 5, 200}, {4, 2, 16}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int bias = 0; bias < 2; bias++) check_linear(shapes[s][0], shapes[s][1], shapes[s][2], bias);
}

/* attn_decode_row_bf16: the same bits as its portable path, as the float32
 * kernel on the widened rows (hs % 16 == 0, where both run their vector
 * code), and within 1e-2 (values in [-1, 1]) of the float32 kernel on the
 * unrounded rows. */
static void check_attn(int NH, int hs, const int *lens, int ns)
{
    int C = NH * hs, T = 0;
    for (int i = 0; i < ns; i++) T += lens[i];
    float *k = fa((size_t)T * C), *v = fa((size_t)T * C), *q = fa((size_t)C), *kw = fa((size_t)T * C),
          *vw = fa((size_t)T * C), *o = fa((size_t)C), *o2 = fa((size_t)C), *o3 = fa((size_t)C);
    uint16_t *k16 = malloc((size_t)T * C * 2), *v16 = malloc((size_t)T * C * 2);
    float *sc = fa((size_t)(NH < 64 ? NH : 64) * T);
    assert_non_null(k16);
    assert_non_null(v16);
    for (int i = 0; i < C; i++) q[i] = 2 * frand();
    for (size_t i = 0; i < (size_t)T * C; i++) {
        k[i] = frand(), v[i] = frand();
        k16[i] = bf16_from_f32(k[i]), v16[i] = bf16_from_f32(v[i]);
        kw[i] = bf16_to_f32(k16[i]), vw[i] = bf16_to_f32(v16[i]);
    }
    attn_span sp[ATTN_DECODE_MAX_SPANS], spw[ATTN_DECODE_MAX_SPANS];
    attn_span16 sp16[ATTN_DECODE_MAX_SPANS];
    size_t off = 0;
    for (int i = 0; i < ns; i++, off += (size_t)lens[i - 1] * C) {
        sp[i] = (attn_span){k + off, v + off, lens[i]};
        spw[i] = (attn_span){kw + off, vw + off, lens[i]};
        sp16[i] = (attn_span16){k16 + off, v16 + off, lens[i]};
    }
    attn_decode_row_bf16(o, q, sp16, ns, NH, hs, sc, T);
    attn_decode_row_bf16_portable(o2, q, sp16, ns, NH, hs, sc, T);
    assert_memory_equal(o, o2, (size_t)C * sizeof(float));
    attn_decode_row(o3, q, spw, ns, NH, hs, sc, T); /* the same rows widened: the same arithmetic */
    if (hs % 16 == 0) assert_memory_equal(o, o3, (size_t)C * sizeof(float));
    int was = bf16_force_portable(1);
    attn_decode_row_bf16(o3, q, sp16, ns, NH, hs, sc, T);
    bf16_force_portable(was);
    assert_memory_equal(o, o3, (size_t)C * sizeof(float));
    attn_decode_row(o3, q, sp, ns, NH, hs, sc, T);
    for (int i = 0; i < C; i++) {
        if (fabsf(o[i] - o3[i]) > 1e-2f) fail_msg("NH %d hs %d out[%d] = %g, fp32 %g", NH, hs, i, o[i], o3[i]);
        if (fabsf(o[i] - o2[i]) > 1e-5f) fail_msg("NH %d hs %d portable out[%d] = %g vs %g", NH, hs, i, o2[i], o[i]);
    }
    free(k), free(v), free(q), free(kw), free(vw), free(o), free(o2), free(o3), free(k16), free(v16), free(sc);
}

static void test_attention(void **state)
{
    (void)state;
    static const int l1[] = {1}, l2[] = {37, 5}, l3[] = {8, 300, 17};
    check_attn(4, 64, l1, 1);
    check_attn(4, 64, l3, 3);
    check_attn(2, 16, l2, 2);
    check_attn(3, 32, l3, 3);
    check_attn(5, 12, l2, 2); /* hs % 16 != 0: portable passes everywhere */
    check_attn(2, 48, l3, 3);
    check_attn(1, 256, l3, 3);
    check_attn(70, 16, l2, 2); /* more heads than a group */
}

/* A small model with peaked predictions (weights scaled up), hs = 32 / heads. */
static transformer *small_model(attn_kind kind, uint64_t seed, int heads, model_pos pos)
{
    model_config c = {.vocab_size = TOK_VOCAB_SIZE, .d_model = 32, .n_layers = 2, .n_heads = heads, .d_ff = 64,
                      .max_seq_len = 32, .attn = {kind, 12, 4}, .dropout = 0.0f, .positions = pos};
    char err[AURL_ERR_LEN];
    transformer *m;
    assert_int_equal(transformer_create(&m, &c, 1, 32, seed, err), 0);
    for (int i = 0; i < transformer_n_tensors(m); i++) {
        const nn_tensor *t = transformer_tensor_at(m, i);
        if (t->ndims == 2)
            for (size_t j = 0; j < t->numel; j++) t->param[j] *= 5.0f;
    }
    return m;
}

/* Decode steps of a bf16 cache: the same bits with the portable path
 * forced, and logits within 0.05 + 2% of the fp32 cache's (positions pos;
 * rotary keys are rotated in float32, then rounded as they enter the cache). */
static void check_cache_step(model_pos pos)
{
    transformer *m = small_model(ATTN_HIERARCHICAL, 5, 1, pos);
    char err[AURL_ERR_LEN];
    kv_cache *c32, *c16, *cp;
    assert_int_equal(kv_cache_create_prec(&c32, m, 2, KV_PREC_FP32, err), 0);
    assert_int_equal(kv_cache_create_prec(&c16, m, 2, KV_PREC_BF16, err), 0);
    assert_int_equal(kv_cache_create_prec(&cp, m, 2, KV_PREC_BF16, err), 0);
    assert_int_equal(kv_cache_precision(c16), KV_PREC_BF16);
    assert_int_equal(kv_cache_precision(c32), KV_PREC_FP32);
    int V = TOK_VOCAB_SIZE;
    float *l32 = fa(2 * (size_t)V), *l16 = fa(2 * (size_t)V), *lp = fa(2 * (size_t)V);
    int32_t tok[2] = {TOK_START, TOK_START};
    for (int s = 0; s < 2; s++) {
        assert_int_equal(kv_cache_prefill(c32, s, tok, 1, l32), 0);
        assert_int_equal(kv_cache_prefill(c16, s, tok, 1, l16), 0);
        assert_int_equal(kv_cache_prefill(cp, s, tok, 1, lp), 0);
    }
    for (int t = 1; t < 30; t++) {
        tok[0] = 180 + t, tok[1] = 20 + 7 * t;
        assert_int_equal(kv_cache_step(c32, tok, 2, l32), 0);
        assert_int_equal(kv_cache_step(c16, tok, 2, l16), 0);
        int was = bf16_force_portable(1);
        assert_int_equal(kv_cache_step(cp, tok, 2, lp), 0);
        bf16_force_portable(was);
        assert_memory_equal(l16, lp, 2 * (size_t)V * sizeof(float));
        for (int i = 0; i < 2 * V; i++)
            if (fabsf(l16[i] - l32[i]) > 0.05f + 0.02f * fabsf(l32[i]))
                fail_msg("step %d logit %d: bf16 %g, fp32 %g", t, i, l16[i], l32[i]);
    }
    kv_cache_free(c32), kv_cache_free(c16), kv_cache_free(cp);
    free(l32), free(l16), free(lp);
    transformer_free(m);
}

static void test_cache_step(void **state)
{
    (void)state;
    check_cache_step(POS_LEARNED);
    check_cache_step(POS_ROTARY);
}

/* A batch of pieces decodes as each piece alone, in both precisions, with
 * a context that slides; bf16 with the portable path forced too. */
static void check_batch_equals_alone(model_pos pos)
{
    transformer *m = small_model(ATTN_HIERARCHICAL, 13, 1, pos);
    int32_t prefix[4] = {TOK_INSTRUMENT + 2, 200, 50, 700};
    char err[AURL_ERR_LEN];
    for (int run = 0; run < 3; run++) {
        sampler_settings s;
        sampler_settings_default(&s);
        s.precision = run ? KV_PREC_BF16 : KV_PREC_FP32;
        s.max_tokens = 70;
        s.min_tokens = 5;
        s.seed = 40 + (uint64_t)run;
        int was = bf16_force_portable(run == 2);
        enum { NP = 4 };
        sampler_result b[NP];
        assert_int_equal(sampler_generate_batch(m, &s, prefix, 4, NULL, 0, NP, NULL, NULL, b, err), 0);
        for (int i = 0; i < NP; i++) {
            sampler_settings si = s;
            si.seed = s.seed + (uint64_t)i;
            sampler_result a;
            assert_int_equal(sampler_generate(m, &si, prefix, 4, NULL, 0, NULL, NULL, &a, err), 0);
            assert_int_equal(a.n_tokens, b[i].n_tokens);
            assert_memory_equal(a.tokens, b[i].tokens, (size_t)a.n_tokens * sizeof(int32_t));
            sampler_result_free(&a);
            sampler_result_free(&b[i]);
        }
        bf16_force_portable(was);
    }
    transformer_free(m);
}

static void test_batch_equals_alone(void **state)
{
    (void)state;
    check_batch_equals_alone(POS_LEARNED);
    check_batch_equals_alone(POS_ROTARY);
}

/* Names and the default. */
static void test_precision_names(void **state)
{
    (void)state;
    kv_precision p;
    assert_int_equal(kv_precision_parse("bf16", &p), 0);
    assert_int_equal(p, KV_PREC_BF16);
    assert_int_equal(kv_precision_parse("fp32", &p), 0);
    assert_int_equal(p, KV_PREC_FP32);
    assert_int_equal(kv_precision_parse("auto", &p), 0);
    assert_int_equal(p, KV_PREC_AUTO);
    assert_int_equal(kv_precision_parse("fp16", &p), -1);
    assert_string_equal(kv_precision_name(KV_PREC_BF16), "bf16");
    assert_int_equal(kv_precision_resolve(KV_PREC_FP32), KV_PREC_FP32);
    assert_int_equal(kv_precision_resolve(KV_PREC_AUTO), bf16_native() ? KV_PREC_BF16 : KV_PREC_FP32);
    int was = bf16_force_portable(1);
    assert_int_equal(kv_precision_resolve(KV_PREC_AUTO), KV_PREC_FP32); /* no native kernels: fp32 */
    assert_int_equal(kv_precision_resolve(KV_PREC_BF16), KV_PREC_BF16);
    bf16_force_portable(was);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rounding),        cmocka_unit_test(test_narrowing_paths),
        cmocka_unit_test(test_linear),          cmocka_unit_test(test_attention),
        cmocka_unit_test(test_cache_step),      cmocka_unit_test(test_batch_equals_alone),
        cmocka_unit_test(test_precision_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
