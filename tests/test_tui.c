/* Drives the real binary ($BUILD/aurl) in tmux: a fixture outputs dir
 * (training_state.json written by the engine, metrics.jsonl as text), then
 * capture-pane checks of the header, progress, chart and log panels; every
 * global key; resizes to 80x24, 200x60 and 40x12; LANG=C with TERM=screen;
 * a random-key soak; and quitting while a (fake) trainer holds the lock,
 * which must leave it running. Skips when tmux is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/train/run_lock.h"
#include "engine/train/train_state.h"
#include "testutil.h"

#define SOCK "aurl-test-tui"

static char g_exe[512];

#define sh testutil_sh
static char *capture(const char *sess) { return testutil_tmux_capture(SOCK, sess); }
static int wait_for(const char *sess, const char *text) { return testutil_tmux_wait(SOCK, sess, text); }

/* Poll the pane until TEXT is gone (timeout 20 s). */
static int wait_gone(const char *sess, const char *text)
{
    for (int i = 0; i < 400; i++) {
        if (!strstr(capture(sess), text)) return 1;
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    }
    fprintf(stderr, "pane %s still shows '%s':\n%s\n", sess, text, capture(sess));
    return 0;
}

static void keys(const char *sess, const char *k) { sh("tmux -L " SOCK " send-keys -t %s %s", sess, k); }

static void make_fixture(const char *out)
{
    train_state st;
    train_state_init(&st);
    st.current_stage = 2;
    snprintf(st.profile, sizeof st.profile, "speed_test");
    st.stages[0].status = 2;
    st.stages[0].step = st.stages[0].total_steps = 800;
    st.stages[0].best_val_loss = 3.4314;
    st.stages[0].best_step = 800;
    snprintf(st.stages[0].config_path, sizeof st.stages[0].config_path, "configs/stages/stage1_base.yaml");
    st.stages[1].status = 1;
    st.stages[1].epoch = 0;
    st.stages[1].step = 340;
    st.stages[1].total_steps = 800;
    snprintf(st.stages[1].config_path, sizeof st.stages[1].config_path, "configs/stages/stage2_augmented.yaml");
    char path[1024], err[AURL_ERR_LEN];
    snprintf(path, sizeof path, "%s/training_state.json", out);
    testutil_write_file("out/logs/train.log", "2026-01-01 00:00:00 WARN fixture warning line\n");
    assert_int_equal(train_state_save(path, &st, err), 0);
    char *m = malloc(1 << 16);
    size_t k = 0;
    k += (size_t)sprintf(m + k, "{\"kind\":\"event\",\"stage\":1,\"step\":0,\"time\":1,\"msg\":\"stage 1 started at step 0\"}\n");
    for (int s = 10; s <= 800; s += 10)
        k += (size_t)sprintf(m + k, "{\"kind\":\"train\",\"stage\":1,\"step\":%d,\"time\":1,\"loss\":%.3f,\"tokens_per_s\":5000,\"steps_per_s\":20}\n",
                             s, 6.0 - 2.5 * s / 800.0);
    k += (size_t)sprintf(m + k, "{\"kind\":\"val\",\"stage\":1,\"step\":800,\"time\":1,\"loss\":3.4314}\n");
    k += (size_t)sprintf(m + k, "{\"kind\":\"event\",\"stage\":1,\"step\":800,\"time\":1,\"msg\":\"stage 1 complete: best val loss 3.4314 at step 800\"}\n");
    k += (size_t)sprintf(m + k, "not json at all\n");
    for (int s = 10; s <= 340; s += 10)
        k += (size_t)sprintf(m + k, "{\"kind\":\"train\",\"stage\":2,\"step\":%d,\"time\":1,\"loss\":%.3f,\"tokens_per_s\":4321,\"steps_per_s\":20}\n",
                             s, 3.4 - 0.3 * s / 800.0);
    testutil_write_bytes("out/logs/metrics.jsonl", m, k);
    free(m);
}

static void start(const char *sess, int w, int h, const char *env, const char *extra)
{
    sh("tmux -L " SOCK " kill-session -t %s 2>/dev/null", sess);
    assert_int_equal(sh("tmux -L " SOCK " new-session -d -s %s -x %d -y %d \"env %s %s --outputs %s --data %s %s; sleep 30\"",
                        sess, w, h, env, g_exe, testutil_path("out"), testutil_path("data"), extra),
                     0);
}

static void test_dashboard_panels_and_keys(void **state)
{
    make_fixture(testutil_path("out"));
    start("t1", 80, 24, "LANG=C.UTF-8 TERM=xterm-256color", "");
    assert_true(wait_for("t1", "stage 2/3 augmented"));
    char *p = capture("t1");
    assert_non_null(strstr(p, "[IDLE]"));
    assert_non_null(strstr(p, "step 340/800"));
    assert_non_null(strstr(p, "profile speed_test"));
    assert_non_null(strstr(p, "done"));                 /* stage 1 bar */
    assert_non_null(strstr(p, "ep1 340/800"));         /* stage 2 bar */
    assert_non_null(strstr(p, "Loss: all stages"));
    assert_non_null(strstr(p, "stage 1 complete"));    /* log tail (metrics event) */
    assert_non_null(strstr(p, "fixture warning line")); /* log tail (train.log) */
    assert_non_null(strstr(p, "F10 Quit"));
    /* chart toggles */
    keys("t1", "l");
    assert_true(wait_for("t1", "log-y"));
    keys("t1", "f");
    assert_true(wait_for("t1", "Loss: stage 1"));
    /* screens */
    keys("t1", "F1");
    assert_true(wait_for("t1", "Global keys"));
    keys("t1", "Escape");
    assert_true(wait_for("t1", "Progress"));
    keys("t1", "F5");
    assert_true(wait_for("t1", "stage1_base.yaml"));
    assert_true(wait_for("t1", "partial 340/800"));
    keys("t1", "Enter");
    assert_true(wait_for("t1", "Jump to stage 2?"));
    keys("t1", "n");
    keys("t1", "F3");
    keys("t1", "F4");
    keys("t1", "t");
    assert_true(wait_for("t1", "Stages"));
    keys("t1", "h");
    assert_true(wait_for("t1", "Global keys"));
    keys("t1", "BSpace");
    keys("t1", "p");
    assert_true(wait_for("t1", "no trainer is running"));
    keys("t1", "F8");
    assert_true(wait_for("t1", "Type yes"));
    keys("t1", "n o Enter");
    assert_true(wait_for("t1", "nothing cleared"));
    keys("t1", "C-l");
    /* resizes */
    sh("tmux -L " SOCK " resize-window -t t1 -x 200 -y 60");
    assert_true(wait_for("t1", "Resources"));
    sh("tmux -L " SOCK " resize-window -t t1 -x 40 -y 12");
    assert_true(wait_for("t1", "enlarge the terminal"));
    sh("tmux -L " SOCK " resize-window -t t1 -x 80 -y 24");
    assert_true(wait_for("t1", "Progress"));
    keys("t1", "q");
    assert_true(wait_gone("t1", "F10 Quit"));
    assert_int_equal(sh("test -f %s", testutil_path("out/training_state.json")), 0);
    sh("tmux -L " SOCK " kill-session -t t1 2>/dev/null");
}

static void test_ascii_screen_and_soak(void **state)
{
    make_fixture(testutil_path("out"));
    start("t2", 80, 24, "LANG=C LC_ALL=C TERM=screen NO_COLOR=1", "");
    assert_true(wait_for("t2", "step 340/800"));
    char *p = capture("t2");
    assert_non_null(strstr(p, "+- Progress"));  /* ASCII frame */
    assert_non_null(strstr(p, "####"));         /* ASCII bar */
    /* random-key soak (no q/F10/s/F2/y, which would quit, start a trainer or confirm) */
    static const char *pool[] = {"F1", "F3", "F4", "F5", "F6", "F8", "Escape", "Enter", "Up", "Down", "l", "f", "+",
                                 "-", "h", "t", "d", "g", "p", "c", "1", "2", "3", "x", "BSpace", "C-l", "Left", "Right",
                                 "PageUp", "PageDown", "Tab", "/", "e", "n"};
    unsigned seed = 12345;
    char cmd[4096];
    for (int chunk = 0; chunk < 40; chunk++) {
        size_t k = 0;
        for (int i = 0; i < 50; i++) {
            seed = seed * 1103515245u + 12345u;
            k += (size_t)snprintf(cmd + k, sizeof cmd - k, " %s", pool[(seed >> 16) % (sizeof pool / sizeof pool[0])]);
        }
        keys("t2", cmd);
    }
    keys("t2", "Escape Escape Escape");
    keys("t2", "F10");
    nanosleep(&(struct timespec){0, 500 * 1000 * 1000}, NULL);
    for (int i = 0; i < 50 && strstr(capture("t2"), "F10 Quit"); i++) {
        keys("t2", "Escape F10");
        nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    }
    p = capture("t2");
    assert_null(strstr(p, "F10 Quit"));       /* exited cleanly */
    assert_null(strstr(p, "Segmentation"));
    sh("tmux -L " SOCK " kill-session -t t2 2>/dev/null");
}

static void test_quit_keeps_trainer(void **state)
{
    make_fixture(testutil_path("out"));
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) { /* a fake trainer: holds the real lock, sleeps */
        run_lock lk;
        char err[AURL_ERR_LEN];
        if (run_lock_acquire(&lk, testutil_path("out"), err) != 0) _exit(1);
        if (write(ready[1], "x", 1) != 1) _exit(1);
        for (;;) pause();
    }
    close(ready[1]);
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1); /* EOF (0) if the fake trainer failed */
    close(ready[0]);
    start("t3", 80, 24, "LANG=C.UTF-8 TERM=tmux-256color", "");
    char want[64];
    snprintf(want, sizeof want, "trainer %d", (int)child);
    assert_true(wait_for("t3", "[RUNNING]"));
    assert_true(wait_for("t3", want));
    keys("t3", "F6");
    assert_true(wait_for("t3", "[PAUSED]"));
    keys("t3", "p");
    assert_true(wait_for("t3", "[RUNNING]"));
    keys("t3", "p");
    assert_true(wait_for("t3", "[PAUSED]"));
    keys("t3", "q"); /* quitting leaves it paused, and says so */
    assert_true(wait_for("t3", "stays PAUSED in the background"));
    assert_int_equal(kill(child, 0), 0); /* still alive */
    int status;
    assert_int_equal(waitpid(child, &status, WNOHANG), 0);
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    sh("tmux -L " SOCK " kill-session -t t3 2>/dev/null");
}

/* A damaged training_state.json and garbage metrics lines are reported and
 * left byte for byte as they were; F2 with no state offers the profiles. */
static void test_damaged_state(void **state)
{
    (void)state;
    sh("rm -rf %s", testutil_path("out"));
    const char *bad = "{\"version\":1,\"current_stage\":";
    testutil_write_file("out/training_state.json", bad);
    testutil_write_file("out/logs/metrics.jsonl", "garbage\n{\"kind\":\"train\",\"stage\":1,\"step\":10,\"time\":1,\"loss\":5}\n{\"kind\":\n");
    start("t4", 80, 24, "LANG=C.UTF-8 TERM=xterm-256color", "");
    assert_true(wait_for("t4", "training_state.json is damaged"));
    assert_true(wait_for("t4", "Left"));
    assert_non_null(strstr(capture("t4"), "2 unreadable lines"));
    keys("t4", "F2");
    assert_true(wait_for("t4", "Train with which profile?"));
    assert_non_null(strstr(capture("t4"), "speed_test"));
    keys("t4", "Escape");
    assert_true(wait_for("t4", "nothing started"));
    keys("t4", "q");
    assert_true(wait_gone("t4", "F10 Quit"));
    size_t len = 0;
    unsigned char *got = testutil_read_file(testutil_path("out/training_state.json"), &len);
    assert_non_null(got);
    assert_int_equal(len, strlen(bad));
    assert_memory_equal(got, bad, len);
    free(got);
    sh("tmux -L " SOCK " kill-session -t t4 2>/dev/null");
}

int main(void)
{
    if (!testutil_tmux_start("test_tui", g_exe, sizeof g_exe)) return 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dashboard_panels_and_keys),
        cmocka_unit_test(test_ascii_screen_and_soak),
        cmocka_unit_test(test_quit_keeps_trainer),
        cmocka_unit_test(test_damaged_state),
    };
    int rc = cmocka_run_group_tests(tests, testutil_tmpdir_setup, testutil_tmpdir_teardown);
    sh("tmux -L " SOCK " kill-server 2>/dev/null");
    return rc;
}
