/* Tests of engine/train_state: round trip, missing file, damaged files
 * (garbage, wrong types, truncation) reported by name and moved aside,
 * tolerant defaults for missing fields, best_val_loss inf <-> null. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/train/train_state.h"
#include "testutil.h"

static const char *path; /* training_state.json in the temp dir */

static int setup(void **state)
{
    if (testutil_tmpdir_setup(state) != 0) return -1;
    path = testutil_path("training_state.json");
    return 0;
}

static void sample_state(train_state *st)
{
    train_state_init(st);
    st->current_stage = 2;
    st->trainer_pid = 4242;
    snprintf(st->profile, sizeof st->profile, "cpu-small");
    train_stage_state *s = &st->stages[0];
    s->status = 2;
    s->epoch = 7;
    s->step = 5000000000LL; /* beyond 32 bits */
    s->total_steps = 6000000000LL;
    s->best_val_loss = 1.2345678901234567;
    s->best_step = 4999;
    snprintf(s->best_checkpoint, sizeof s->best_checkpoint, "checkpoints/stage1/best.ckpt");
    snprintf(s->last_checkpoint, sizeof s->last_checkpoint, "checkpoints/stage1/last \"quoted\".ckpt");
    snprintf(s->config_path, sizeof s->config_path, "configs/stages/stage1_transformer.yaml");
    snprintf(s->config_hash, sizeof s->config_hash, "0123456789abcdef");
    s->started_at = 1712345678.25;
    s->updated_at = 1712349999.5;
    s->finished_at = 1712350000.75;
    st->stages[1].status = 1;
    st->stages[1].step = 17;
}

static void test_round_trip(void **state)
{
    (void)state;
    char err[AURL_ERR_LEN];
    train_state a, b;
    sample_state(&a);
    assert_int_equal(train_state_save(path, &a, err), 0);
    assert_int_equal(train_state_load(path, &b, err), 1);
    assert_int_equal(b.version, 1);
    assert_int_equal(b.current_stage, 2);
    assert_int_equal(b.trainer_pid, 4242);
    assert_string_equal(b.profile, "cpu-small");
    for (int i = 0; i < TRAIN_MAX_STAGES; i++) {
        const train_stage_state *x = &a.stages[i], *y = &b.stages[i];
        assert_int_equal(x->status, y->status);
        assert_int_equal(x->epoch, y->epoch);
        assert_true(x->step == y->step);
        assert_true(x->total_steps == y->total_steps);
        assert_true(x->best_val_loss == y->best_val_loss); /* exact, or both +inf */
        assert_true(x->best_step == y->best_step);
        assert_string_equal(x->best_checkpoint, y->best_checkpoint);
        assert_string_equal(x->last_checkpoint, y->last_checkpoint);
        assert_string_equal(x->config_path, y->config_path);
        assert_string_equal(x->config_hash, y->config_hash);
        assert_true(x->started_at == y->started_at);
        assert_true(x->updated_at == y->updated_at);
        assert_true(x->finished_at == y->finished_at);
    }
    assert_true(isinf(b.stages[2].best_val_loss) && b.stages[2].best_val_loss > 0);

    /* the JSON writes no-best as null, and a NaN too */
    a.stages[0].best_val_loss = NAN;
    char *json = train_state_to_json(&a);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"best_val_loss\":\tnull"));
    assert_null(strstr(json, "nan"));
    assert_null(strstr(json, "inf"));
    free(json);
    assert_int_equal(testutil_count_files("corrupt", 1), 0);
}

static void test_missing_file_and_defaults(void **state)
{
    (void)state;
    char err[AURL_ERR_LEN];
    train_state st;
    unlink(path);
    memset(&st, 0x5a, sizeof st);
    assert_int_equal(train_state_load(path, &st, err), 0);
    assert_int_equal(st.current_stage, 1);
    assert_int_equal(st.stages[0].status, 0);
    assert_true(isinf(st.stages[0].best_val_loss));

    /* missing fields keep their defaults; unknown fields are ignored */
    testutil_write_file(path, "{\"current_stage\": 3, \"future_field\": [1,2], \"stages\": [{\"step\": 9}, {}]}");
    assert_int_equal(train_state_load(path, &st, err), 1);
    assert_int_equal(st.current_stage, 3);
    assert_int_equal(st.version, 1);
    assert_true(st.stages[0].step == 9);
    assert_int_equal(st.stages[0].status, 0);
    assert_true(isinf(st.stages[0].best_val_loss));
    assert_string_equal(st.stages[1].best_checkpoint, "");
    assert_true(isinf(st.stages[2].best_val_loss));
    /* a null best is "none" */
    testutil_write_file(path, "{\"stages\": [{\"best_val_loss\": null}, {\"best_val_loss\": 0.5}]}");
    assert_int_equal(train_state_load(path, &st, err), 1);
    assert_true(isinf(st.stages[0].best_val_loss));
    assert_true(st.stages[1].best_val_loss == 0.5);
    assert_int_equal(testutil_count_files("corrupt", 0), 0);
    unlink(path);
}

/* TEXT must be reported as damaged (err mentions the file and WHAT) and
 * moved aside, leaving no file at PATH. */
static void expect_damaged(const char *text, const char *what)
{
    char err[AURL_ERR_LEN];
    train_state st;
    testutil_write_file(path, text);
    /* a viewer reports the damage and leaves the file where it is */
    assert_int_equal(train_state_read(path, &st, err), -1);
    assert_non_null(strstr(err, path));
    assert_null(strstr(err, "moved aside"));
    assert_int_equal(access(path, F_OK), 0);
    int rc = train_state_load(path, &st, err);
    if (rc != -1) fail_msg("accepted: %s", text);
    assert_non_null(strstr(err, path));
    if (what && !strstr(err, what)) fail_msg("message '%s' lacks '%s'", err, what);
    assert_non_null(strstr(err, "moved aside"));
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(testutil_count_files("training_state.json.corrupt-", 1), 1);
    /* st is a fresh state */
    assert_int_equal(st.current_stage, 1);
    assert_int_equal(st.stages[0].status, 0);
}

static void test_damaged_files(void **state)
{
    (void)state;
    expect_damaged("", "JSON");
    expect_damaged("\x01\x02garbage\xff", "JSON");
    expect_damaged("[1,2,3]", "object");
    expect_damaged("{\"current_stage\": \"two\"}", "current_stage");
    expect_damaged("{\"current_stage\": 9}", "current_stage");
    expect_damaged("{\"current_stage\": 1.5}", "current_stage");
    expect_damaged("{\"version\": 99}", "version");
    expect_damaged("{\"profile\": 3}", "profile");
    expect_damaged("{\"stages\": 3}", "stages");
    expect_damaged("{\"stages\": [1]}", "stages[0]");
    expect_damaged("{\"stages\": [{}, {}, {}, {}]}", "stages");
    expect_damaged("{\"stages\": [{}, {\"step\": \"12\"}]}", "stages[1].step");
    expect_damaged("{\"stages\": [{\"step\": -1}]}", "stages[0].step");
    expect_damaged("{\"stages\": [{\"best_val_loss\": \"low\"}]}", "best_val_loss");
    expect_damaged("{\"stages\": [{\"status\": 5}]}", "status");
    expect_damaged("{\"stages\": [{\"config_hash\": \"0123456789abcdef0123456789abcdef0123\"}]}", "config_hash");

    /* a real file cut at every length is damaged or (if still valid) loads */
    char err[AURL_ERR_LEN];
    train_state a, b;
    sample_state(&a);
    char *json = train_state_to_json(&a);
    size_t len = strlen(json);
    for (size_t cut = 0; cut + 1 < len; cut++) {
        char *part = strndup(json, cut);
        expect_damaged(part, NULL);
        free(part);
    }
    free(json);
    /* a damaged file is never overwritten in place: moving aside twice in the
     * same second keeps both copies */
    testutil_write_file(path, "{");
    assert_int_equal(train_state_load(path, &b, err), -1);
    testutil_write_file(path, "}");
    assert_int_equal(train_state_load(path, &b, err), -1);
    assert_int_equal(testutil_count_files(".corrupt-", 1), 2);
}

static void test_not_a_file(void **state)
{
    (void)state;
    const char *dir = testutil_path("state_dir.json");
    char err[AURL_ERR_LEN];
    train_state st;
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(train_state_load(dir, &st, err), -1);
    assert_non_null(strstr(err, "state_dir.json"));
    assert_int_equal(st.current_stage, 1);
    rmdir(dir);
    /* saving into a missing directory fails with a message */
    dir = testutil_path("no/such/dir/state.json");
    assert_int_equal(train_state_save(dir, &st, err), -1);
    assert_non_null(strstr(err, "state.json"));
}

/* cJSON allocation hook whose allocation number `fail_at` (0-based) fails
 * and every other succeeds: one transient failure anywhere. */
static int fail_at = -1, n_allocs;
static void *flaky_malloc(size_t n)
{
    return n_allocs++ == fail_at ? NULL : malloc(n);
}

/* A failed allocation at any point while building the JSON gives NULL,
 * never a shorter document (which would save a state with fields silently reset). */
static void test_out_of_memory_never_truncates(void **state)
{
    (void)state;
    train_state st;
    sample_state(&st);
    char *full = train_state_to_json(&st);
    assert_non_null(full);
    int failed = 0, whole = 0;
    for (int k = 0; k < 400 && whole < 5; k++) {
        fail_at = k;
        n_allocs = 0;
        cJSON_Hooks hooks = {flaky_malloc, free};
        cJSON_InitHooks(&hooks);
        char *text = train_state_to_json(&st);
        cJSON_InitHooks(NULL);
        if (!text) {
            failed++;
            continue;
        }
        assert_string_equal(text, full);
        free(text);
        whole++;
    }
    fail_at = -1;
    assert_true(failed > 20); /* many allocation points were exercised */
    assert_int_equal(whole, 5);
    free(full);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_missing_file_and_defaults),
        cmocka_unit_test(test_damaged_files),
        cmocka_unit_test(test_not_a_file),
        cmocka_unit_test(test_out_of_memory_never_truncates),
    };
    return cmocka_run_group_tests(tests, setup, testutil_tmpdir_teardown);
}
