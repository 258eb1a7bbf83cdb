/* Unit tests of the TUI's curses-free logic: ETA smoothing and format,
 * /proc readings of this process, the metrics/log tail (appends, partial
 * lines, garbage, truncation, replacement) and run-state classification. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "tui/eta.h"
#include "tui/metrics_tail.h"
#include "tui/procstat.h"
#include "tui/run_control.h"

static void test_eta(void **state)
{
    eta_est e;
    eta_init(&e, 0.5);
    assert_true(eta_seconds(&e, 100) < 0);
    eta_add(&e, NAN);
    eta_add(&e, -3);
    assert_int_equal(e.n, 0);
    eta_add(&e, 10);
    eta_add(&e, 20);
    assert_true(fabs(e.rate - 15) < 1e-12);
    assert_true(fabs(eta_seconds(&e, 150) - 10) < 1e-9);
    int64_t done[3] = {100, 50, 0}, total[3] = {100, 100, 0};
    /* 50 left in stage 2, stage 3 unplanned counts as 100: 150 / 15 = 10 s */
    assert_true(fabs(eta_overall(&e, done, total, 3, 100) - 10) < 1e-9);
    char buf[16];
    eta_format(3725, buf, sizeof buf);
    assert_string_equal(buf, "1:02:05");
    eta_format(59.6, buf, sizeof buf);
    assert_string_equal(buf, "0:01:00");
    eta_format(-1, buf, sizeof buf);
    assert_string_equal(buf, "--:--:--");
    eta_format(1e9, buf, sizeof buf);
    assert_string_equal(buf, ">999h");
}

static void test_procstat_self(void **state)
{
    procstat_proc p = {0};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(procstat_sample(&p, getpid(), 1.0), 0);
    assert_true(p.cpu_pct < 0); /* first sample: unknown */
    volatile double x = 0;
    struct timespec t1;
    do { /* burn ~0.3 s of CPU */
        for (int i = 0; i < 100000; i++) x += sqrt((double)i);
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while ((t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9 < 0.3);
    double dt = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    assert_int_equal(procstat_sample(&p, getpid(), 1.0 + dt), 0);
    assert_true(p.cpu_pct > 30 && p.cpu_pct < 250);
    assert_true(p.rss_kb > 100);
    assert_true(p.threads >= 1);
    assert_int_equal(p.state, 'R');
    assert_int_equal(procstat_state(getpid()), 'R');
    assert_int_equal(procstat_sample(&p, 0x3fffffff, 2.0), -1);
    assert_int_equal(procstat_state(0x3fffffff), 0);
    double load[3];
    assert_int_equal(procstat_load(load), 0);
    assert_true(load[0] >= 0);
    long tot, av;
    assert_int_equal(procstat_meminfo(&tot, &av), 0);
    assert_true(tot > 0 && av > 0 && av <= tot);
    char big[8192];
    memset(big, 'x', sizeof big);
    testutil_write_bytes("du/a/f1", big, sizeof big);
    long long du = procstat_du(testutil_path("du"));
    assert_true(du >= 8192);
    assert_int_equal(procstat_du(testutil_path("du-missing")), 0);
}

static const char *TRAIN1 = "{\"kind\":\"train\",\"stage\":1,\"step\":10,\"time\":1,\"loss\":5.5,\"tokens_per_s\":1000,\"steps_per_s\":2}\n";
static const char *TRAIN2 = "{\"kind\":\"train\",\"stage\":1,\"step\":20,\"time\":2,\"loss\":4.5,\"tokens_per_s\":1100,\"steps_per_s\":3}\n";
static const char *VAL1 = "{\"kind\":\"val\",\"stage\":1,\"step\":20,\"time\":2,\"loss\":4.8}\n";
static const char *EV1 = "{\"kind\":\"event\",\"stage\":1,\"step\":15,\"time\":2,\"msg\":\"non-finite loss or gradient at step 15: step skipped\"}\n";

static void append(const char *path, const char *text)
{
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_metrics_tail(void **state)
{
    const char *out = testutil_path("out");
    testutil_write_file("out/logs/metrics.jsonl", "");
    const char *mp = testutil_path("out/logs/metrics.jsonl");
    mtail t;
    mtail_init(&t, out);
    assert_int_equal(mtail_poll(&t), 0);
    append(mp, TRAIN1);
    /* a partial line waits for its newline */
    append(mp, "{\"kind\":\"train\",\"stage\":1,\"st");
    assert_int_equal(mtail_poll(&t), 1);
    assert_int_equal(t.train[0].n, 1);
    assert_true(t.train[0].y[0] == 5.5);
    append(mp, "ep\":20,\"time\":2,\"loss\":4.5,\"tokens_per_s\":1100,\"steps_per_s\":3}\n");
    append(mp, "garbage {{{\n\n{\"kind\":1}\n");
    append(mp, VAL1);
    append(mp, EV1);
    assert_int_equal(mtail_poll(&t), 1);
    assert_int_equal(t.train[0].n, 2);
    assert_true(t.train[0].x[1] == 20 && t.train[0].y[1] == 4.5);
    assert_int_equal(t.val[0].n, 1);
    assert_int_equal(t.garbage, 3);
    assert_int_equal(t.records, 4);
    assert_true(t.last_tokens_per_s == 1100);
    assert_int_equal(t.n_tps, 2);
    assert_int_equal(t.n_new_rates, 2);
    assert_int_equal(t.n_events, 1);
    const mtail_event *e = mtail_event_at(&t, 0);
    assert_non_null(strstr(e->text, "non-finite"));
    assert_int_equal(e->level, 1);
    assert_int_equal(mtail_poll(&t), 0); /* nothing new */
    /* truncation: the file shrank -> reread from the start */
    testutil_write_file("out/logs/metrics.jsonl", TRAIN2);
    assert_int_equal(mtail_poll(&t), 1);
    assert_int_equal(t.train[0].n, 1);
    assert_true(t.train[0].y[0] == 4.5);
    assert_int_equal(t.val[0].n, 0);
    /* replaced by a longer file (new inode) -> reread too */
    char *big = NULL;
    size_t cap = strlen(TRAIN1) * 3 + 1;
    big = malloc(cap);
    snprintf(big, cap, "%s%s%s", TRAIN1, TRAIN1, TRAIN1);
    const char *tmp = testutil_write_file("out/logs/m.tmp", big);
    assert_int_equal(rename(tmp, mp), 0);
    free(big);
    assert_int_equal(mtail_poll(&t), 1);
    assert_int_equal(t.train[0].n, 3);
    /* deleted (aurl clear) -> empty */
    unlink(mp);
    assert_int_equal(mtail_poll(&t), 1);
    assert_int_equal(t.train[0].n, 0);
    /* train.log: errors set failed, a new stage start clears it */
    testutil_write_file("out/logs/train.log",
                        "2026-01-01 00:00:00 INFO stage 1 epoch 1 step 10/800 loss 5\n"
                        "2026-01-01 00:00:01 ERROR configs/x.yaml:1:1: unknown setting\n");
    assert_int_equal(mtail_poll(&t), 1);
    assert_int_equal(t.failed, 1);
    assert_non_null(strstr(t.fail_msg, "unknown setting"));
    append(testutil_path("out/logs/train.log"),
           "2026-01-01 00:00:02 INFO stage 1 (base, transformer): 10 parameters, 1 train\n");
    mtail_poll(&t);
    assert_int_equal(t.failed, 0);
    /* progress INFO lines are not events */
    for (int i = 0; i < t.n_events; i++) assert_null(strstr(mtail_event_at(&t, i)->text, "step 10/800"));
    mtail_free(&t);
}

static void test_event_ring(void **state)
{
    mtail t;
    mtail_init(&t, "/nonexistent");
    assert_int_equal(mtail_poll(&t), 0);
    for (int i = 0; i < MTAIL_EVENTS + 5; i++) {
        char b[32];
        snprintf(b, sizeof b, "e%d\x1b", i);
        mtail_add_event(&t, 0, b);
    }
    assert_int_equal(t.n_events, MTAIL_EVENTS);
    assert_string_equal(mtail_event_at(&t, 0)->text, "e5 "); /* control chars blanked */
    assert_null(mtail_event_at(&t, MTAIL_EVENTS));
    mtail_free(&t);
}

static void test_run_state(void **state)
{
    train_state st;
    train_state_init(&st);
    assert_int_equal(run_control_classify(123, 'R', &st, 1, 0), RUN_RUNNING);
    assert_int_equal(run_control_classify(123, 'S', &st, 1, 1), RUN_RUNNING);
    assert_int_equal(run_control_classify(123, 'T', &st, 1, 0), RUN_PAUSED);
    assert_int_equal(run_control_classify(0, 0, &st, 0, 0), RUN_IDLE);
    assert_int_equal(run_control_classify(0, 0, &st, 1, 1), RUN_FAILED);
    st.stages[0].status = 2;
    assert_int_equal(run_control_classify(0, 0, &st, 1, 0), RUN_FINISHED);
    st.stages[1].status = 1;
    assert_int_equal(run_control_classify(0, 0, &st, 1, 0), RUN_IDLE);
    assert_string_equal(run_state_name(RUN_PAUSED), "paused");
    /* a live process holding the lock in the real format is found */
    run_info ri;
    run_control_refresh(&ri, testutil_path("no-outputs"), 0);
    assert_int_equal(ri.pid, 0);
    assert_int_equal(ri.state, RUN_IDLE);
}

/* A backlog of more rate samples than the buffer holds keeps the newest
 * (attaching to a long run must show the current rate, not the first
 * stage's), and the latest epoch is kept for the live progress. */
static void test_rate_backlog(void **state)
{
    (void)state;
    mtail t;
    mtail_init(&t, "no-such-dir");
    for (int i = 1; i <= 100; i++) {
        char line[256];
        snprintf(line, sizeof line,
                 "{\"kind\":\"train\",\"stage\":%d,\"step\":%d,\"time\":1,\"loss\":3,\"steps_per_s\":%d,\"epoch\":%.2f}",
                 i <= 80 ? 1 : 2, i * 10, i <= 80 ? 30 : 2, i * 0.05);
        assert_int_equal(mtail_feed_metrics_line(&t, line), 0);
    }
    assert_int_equal(t.n_new_rates, 64);
    assert_true(t.new_rates[63] == 2);
    assert_true(t.new_rates[63 - 19] == 2 && t.new_rates[63 - 20] == 30);
    assert_int_equal(t.last_stage, 2);
    assert_true(fabs(t.last_epoch - 5.0) < 1e-9);
    mtail_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eta),          cmocka_unit_test(test_procstat_self),
        cmocka_unit_test(test_metrics_tail), cmocka_unit_test(test_event_ring),
        cmocka_unit_test(test_run_state),    cmocka_unit_test(test_rate_backlog),
    };
    return cmocka_run_group_tests(tests, testutil_tmpdir_setup, testutil_tmpdir_teardown);
}
