/* Tests of train_config: the shipped stage and profile configs load, a
 * profile overrides only what it names, and bad settings are reported with
 * file:line:column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/train/train_config.h"
#include "engine/train/trainer.h"
#include "data/tokenizer.h"
#include "testutil.h"

static void test_shipped_configs_load(void **state)
{
    (void)state;
    const char *profiles[] = {NULL, "configs/profiles/speed_test.yaml", "configs/profiles/quick_test.yaml",
                              "configs/profiles/high_quality.yaml"};
    for (int stage = 1; stage <= 3; stage++) {
        char path[512], err[AURL_ERR_LEN];
        assert_int_equal(trainer_stage_config_path("configs", stage, path, sizeof path, err, sizeof err), 0);
        for (size_t p = 0; p < sizeof profiles / sizeof profiles[0]; p++) {
            train_config cfg;
            if (train_config_load(&cfg, path, profiles[p], err) != 0) print_message("%s\n", err);
            assert_int_equal(train_config_load(&cfg, path, profiles[p], err), 0);
            assert_int_equal(cfg.stage, stage);
            /* every stage reads the same vocabulary (v2), so each can start from the previous one */
            assert_int_equal(model_vocab(&cfg.model), TOK_VOCAB_V2);
        }
    }
    char path[512], err[AURL_ERR_LEN];
    assert_int_equal(trainer_stage_config_path("configs", 4, path, sizeof path, err, sizeof err), -1);
}

static void test_profile_overrides_only_what_it_names(void **state)
{
    (void)state;
    char err[AURL_ERR_LEN];
    train_config base, layered;
    assert_int_equal(train_config_load(&base, "configs/stages/stage2_augmented.yaml", NULL, err), 0);
    assert_int_equal(train_config_load(&layered, "configs/stages/stage2_augmented.yaml",
                                       "configs/profiles/speed_test.yaml", err),
                     0);
    assert_int_equal(base.model.d_model, 256);
    assert_int_equal(layered.model.d_model, 64);
    assert_int_equal(layered.seq_len, 128);
    assert_int_equal(layered.max_steps, 800);
    /* untouched by the profile: stage 2's augmentation and seed */
    assert_int_equal(layered.augment, 1);
    assert_true(layered.aug.transpose_p == base.aug.transpose_p && layered.aug.transpose_max == 6);
    assert_true(layered.seed == base.seed);
    char h1[32], h2[32];
    train_config_hash(&base, h1);
    train_config_hash(&layered, h2);
    assert_string_not_equal(h1, h2);
    train_config again;
    assert_int_equal(train_config_load(&again, "configs/stages/stage2_augmented.yaml", NULL, err), 0);
    train_config_hash(&again, h2);
    assert_string_equal(h1, h2);
    /* the vocabulary is part of what decides the weights */
    const char *v1 = testutil_write_file("v1.yaml", "model:\n  tokenizer: v1\n");
    assert_int_equal(train_config_load(&again, "configs/stages/stage2_augmented.yaml", v1, err), 0);
    assert_int_equal(again.model.tokenizer, TOK_VOCAB_V1);
    train_config_hash(&again, h2);
    assert_string_not_equal(h1, h2);
}

static void expect_error(const char *text, const char *want)
{
    const char *p = testutil_write_file("bad.yaml", text);
    train_config cfg;
    char err[AURL_ERR_LEN] = "";
    assert_int_equal(train_config_load(&cfg, p, NULL, err), -1);
    if (!strstr(err, want)) print_message("error '%s' lacks '%s'\n", err, want);
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, "bad.yaml"));
}

static void test_bad_settings_are_located(void **state)
{
    (void)state;
    expect_error("training:\n  lr: -1\n", "bad.yaml:2:7: lr: -1 is out of range");
    expect_error("training:\n  batch_sise: 8\n", "bad.yaml:2:3: unknown setting 'batch_sise'");
    expect_error("stage: 1\nstage: 2\n", "bad.yaml:2:1: duplicate key: stage");
    expect_error("mode: gan\n", "bad.yaml:1:7: mode: expected transformer or vae_gan");
    expect_error("model:\n  attention: banana\n", "bad.yaml:2:14: attention must be");
    expect_error("model:\n  d_model: 30\n  n_heads: 4\n", "n_heads must divide d_model");
    expect_error("data:\n  seq_len: 1024\n", "seq_len (1024) exceeds model.max_seq_len (512)");
    expect_error("augmentation:\n  transpose: 3\n", "bad.yaml:2:14: transpose: expected a mapping");
    expect_error("augmentation:\n  velocity: {p: 0.5, min: 1.3, max: 0.7}\n", "a min is larger than its max");
    expect_error("data:\n  augment: maybe\n", "bad.yaml:2:12: augment: expected true or false");
    expect_error("training: [1, 2\n", "bad.yaml:");
    expect_error("- just\n- a list\n", "expected a mapping");
    train_config cfg;
    char err[AURL_ERR_LEN];
    assert_int_equal(train_config_load(&cfg, "/nonexistent/stage.yaml", NULL, err), -1);
    assert_non_null(strstr(err, "/nonexistent/stage.yaml"));
    assert_int_equal(train_config_load(&cfg, testutil_tmpdir(), NULL, err), -1); /* a directory */
}

/* The configs dir: ./configs when it has stages/, else configs/ beside the
 * executable, else "configs". */
static void test_configs_dir_lookup(void **state)
{
    (void)state;
    char dir[4200], want[4200], cwd[4096];
    train_config_find_dir(NULL, dir, sizeof dir); /* tests run from the repository root */
    assert_string_equal(dir, "configs");
    assert_non_null(getcwd(cwd, sizeof cwd));
    testutil_write_file("bin/configs/stages/stage1_x.yaml", "stage: 1\n");
    snprintf(want, sizeof want, "%s/bin/configs", testutil_tmpdir());
    char exe[4200];
    snprintf(exe, sizeof exe, "%s/bin/aurl", testutil_tmpdir());
    assert_int_equal(chdir(testutil_tmpdir()), 0); /* no configs/stages here */
    train_config_find_dir(exe, dir, sizeof dir);
    assert_string_equal(dir, want);
    train_config_find_dir("/nonexistent/aurl", dir, sizeof dir);
    assert_string_equal(dir, "configs");
    assert_int_equal(chdir(cwd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_configs_load),
        cmocka_unit_test(test_profile_overrides_only_what_it_names),
        cmocka_unit_test(test_bad_settings_are_located),
        cmocka_unit_test(test_configs_dir_lookup),
    };
    return cmocka_run_group_tests(tests, testutil_tmpdir_setup, testutil_tmpdir_teardown);
}
