/* Tests of src/engine/model_yaml.c: valid files (with and without a
 * `model:` section), defaults, and located errors for bad values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/model/model_yaml.h"
#include "data/tokenizer.h"
#include "testutil.h"

/* Load text; expect failure whose message contains want (and the file name). */
static void expect_error(const char *text, const char *want)
{
    const char *p = testutil_write_file("bad.yaml", text);
    model_config c;
    char err[AURL_ERR_LEN] = "";
    assert_int_equal(model_yaml_load(p, &c, err), -1);
    if (!strstr(err, want)) printf("error '%s' lacks '%s'\n", err, want);
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, "bad.yaml"));
}

static void test_valid_with_model_section(void **state)
{
    (void)state;
    const char *p = testutil_write_file("ok.yaml", "batch_size: 16\n"
                                                   "model:\n"
                                                   "  d_model: 64\n"
                                                   "  n_layers: 3\n"
                                                   "  n_heads: 4\n"
                                                   "  d_ff: 100\n"
                                                   "  max_seq_len: 128\n"
                                                   "  attention: hierarchical\n"
                                                   "  window: 32\n"
                                                   "  global_stride: 8\n"
                                                   "  dropout: 0.1\n"
                                                   "  positions: sinusoidal\n"
                                                   "  tokenizer: v2\n"
                                                   "other_stage_key: [1, 2]\n");
    model_config c;
    char err[AURL_ERR_LEN];
    int batch = 0;
    assert_int_equal(model_yaml_load_file(p, &c, &batch, err), 0);
    assert_int_equal(batch, 16);
    assert_int_equal(c.d_model, 64);
    assert_int_equal(c.n_layers, 3);
    assert_int_equal(c.n_heads, 4);
    assert_int_equal(c.d_ff, 100);
    assert_int_equal(c.max_seq_len, 128);
    assert_int_equal(c.attn.kind, ATTN_HIERARCHICAL);
    assert_int_equal(c.attn.window, 32);
    assert_int_equal(c.attn.stride, 8);
    assert_true(c.dropout > 0.099f && c.dropout < 0.101f);
    assert_int_equal(c.positions, POS_SINUSOIDAL);
    assert_int_equal(c.vocab_size, 774);
    assert_int_equal(c.tokenizer, TOK_VOCAB_V2);
}

static void test_valid_top_level_defaults(void **state)
{
    (void)state;
    const char *p = testutil_write_file("top.yaml", "d_model: 32\nn_layers: 1\nn_heads: 2\nsomething_else: 3\n");
    model_config c;
    char err[AURL_ERR_LEN];
    assert_int_equal(model_yaml_load(p, &c, err), 0);
    assert_int_equal(c.d_ff, 128); /* 4 * d_model */
    assert_int_equal(c.max_seq_len, 512);
    assert_int_equal(c.attn.kind, ATTN_FULL);
    assert_int_equal(c.positions, POS_LEARNED);
    assert_true(c.dropout == 0.0f);
    p = testutil_write_file("rot.yaml", "d_model: 32\nn_layers: 1\nn_heads: 2\npositions: rotary\n");
    assert_int_equal(model_yaml_load(p, &c, err), 0);
    assert_int_equal(c.positions, POS_ROTARY);
    model_pos pos;
    assert_int_equal(model_pos_parse("rotary", &pos), 0);
    assert_int_equal(pos, POS_ROTARY);
    assert_string_equal(model_pos_name(POS_SINUSOIDAL), "sinusoidal");
    assert_int_equal(model_pos_parse("Rotary", &pos), -1);
    assert_int_equal(c.vocab_size, 774);
    /* the reference benchmark config loads */
    int batch = 0;
    assert_int_equal(model_yaml_load_file("bench/reference.yaml", &c, &batch, err), 0);
    assert_int_equal(batch, 8);
    assert_int_equal(c.d_model, 256);
    assert_int_equal(c.d_ff, 1024);
}

static void test_errors_are_located(void **state)
{
    (void)state;
    expect_error("model:\n  d_model: 30\n  n_layers: 2\n  n_heads: 4\n", "bad.yaml:4:12: n_heads must divide d_model");
    expect_error("model:\n  d_model: 32\n  n_layers: 0\n  n_heads: 4\n", "bad.yaml:3:13: n_layers: 0 is out of range");
    /* cross-key problems point at the key they concern, top-level files too */
    expect_error("n_heads: 64\nd_model: 32\nn_layers: 2\n", "bad.yaml:1:10: n_heads must be in 1..d_model");
    expect_error("d_model: 30\nn_layers: 2\nn_heads: 4\n", "bad.yaml:3:10: n_heads must divide d_model");
    expect_error("model:\n  d_model: 32\n  n_layers: 2\n  n_heads: 4\n  dropout: 1.0\n", ":5:12: dropout: 1 is out of range");
    expect_error("model:\n  d_model: 32\n  n_layers: 2\n  n_heads: 4\n  dropout: -0.1\n", "dropout");
    expect_error("model:\n  d_model: 32\n  n_layers: 2\n  n_heads: 4\n  window: 0\n", ":5:11: window: 0 is out of range");
    expect_error("model:\n  d_model: 32\n  n_layers: 2\n  n_heads: 4\n  attention: banana\n", ":5:14: attention must be");
    expect_error("model:\n  d_model: 32\n  n_layers: 2\n  n_heads: 4\n  positions: relative\n",
                 "bad.yaml:5:14: positions must be learned, sinusoidal or rotary, got 'relative'");
    /* rotary rotates pairs within a head: the head size must be even */
    expect_error("model:\n  d_model: 12\n  n_layers: 2\n  n_heads: 4\n  positions: rotary\n",
                 "bad.yaml:5:14: rotary positions need an even head size");
    expect_error("model:\n  d_model: 32\n  n_layers: 2\n  n_heads: 4\n  tokenizer: v9\n", "tokenizer must be v1 or v2");
    expect_error("model:\n  d_model: 32\n  n_layers: 2\n  n_heads: 4\n  n_head: 4\n", ":5:3: unknown setting 'n_head'");
    expect_error("model:\n  d_model: 32x\n  n_layers: 2\n  n_heads: 4\n", ":2:12: d_model: expected a whole number");
    expect_error("model:\n  d_model: 99999999999999999999\n  n_layers: 2\n  n_heads: 4\n", "d_model: expected a whole number");
    expect_error("model:\n  d_model: [1, 2]\n  n_layers: 2\n  n_heads: 4\n", "d_model: expected a single value");
    expect_error("model:\n  d_model: 32\n  d_model: 64\n  n_layers: 2\n  n_heads: 4\n", ":3:3: duplicate key: d_model");
    expect_error("model:\n  n_layers: 2\n  n_heads: 4\n", "missing required model key: d_model");
    expect_error("model: 5\n", "model: expected a mapping");
    expect_error("- a\n- b\n", "expected a mapping");
    expect_error("model:\n  d_model: 32\n n_layers: [\n", "bad.yaml:");
    expect_error("", "expected a mapping");
    /* batch_size is only read (and checked) when the caller asks for it */
    const char *p = testutil_write_file("bad.yaml", "batch_size: -3\nmodel:\n  d_model: 32\n  n_layers: 1\n  n_heads: 1\n");
    model_config c;
    char err[AURL_ERR_LEN];
    int batch = 0;
    assert_int_equal(model_yaml_load(p, &c, err), 0);
    assert_int_equal(model_yaml_load_file(p, &c, &batch, err), -1);
    assert_non_null(strstr(err, "bad.yaml:1:13: batch_size"));
}

static void test_missing_file_and_directory(void **state)
{
    (void)state;
    model_config c;
    char err[AURL_ERR_LEN];
    assert_int_equal(model_yaml_load("/nonexistent/x.yaml", &c, err), -1);
    assert_non_null(strstr(err, "/nonexistent/x.yaml"));
    assert_int_equal(model_yaml_load(testutil_tmpdir(), &c, err), -1);
    /* binary garbage never crashes */
    char junk[512];
    for (int i = 0; i < (int)sizeof junk - 1; i++) junk[i] = (char)(1 + (i * 37) % 255);
    junk[sizeof junk - 1] = 0;
    const char *p = testutil_write_file("junk.yaml", junk);
    assert_int_equal(model_yaml_load(p, &c, err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_with_model_section),
        cmocka_unit_test(test_valid_top_level_defaults),
        cmocka_unit_test(test_errors_are_located),
        cmocka_unit_test(test_missing_file_and_directory),
    };
    return cmocka_run_group_tests(tests, testutil_tmpdir_setup, testutil_tmpdir_teardown);
}
