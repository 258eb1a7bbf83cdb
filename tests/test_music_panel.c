/* The Music panel's model with no terminal: metrics lines in, rows out
 * (tui/music_panel), the data column file (missing, damaged), the training
 * samples list from samples written by the real engine/train/train_sample
 * with a tiny transformer (a damaged .music.json is an item with its
 * error), when a sample is due, and the machine CPU% parser of
 * tui/procstat. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/model/transformer.h"
#include "engine/train/metrics.h"
#include "engine/train/train_config.h"
#include "engine/train/train_sample.h"
#include "testutil.h"
#include "tui/music_panel.h"
#include "tui/procstat.h"
#include "util/log.h"

static void test_rows_from_lines(void **state)
{
    (void)state;
    mpanel p;
    mpanel_init(&p);
    mpanel_row rows[MPANEL_KEYS];
    assert_int_equal(mpanel_rows(&p, rows), 0);
    assert_int_equal(mpanel_feed_line(&p, "{\"kind\":\"train\",\"stage\":1,\"step\":8,\"loss\":5}"), 0);
    assert_int_equal(mpanel_feed_line(&p, "not json \"music\""), 0);
    assert_int_equal(mpanel_feed_line(&p, "{\"kind\":\"music\",\"stage\":1}"), 0); /* no step */
    assert_int_equal(mpanel_feed_line(&p, "{\"kind\":\"music\",\"stage\":1,\"step\":64,\"distance\":2.5,"
                                          "\"notes_per_second\":10,\"sample_seconds\":0.5}"),
                     1);
    assert_int_equal(mpanel_feed_line(&p, "{\"kind\":\"music\",\"stage\":2,\"step\":128,\"distance\":1.25,"
                                          "\"notes_per_second\":30,\"polyphony\":4,\"note_length_overlap\":0.7,"
                                          "\"sample_seconds\":0.25,\"duration\":8,\"notes\":240}"),
                     1);
    assert_int_equal(p.stage, 2);
    assert_int_equal(p.step, 128);
    assert_int_equal(p.n_hist, 2);
    assert_true(p.hy[0] == 2.5 && p.hy[1] == 1.25);
    assert_true(fabs(p.cost_sum - 0.75) < 1e-12);
    /* before the data column: values, no ratios */
    assert_int_equal(mpanel_rows(&p, rows), MPANEL_KEYS);
    assert_string_equal(rows[0].key, "notes_per_second");
    assert_true(rows[0].gen == 30 && isnan(rows[0].data) && isnan(rows[0].ratio));
    assert_true(isnan(rows[2].gen)); /* pitch_class_entropy not in the record */
    char err[AURL_ERR_LEN];
    const char *path = testutil_write_file("data_stats.json",
                                           "{\"source\":\"fixture\",\"values\":{\"notes_per_second\":20,\"polyphony\":4}}");
    assert_int_equal(mpanel_load_data(&p, path, err), 0);
    assert_int_equal(mpanel_rows(&p, rows), MPANEL_KEYS);
    assert_true(fabs(rows[0].ratio - 1.5) < 1e-12 && fabs(rows[0].bar - 0.75) < 1e-12);
    assert_true(fabs(rows[1].ratio - 1.0) < 1e-12 && fabs(rows[1].bar - 0.5) < 1e-12);
    assert_string_equal(rows[6].key, "note_length_overlap");
    assert_true(isnan(rows[6].ratio) && fabs(rows[6].bar - 0.7) < 1e-12); /* an overlap's bar is its value */
    char mid[4200];
    mpanel_latest_mid(&p, "/o", mid, sizeof mid);
    assert_string_equal(mid, "/o/samples/stage2/step_0000128.mid");
}

static void test_damaged_data_file(void **state)
{
    (void)state;
    mpanel p;
    mpanel_init(&p);
    char err[AURL_ERR_LEN];
    assert_int_equal(mpanel_load_data(&p, testutil_path("nope.json"), err), -1);
    assert_non_null(strstr(err, "nope.json"));
    const char *bad = testutil_write_file("bad_stats.json", "{\"values\": [1, 2");
    assert_int_equal(mpanel_load_data(&p, bad, err), -1);
    assert_non_null(strstr(err, "bad_stats.json"));
    const char *nov = testutil_write_file("novalues.json", "{\"x\": 1}");
    assert_int_equal(mpanel_load_data(&p, nov, err), -1);
    assert_non_null(strstr(err, "values"));
    assert_int_equal(p.have_data, 0);
}

static void test_samples_written_and_listed(void **state)
{
    (void)state;
    log_set_quiet(1);
    model_config mc;
    testutil_tiny_model_config(&mc);
    transformer *m;
    char err[AURL_ERR_LEN];
    assert_int_equal(transformer_create(&m, &mc, 1, 64, 5, err), 0);
    train_config cfg;
    train_config_defaults(&cfg);
    cfg.stage = 1;
    cfg.sample_seconds = 2;
    const char *out = testutil_path("out");
    metrics *met;
    assert_int_equal(metrics_open(&met, out, 1, err), 0);
    double cost = -1;
    for (long long step = 10; step <= 20; step += 10)
        assert_int_equal(train_sample_run(&cfg, out, testutil_path("nodata"), step, m, NULL, met, &cost, err), 0);
    assert_true(cost >= 0);
    metrics_close(met);
    transformer_free(m);
    char p[4200];
    train_sample_path(out, 1, 20, ".mid", p, sizeof p);
    assert_int_equal(access(p, R_OK), 0);
    train_sample_path(out, 1, 20, ".json", p, sizeof p);
    assert_int_equal(access(p, R_OK), 0);
    /* the metrics record: one music line per sample, parsed by the panel */
    size_t len;
    snprintf(p, sizeof p, "%s/logs/metrics.jsonl", out);
    char *text = (char *)testutil_read_file(p, &len);
    assert_non_null(text);
    mpanel mp;
    mpanel_init(&mp);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) mpanel_feed_line(&mp, line);
    free(text);
    assert_int_equal(mp.n_samples, 2);
    assert_int_equal(mp.step, 20);
    assert_true(isfinite(mp.gen[0]) && isfinite(mp.cost));
    assert_true(isnan(mp.distance)); /* no data cache: no distance */
    /* a damaged metrics file and a missing .mid */
    testutil_write_file("out/samples/stage1/step_0000030.music.json", "{\"rows\": [");
    testutil_write_file("out/samples/stage2/step_0000005.music.json", "{\"distance\": 0.5, \"rows\": []}");
    msample_list l;
    assert_int_equal(msample_scan(&l, out), 0);
    assert_int_equal(l.n, 4);
    assert_int_equal(l.items[0].step, 10);
    assert_int_equal(l.items[1].step, 20);
    assert_true(l.items[0].have_mid && !l.items[0].error[0] && isfinite(l.items[0].notes_per_second));
    assert_int_equal(l.items[2].step, 30);
    assert_non_null(strstr(l.items[2].error, "step_0000030.music.json"));
    assert_int_equal(l.items[3].stage, 2);
    assert_false(l.items[3].have_mid);
    char line[320];
    msample_format(&l.items[3], line, sizeof line);
    assert_non_null(strstr(line, "dist  0.50"));
    assert_non_null(strstr(line, "(no .mid)"));
    msample_format(&l.items[2], line, sizeof line);
    assert_non_null(strstr(line, "not a JSON object"));
    msample_list_free(&l);
    assert_int_equal(msample_scan(&l, testutil_path("missing_outputs")), 0);
    assert_int_equal(l.n, 0);
}

static void test_sample_due(void **state)
{
    (void)state;
    train_config cfg;
    train_config_defaults(&cfg);
    assert_int_equal(cfg.sample_every, -1);
    assert_true(train_sample_due(&cfg, 64, 1));
    assert_false(train_sample_due(&cfg, 65, 0));
    cfg.sample_every = 0;
    assert_false(train_sample_due(&cfg, 64, 1));
    cfg.sample_every = 10;
    assert_true(train_sample_due(&cfg, 20, 0));
    assert_false(train_sample_due(&cfg, 21, 1));
}

static void test_cpu_parse(void **state)
{
    (void)state;
    procstat_cpu c;
    memset(&c, 0, sizeof c);
    assert_int_equal(procstat_cpu_parse(&c, "intr 5\n"), -1);
    assert_int_equal(procstat_cpu_parse(&c, "cpu  100 0 100 800 0 0 0 0\ncpu0 50 0 50 400 0 0 0 0\n"
                                            "cpu1 50 0 50 400 0 0 0 0\nintr 1\n"),
                     0);
    assert_int_equal(c.n_cpus, 2);
    assert_true(c.total_pct < 0); /* one sample: not known yet */
    /* core 0 busy 100 of 100 more ticks, core 1 idle */
    assert_int_equal(procstat_cpu_parse(&c, "cpu  200 0 100 900 0 0 0 0\ncpu0 150 0 50 400 0 0 0 0\n"
                                            "cpu1 50 0 50 500 0 0 0 0\n"),
                     0);
    assert_true(fabs(c.total_pct - 50) < 1e-9);
    assert_true(fabs(c.core_pct[0] - 100) < 1e-9 && fabs(c.core_pct[1]) < 1e-9);
    procstat_cpu live;
    memset(&live, 0, sizeof live);
    assert_int_equal(procstat_cpu_sample(&live), 0);
    assert_true(live.n_cpus >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_from_lines),     cmocka_unit_test(test_damaged_data_file),
        cmocka_unit_test(test_samples_written_and_listed), cmocka_unit_test(test_sample_due),
        cmocka_unit_test(test_cpu_parse),
    };
    return cmocka_run_group_tests(tests, testutil_tmpdir_setup, testutil_tmpdir_teardown);
}
