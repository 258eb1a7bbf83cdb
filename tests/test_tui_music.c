/* The Music page and Resources panel of the real binary ($BUILD/aurl) in
 * tmux. The fixture is what a quick run leaves: samples written by the real
 * engine/train/train_sample (a tiny transformer, metrics.jsonl through
 * engine/train/metrics), a finished stage 1 in training_state.json and the
 * data column file. Checks at 80x24 UTF-8 and 200x60 LANG=C: the machine
 * CPU%, the Music panel's numbers, the sample key opening a piano roll, the
 * Samples list, and a damaged or missing sample file being a message, not a
 * crash. Skips when tmux is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/model/transformer.h"
#include "engine/train/metrics.h"
#include "engine/train/train_config.h"
#include "engine/train/train_sample.h"
#include "engine/train/train_state.h"
#include "testutil.h"
#include "util/log.h"

#define SOCK "aurl-test-tui-music"

static char g_exe[512];

#define sh testutil_sh
static char *capture(const char *sess) { return testutil_tmux_capture(SOCK, sess); }
static int wait_for(const char *sess, const char *text) { return testutil_tmux_wait(SOCK, sess, text); }

static void keys(const char *sess, const char *k) { sh("tmux -L " SOCK " send-keys -t %s %s", sess, k); }

static void start(const char *sess, int w, int h, const char *env)
{
    sh("tmux -L " SOCK " kill-session -t %s 2>/dev/null", sess);
    assert_int_equal(sh("tmux -L " SOCK " new-session -d -s %s -x %d -y %d \"env %s %s --outputs %s --data %s; sleep 30\"",
                        sess, w, h, env, g_exe, testutil_path("out"), testutil_path("data")),
                     0);
}

/* Samples at steps 64 and 128 from a tiny model, a damaged one at 192. */
static void make_fixture(void)
{
    const char *out = testutil_path("out");
    sh("rm -rf %s", out);
    log_set_quiet(1);
    char err[AURL_ERR_LEN];
    train_state st;
    train_state_init(&st);
    st.current_stage = 2;
    st.stages[0].status = STAGE_COMPLETE;
    st.stages[0].step = st.stages[0].total_steps = 128;
    snprintf(st.stages[0].config_path, sizeof st.stages[0].config_path, "configs/stages/stage1_base.yaml");
    testutil_write_file("out/logs/train.log", "");
    char path[4200];
    snprintf(path, sizeof path, "%s/training_state.json", out);
    assert_int_equal(train_state_save(path, &st, err), 0);
    model_config mc;
    testutil_tiny_model_config(&mc);
    transformer *m;
    assert_int_equal(transformer_create(&m, &mc, 1, 64, 5, err), 0);
    train_config cfg;
    train_config_defaults(&cfg);
    cfg.stage = 1;
    cfg.sample_seconds = 3;
    metrics *met;
    assert_int_equal(metrics_open(&met, out, 1, err), 0);
    double cost;
    for (long long step = 64; step <= 128; step += 64)
        assert_int_equal(train_sample_run(&cfg, out, testutil_path("data"), step, m, NULL, met, &cost, err), 0);
    metrics_close(met);
    transformer_free(m);
    testutil_write_file("out/samples/data_stats.json",
                        "{\"source\":\"fixture\",\"values\":{\"notes_per_second\":18.6,\"polyphony\":3.9,"
                        "\"pitch_class_entropy\":2.7}}");
    testutil_write_file("out/samples/stage1/step_0000192.music.json", "{\"distance\": 0.9, \"rows\": []}");
    testutil_write_file("out/samples/stage1/step_0000192.mid", "MThd garbage, not a MIDI file");
}

static void test_music_page_80x24(void **state)
{
    (void)state;
    make_fixture();
    start("m1", 80, 24, "LANG=C.UTF-8 TERM=xterm-256color");
    assert_true(wait_for("m1", "Resources"));
    assert_true(wait_for("m1", "% [")); /* machine CPU% with its cores, after two readings */
    assert_true(wait_for("m1", "m music"));
    keys("m1", "m");
    assert_true(wait_for("m1", "Music: s1 step 128"));
    char *p = capture("m1");
    assert_non_null(strstr(p, "notes/s"));
    assert_non_null(strstr(p, "18.6"));  /* the data column */
    assert_non_null(strstr(p, "polyphony"));
    assert_non_null(strstr(p, "distance to data"));
    keys("m1", "o");
    assert_true(wait_for("m1", "step_0000128.mid"));
    assert_true(wait_for("m1", "|0s")); /* the roll's time axis */
    keys("m1", "Escape");
    assert_true(wait_for("m1", "v samples"));
    keys("m1", "v");
    assert_true(wait_for("m1", "Samples (3)"));
    assert_true(wait_for("m1", "step      64"));
    keys("m1", "Enter"); /* the newest is selected: the damaged .mid */
    assert_true(wait_for("m1", "cannot open the sample"));
    keys("m1", "Up");
    keys("m1", "Enter");
    assert_true(wait_for("m1", "step_0000128.mid"));
    keys("m1", "Escape");
    keys("m1", "Escape");
    keys("m1", "q");
    sh("tmux -L " SOCK " kill-session -t m1 2>/dev/null");
}

static void test_music_beside_chart_200x60_ascii(void **state)
{
    (void)state;
    make_fixture();
    char mid[4200];
    train_sample_path(testutil_path("out"), 1, 128, ".mid", mid, sizeof mid);
    unlink(mid); /* the latest sample's .mid is missing */
    start("m2", 200, 60, "LANG=C TERM=screen");
    assert_true(wait_for("m2", "Music: s1 step 128"));
    assert_true(wait_for("m2", "% ["));
    assert_non_null(strstr(capture("m2"), "notes/s"));
    assert_non_null(strstr(capture("m2"), "Loss:"));
    keys("m2", "o");
    assert_true(wait_for("m2", "cannot open the sample"));
    assert_true(wait_for("m2", "Resources")); /* still running */
    keys("m2", "q");
    sh("tmux -L " SOCK " kill-session -t m2 2>/dev/null");
}

int main(void)
{
    if (!testutil_tmux_start("test_tui_music", g_exe, sizeof g_exe)) return 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_music_page_80x24),
        cmocka_unit_test(test_music_beside_chart_200x60_ascii),
    };
    int rc = cmocka_run_group_tests(tests, testutil_tmpdir_setup, testutil_tmpdir_teardown);
    sh("tmux -L " SOCK " kill-server 2>/dev/null");
    return rc;
}
