/* Tests of model_ckpt: a transformer and its AdamW state survive a save and
 * load bit for bit, and checkpoints of another shape, another kind or a
 * damaged file are refused with a message naming the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/model/checkpoint.h"
#include "engine/model/model_ckpt.h"
#include "engine/model/model_yaml.h"
#include "engine/model/transformer.h"
#include "data/tokenizer.h"
#include "testutil.h"
#include "util/json_num.h"

static model_config tiny(int d_model)
{
    model_config c;
    model_yaml_defaults(&c);
    c.d_model = d_model;
    c.n_layers = 2;
    c.n_heads = 2;
    c.d_ff = 2 * d_model;
    c.max_seq_len = 16;
    c.attn.kind = ATTN_SLIDING;
    c.attn.window = 5;
    return c;
}

/* A model with one AdamW step taken, so moments are non-zero. */
static transformer *trained(const model_config *c, adamw *opt, uint64_t seed)
{
    char err[AURL_ERR_LEN];
    transformer *m;
    assert_int_equal(transformer_create(&m, c, 2, 8, seed, err), 0);
    int32_t in[16], tg[16];
    for (int i = 0; i < 16; i++) {
        in[i] = 4 + (i * 7) % 100;
        tg[i] = 4 + (i * 11) % 100;
    }
    adamw_config ac = adamw_default_config(1e-3f, 1e-4f, 0, 10);
    adamw_init(opt, &ac);
    transformer_zero_grad(m);
    float loss = transformer_forward(m, in, tg, 2, 8, 0, 0);
    transformer_backward(m);
    transformer_step(m, opt, loss);
    return m;
}

static void test_round_trip_is_exact(void **state)
{
    (void)state;
    char err[AURL_ERR_LEN];
    model_config c = tiny(16);
    adamw opt, opt2;
    transformer *a = trained(&c, &opt, 1), *b;
    assert_int_equal(transformer_create(&b, &c, 2, 8, 99, err), 0);
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddNumberToObject(meta, "step", 42);
    const char *path = testutil_path("m.ckpt");
    assert_int_equal(model_ckpt_save(path, a, &opt, meta, err), 0);
    cJSON_Delete(meta);
    memset(&opt2, 0, sizeof opt2);
    cJSON *back;
    assert_int_equal(model_ckpt_load(path, b, &opt2, &back, err), 0);
    assert_int_equal((int)json_num_field(back, "step", -1), 42);
    cJSON_Delete(back);
    size_t n = transformer_n_params(a);
    assert_memory_equal(transformer_params(a), transformer_params(b), n * sizeof(float));
    assert_memory_equal(transformer_adam_m(a), transformer_adam_m(b), n * sizeof(float));
    assert_memory_equal(transformer_adam_v(a), transformer_adam_v(b), n * sizeof(float));
    assert_int_equal(opt2.step, opt.step);
    assert_int_equal(opt2.t, opt.t);
    assert_true(opt2.lr_mult == opt.lr_mult);
    model_config rc;
    assert_int_equal(model_ckpt_read_config(path, &rc, err), 0);
    assert_int_equal(rc.d_model, 16);
    assert_int_equal(rc.n_layers, 2);
    assert_int_equal(rc.attn.kind, ATTN_SLIDING);
    assert_int_equal(rc.attn.window, 5);
    /* weights only: no moments written, loading them then fails */
    assert_int_equal(model_ckpt_save(path, a, NULL, NULL, err), 0);
    assert_int_equal(model_ckpt_load(path, b, NULL, NULL, err), 0);
    assert_int_equal(model_ckpt_load(path, b, &opt2, NULL, err), -1);
    assert_non_null(strstr(err, "m.ckpt"));
    transformer_free(a);
    transformer_free(b);
}

static void test_refuses_other_shapes_kinds_and_damage(void **state)
{
    (void)state;
    char err[AURL_ERR_LEN];
    model_config c16 = tiny(16), c32 = tiny(32);
    adamw opt;
    transformer *a = trained(&c16, &opt, 1), *big;
    assert_int_equal(transformer_create(&big, &c32, 2, 8, 1, err), 0);
    const char *path = testutil_path("shape.ckpt");
    assert_int_equal(model_ckpt_save(path, a, &opt, NULL, err), 0);
    assert_int_equal(model_ckpt_load(path, big, NULL, NULL, err), -1);
    assert_non_null(strstr(err, "shape.ckpt"));

    /* a checkpoint of something else */
    float x[4] = {1, 2, 3, 4};
    ckpt_tensor t = {.name = "x", .ndim = 1, .dims = {4}, .data = x};
    const char *other = testutil_path("other.ckpt");
    assert_int_equal(ckpt_save(other, "{\"model\": \"vae\"}", &t, 1, err), 0);
    assert_int_equal(model_ckpt_load(other, a, NULL, NULL, err), -1);
    assert_non_null(strstr(err, "not a transformer checkpoint"));
    assert_int_equal(ckpt_save(other, "{\"model\": \"transformer\", \"vocab_version\": 7}", &t, 1, err), 0);
    assert_int_equal(model_ckpt_load(other, a, NULL, NULL, err), -1);
    assert_non_null(strstr(err, "vocabulary v7"));
    model_config rc;
    assert_int_equal(model_ckpt_read_config(other, &rc, err), -1);

    /* the token vocabulary travels with the model: a v2 checkpoint reads
     * back as v2 and does not load into a v1 model */
    model_config c2 = c16;
    c2.tokenizer = TOK_VOCAB_V2;
    transformer *m2;
    assert_int_equal(transformer_create(&m2, &c2, 2, 8, 1, err), 0);
    const char *p2 = testutil_path("v2.ckpt");
    assert_int_equal(model_ckpt_save(p2, m2, NULL, NULL, err), 0);
    assert_int_equal(model_ckpt_read_config(p2, &rc, err), 0);
    assert_int_equal(rc.tokenizer, TOK_VOCAB_V2);
    model_config c1 = c16;
    c1.tokenizer = TOK_VOCAB_V1;
    transformer *m1;
    assert_int_equal(transformer_create(&m1, &c1, 2, 8, 1, err), 0);
    assert_int_equal(model_ckpt_load(p2, m1, NULL, NULL, err), -1);
    assert_non_null(strstr(err, "token vocabulary v2"));
    transformer_free(m1);
    assert_int_equal(model_ckpt_load(p2, m2, NULL, NULL, err), 0);
    transformer_free(m2);

    /* positions travel too: rotary reads back as rotary, and a rotary
     * checkpoint (no wpe, like sinusoidal) does not load into a sinusoidal model */
    model_config cr = c16, cs = c16;
    cr.positions = POS_ROTARY;
    cs.positions = POS_SINUSOIDAL;
    transformer *mr, *ms;
    assert_int_equal(transformer_create(&mr, &cr, 2, 8, 1, err), 0);
    assert_int_equal(transformer_create(&ms, &cs, 2, 8, 1, err), 0);
    const char *pr = testutil_path("rot.ckpt");
    assert_int_equal(model_ckpt_save(pr, mr, NULL, NULL, err), 0);
    assert_int_equal(model_ckpt_read_config(pr, &rc, err), 0);
    assert_int_equal(rc.positions, POS_ROTARY);
    assert_int_equal(model_ckpt_load(pr, mr, NULL, NULL, err), 0);
    assert_int_equal(model_ckpt_load(pr, ms, NULL, NULL, err), -1);
    assert_non_null(strstr(err, "rot.ckpt: made with rotary positions, the model being loaded uses sinusoidal"));
    assert_int_equal(model_ckpt_load(pr, a, NULL, NULL, err), -1); /* learned: wpe missing */
    transformer_free(mr);
    transformer_free(ms);

    /* damaged bytes */
    size_t len;
    unsigned char *bytes = testutil_read_file(path, &len);
    bytes[len / 2] ^= 0x40;
    const char *bad = testutil_write_bytes("damaged.ckpt", bytes, len);
    free(bytes);
    assert_int_equal(model_ckpt_load(bad, a, &opt, NULL, err), -1);
    assert_non_null(strstr(err, "damaged.ckpt"));
    transformer_free(a);
    transformer_free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_is_exact),
        cmocka_unit_test(test_refuses_other_shapes_kinds_and_damage),
    };
    return cmocka_run_group_tests(tests, testutil_tmpdir_setup, testutil_tmpdir_teardown);
}
