/* Tests of the TUI's curses-free list models: data_list on a small cache
 * built in a temp data dir (rows, families, totals, search, sort, decoding
 * a file for the roll, the messages without MIDI or cache), gen_list with
 * good, broken and missing sidecars (newest first), the settings form,
 * the `aurl generate` argv, progress parsing, and gen_run on a shell child. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "data/cache.h"
#include "data/tokenizer.h"
#include "tui/data_list.h"
#include "tui/gen_list.h"
#include "tui/gen_run.h"
#include "testutil.h"

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* A format-0 SMF (480 ppqn, 120 BPM) with N quarter notes from PITCH up on
 * CHANNEL (9 = drums) after a program change to PROGRAM. */
static size_t make_midi(uint8_t *buf, int n, int pitch, int channel, int program)
{
    static const uint8_t head[] = {'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 0, 0, 1, 0x01, 0xE0,
                                   'M', 'T', 'r', 'k', 0, 0, 0, 0};
    memcpy(buf, head, sizeof head);
    size_t p = sizeof head;
    uint8_t pc[] = {0x00, (uint8_t)(0xC0 | channel), (uint8_t)program};
    memcpy(buf + p, pc, sizeof pc), p += sizeof pc;
    for (int i = 0; i < n; i++) {
        uint8_t on[] = {0x00, (uint8_t)(0x90 | channel), (uint8_t)(pitch + i), 100};
        uint8_t off[] = {0x83, 0x60, (uint8_t)(0x80 | channel), (uint8_t)(pitch + i), 0}; /* delta 480 */
        memcpy(buf + p, on, sizeof on), p += sizeof on;
        memcpy(buf + p, off, sizeof off), p += sizeof off;
    }
    uint8_t eot[] = {0x00, 0xFF, 0x2F, 0x00};
    memcpy(buf + p, eot, sizeof eot), p += sizeof eot;
    put_be32(buf + 18, (uint32_t)(p - sizeof head));
    return p;
}

static void write_midi(const char *rel, int n, int pitch, int channel, int program)
{
    uint8_t buf[4096];
    size_t len = make_midi(buf, n, pitch, channel, program);
    testutil_write_bytes(rel, buf, len);
}

/* ---------- data_list ---------- */

static void test_dlist_messages(void **state)
{
    (void)state;
    dlist d;
    dlist_init(&d);
    /* no MIDI at all: tells the user to fetch */
    assert_int_equal(dlist_load(&d, testutil_path("nodata")), -1);
    assert_non_null(strstr(d.message, "aurl data fetch"));
    /* MIDI but no cache: tells the user to build the cache */
    write_midi("nocache/midi/x.mid", 2, 60, 0, 0);
    assert_int_equal(dlist_load(&d, testutil_path("nocache")), -1);
    assert_non_null(strstr(d.message, "aurl data cache"));
    assert_null(strstr(d.message, "aurl data fetch"));
    assert_int_equal(d.n_view, 0);
    dlist_free(&d);
}

static void test_dlist_cache(void **state)
{
    (void)state;
    write_midi("d/midi/piano_song.mid", 3, 60, 0, 0);      /* 1.5 s piano */
    write_midi("d/midi/sub/Guitar_Long.mid", 8, 48, 0, 25); /* 4 s guitar */
    write_midi("d/midi/beat.mid", 4, 36, 9, 0);             /* 2 s drums */
    testutil_write_file("d/midi/broken.mid", "this is not a MIDI file\n");
    char err[AURL_ERR_LEN];
    cache_build_result res;
    assert_int_equal(cache_build_ex(testutil_path("d"), 2, NULL, NULL, &res, err), 0);
    assert_int_equal(res.n_accepted, 3);

    dlist d;
    dlist_init(&d);
    assert_int_equal(dlist_load(&d, testutil_path("d")), 0);
    assert_string_equal(d.message, "");
    assert_int_equal(d.n_rows, 4);
    assert_int_equal(d.n_view, 4);
    assert_int_equal(d.totals.files, 4);
    assert_int_equal(d.totals.accepted, 3);
    assert_int_equal(d.totals.rejected, 1);
    assert_int_equal(d.totals.notes, 15);
    assert_true(d.totals.seconds > 7.0 && d.totals.seconds < 8.0);
    assert_int_equal(d.totals.tokens, res.n_tokens);

    /* name order (case-insensitive): beat, broken, piano_song, sub/Guitar_Long */
    assert_string_equal(dlist_view_row(&d, 0)->e->path, "beat.mid");
    assert_string_equal(dlist_view_row(&d, 1)->e->path, "broken.mid");
    assert_string_equal(dlist_view_row(&d, 3)->e->path, "sub/Guitar_Long.mid");
    /* families from the tokens */
    char fam[64];
    dlist_families_str(dlist_view_row(&d, 0)->families, fam, sizeof fam);
    assert_string_equal(fam, "drm");
    dlist_families_str(dlist_view_row(&d, 3)->families, fam, sizeof fam);
    assert_string_equal(fam, "gtr");
    dlist_families_str(dlist_view_row(&d, 2)->families, fam, sizeof fam);
    assert_string_equal(fam, "pno");
    /* rejected row: status is its reason, loading it for the roll fails cleanly */
    const dlist_row *bad = dlist_view_row(&d, 1);
    assert_int_equal(bad->e->split, CACHE_REJECTED);
    assert_true(strlen(dlist_status(bad)) > 0);
    assert_string_not_equal(dlist_status(bad), "train");
    score sc;
    score_init(&sc);
    assert_int_equal(dlist_load_score(&d, 1, &sc, err), -1);
    assert_non_null(strstr(err, "broken.mid"));
    /* a good row decodes into its notes */
    assert_int_equal(dlist_load_score(&d, 3, &sc, err), 0);
    assert_int_equal(sc.n_notes, 8);
    assert_int_equal(sc.notes[0].pitch, 48);
    assert_int_equal(sc.notes[0].instrument, 3);
    assert_int_equal(dlist_load_score(&d, 0, &sc, err), 0);
    assert_int_equal(sc.n_notes, 4);
    assert_int_equal(sc.notes[0].instrument, SCORE_DRUMS);
    score_free(&sc);

    /* search: case-insensitive substring of the path */
    dlist_set_filter(&d, "GUITAR");
    assert_int_equal(d.n_view, 1);
    assert_string_equal(dlist_view_row(&d, 0)->e->path, "sub/Guitar_Long.mid");
    dlist_set_filter(&d, "b");
    assert_int_equal(d.n_view, 3); /* beat, broken, sub/... */
    dlist_set_filter(&d, "nothing-matches");
    assert_int_equal(d.n_view, 0);
    assert_null(dlist_view_row(&d, 0));
    dlist_set_filter(&d, "");
    assert_int_equal(d.n_view, 4);
    /* sort by duration: longest first, rejected (0 s) last */
    dlist_set_sort(&d, DLIST_SORT_DURATION);
    assert_string_equal(dlist_view_row(&d, 0)->e->path, "sub/Guitar_Long.mid");
    assert_string_equal(dlist_view_row(&d, 1)->e->path, "beat.mid");
    assert_string_equal(dlist_view_row(&d, 3)->e->path, "broken.mid");
    /* the filter and sort survive a reload */
    dlist_set_filter(&d, "song");
    assert_int_equal(dlist_load(&d, testutil_path("d")), 0);
    assert_int_equal(d.n_view, 1);
    assert_int_equal(d.sort, DLIST_SORT_DURATION);
    dlist_free(&d);
}

static void test_dlist_helpers(void **state)
{
    (void)state;
    uint16_t toks[] = {TOK_START, TOK_NOTE_ON + 39, TOK_INSTRUMENT + 15, TOK_INSTRUMENT + 4, TOK_NOTE_ON + 10,
                       TOK_INSTRUMENT + 15, TOK_NOTE_ON + 15, TOK_END};
    uint16_t m = dlist_families_of(toks, sizeof toks / sizeof *toks);
    assert_int_equal(m, (1 << 0) | (1 << 4) | (1 << 15)); /* an instrument without notes does not count */
    char buf[64];
    dlist_families_str(m, buf, sizeof buf);
    assert_string_equal(buf, "pno,bas,drm");
    dlist_families_str(0, buf, sizeof buf);
    assert_string_equal(buf, "-");
    dlist_families_str(0xffff, buf, 8); /* truncates without overflowing */
    assert_true(strlen(buf) < 8);
    dlist_format_duration(65, buf, sizeof buf);
    assert_string_equal(buf, "1:05");
    dlist_format_duration(3725, buf, sizeof buf);
    assert_string_equal(buf, "1:02:05");
}

/* ---------- gen_list ---------- */

static void set_mtime(const char *rel, time_t t)
{
    struct timespec ts[2] = {{t, 0}, {t, 0}};
    assert_int_equal(utimensat(AT_FDCWD, testutil_path(rel), ts, 0), 0);
}

static void test_glist(void **state)
{
    (void)state;
    glist l = {0};
    char err[AURL_ERR_LEN];
    /* no generated/ yet: empty, not an error */
    assert_int_equal(glist_scan(&l, testutil_path("out"), err), 0);
    assert_int_equal(l.n, 0);
    testutil_write_file("out/generated/old.mid", "MThd");
    testutil_write_file("out/generated/old.json",
                        "{\"settings\":{\"strategy\":\"top_p\",\"seed\":7},\"tokens\":300,\"notes\":42,"
                        "\"duration_seconds\":12.5,\"seconds_taken\":0.8}");
    testutil_write_file("out/generated/new.mid", "MThd");
    testutil_write_file("out/generated/new.json", "{\"n_notes\": 3, \"duration\": [1,2"); /* broken */
    testutil_write_file("out/generated/lonely.mid", "MThd");                                /* no sidecar */
    testutil_write_file("out/generated/orphan.json", "{\"notes\": 5}");                    /* no .mid */
    testutil_write_file("out/generated/notes.txt", "ignored");
    set_mtime("out/generated/old.mid", 1000000);
    set_mtime("out/generated/new.mid", 3000000);
    set_mtime("out/generated/lonely.mid", 2000000);
    set_mtime("out/generated/orphan.json", 500000);
    assert_int_equal(glist_scan(&l, testutil_path("out"), err), 0);
    assert_int_equal(l.n, 4);
    /* newest first */
    assert_string_equal(l.items[0].name, "new");
    assert_string_equal(l.items[1].name, "lonely");
    assert_string_equal(l.items[2].name, "old");
    assert_string_equal(l.items[3].name, "orphan");
    assert_int_equal(l.items[0].ok, 0);
    assert_non_null(strstr(l.items[0].error, "JSON"));
    assert_int_equal(l.items[1].ok, 0);
    assert_non_null(strstr(l.items[1].error, "sidecar"));
    const glist_item *it = &l.items[2];
    assert_int_equal(it->ok, 1);
    assert_int_equal(it->n_notes, 42);
    assert_int_equal(it->n_tokens, 300);
    assert_true(it->duration == 12.5);
    assert_true(it->seconds_taken == 0.8);
    assert_string_equal(it->strategy, "top_p");
    assert_int_equal(it->seed, 7);
    assert_non_null(strstr(it->mid_path, "generated/old.mid"));
    assert_int_equal(l.items[3].ok, 0);
    assert_non_null(strstr(l.items[3].error, ".mid"));
    assert_int_equal(glist_find(&l, "old"), 2);
    assert_int_equal(glist_find(&l, "nope"), -1);
    glist_free(&l);

    /* sidecar parsing of odd values: wrong types and non-objects never crash */
    glist_item x;
    memset(&x, 0, sizeof x);
    const char *odd = "{\"notes\":\"many\",\"duration_seconds\":-3,\"settings\":{\"strategy\":5}}";
    glist_parse_sidecar(&x, odd, strlen(odd));
    assert_int_equal(x.ok, 1);
    assert_int_equal(x.n_notes, -1);
    assert_true(x.duration < 0);
    assert_string_equal(x.strategy, "");
    glist_parse_sidecar(&x, "[1,2]", 5);
    assert_int_equal(x.ok, 0);
    glist_parse_sidecar(&x, "", 0);
    assert_int_equal(x.ok, 0);
}

/* ---------- settings form and argv ---------- */

static void test_gform(void **state)
{
    (void)state;
    gform f;
    gform_init(&f);
    char err[AURL_ERR_LEN], buf[64];
    assert_int_equal(gform_validate(&f, err), 0);
    gform_value(&f, GFORM_STRATEGY, buf, sizeof buf);
    assert_string_equal(buf, "top_p");
    gform_step(&f, GFORM_STRATEGY, +1);
    gform_value(&f, GFORM_STRATEGY, buf, sizeof buf);
    assert_string_equal(buf, "beam");
    gform_step(&f, GFORM_STRATEGY, +1); /* cycles */
    gform_value(&f, GFORM_STRATEGY, buf, sizeof buf);
    assert_string_equal(buf, "greedy");
    assert_int_equal(gform_relevant(&f, GFORM_TEMPERATURE), 0);
    f.s.strategy = SAMPLER_TOP_K;
    assert_int_equal(gform_relevant(&f, GFORM_TOP_K), 1);
    assert_int_equal(gform_relevant(&f, GFORM_TOP_P), 0);
    /* stepping stays in range */
    f.s.temperature = 0.1f;
    for (int i = 0; i < 10; i++) gform_step(&f, GFORM_TEMPERATURE, -1);
    assert_true(f.s.temperature >= 0.05f - 1e-6f && f.s.temperature > 0);
    f.s.top_p = 0.95f;
    for (int i = 0; i < 5; i++) gform_step(&f, GFORM_TOP_P, +1);
    assert_true(f.s.top_p <= 1.0f);
    f.s.top_k = 1;
    gform_step(&f, GFORM_TOP_K, -1);
    assert_int_equal(f.s.top_k, 1);
    f.s.seed = 0;
    gform_step(&f, GFORM_SEED, -1);
    assert_int_equal(f.s.seed, 0);
    gform_step(&f, GFORM_MODE, +1);
    gform_value(&f, GFORM_MODE, buf, sizeof buf);
    assert_string_equal(buf, "vae");
    /* typed values */
    assert_int_equal(gform_set_text(&f, GFORM_TEMPERATURE, "0.7", err), 0);
    assert_true(f.s.temperature > 0.69f && f.s.temperature < 0.71f);
    assert_int_equal(gform_set_text(&f, GFORM_TEMPERATURE, "abc", err), -1);
    assert_non_null(strstr(err, "Temperature"));
    assert_int_equal(gform_set_text(&f, GFORM_TEMPERATURE, "0", err), -1);
    assert_true(f.s.temperature > 0.69f); /* unchanged on error */
    assert_int_equal(gform_set_text(&f, GFORM_TOP_K, "2.5", err), -1);
    assert_int_equal(gform_set_text(&f, GFORM_TOP_P, "1.5", err), -1);
    assert_int_equal(gform_set_text(&f, GFORM_LENGTH, "512", err), 0);
    assert_int_equal(f.s.max_tokens, 512);
    assert_int_equal(gform_set_text(&f, GFORM_LENGTH, "-4", err), -1);
    assert_int_equal(gform_set_text(&f, GFORM_SEED, "12345", err), 0);
    assert_int_equal(f.s.seed, 12345);
    assert_int_equal(gform_set_text(&f, GFORM_SECONDS, "off", err), 0);
    assert_true(f.s.max_seconds == 0);
    assert_int_equal(gform_set_text(&f, GFORM_STRATEGY, "1", err), -1);
    gform_value(&f, GFORM_SECONDS, buf, sizeof buf);
    assert_string_equal(buf, "off");
}

static int argv_has(const gen_argv *a, const char *opt, const char *val)
{
    for (int i = 0; i + 1 < a->argc; i++)
        if (!strcmp(a->argv[i], opt)) return val ? !strcmp(a->argv[i + 1], val) : 1;
    return !val && a->argc && !strcmp(a->argv[a->argc - 1], opt);
}

static void test_argv_and_progress(void **state)
{
    (void)state;
    gform f;
    gform_init(&f);
    f.s.strategy = SAMPLER_TOP_K;
    f.s.top_k = 17;
    f.s.temperature = 0.8f;
    f.s.max_tokens = 640;
    f.s.seed = 99;
    gen_argv a;
    assert_int_equal(gen_argv_build(&a, "/x/aurl", "/o", "/d", &f, "/o/checkpoints/best.ckpt"), 0);
    assert_string_equal(a.argv[0], "/x/aurl");
    assert_null(a.argv[a.argc]);
    int gen_at = -1;
    for (int i = 0; i < a.argc; i++)
        if (!strcmp(a.argv[i], "generate")) gen_at = i;
    assert_int_equal(gen_at, 5); /* after --outputs /o --data /d */
    assert_true(argv_has(&a, "--outputs", "/o"));
    assert_true(argv_has(&a, "--data", "/d"));
    assert_true(argv_has(&a, "--strategy", "top_k"));
    assert_true(argv_has(&a, "--top-k", "17"));
    assert_true(argv_has(&a, "--temperature", "0.8"));
    assert_true(argv_has(&a, "--length", "640"));
    assert_true(argv_has(&a, "--seed", "99"));
    assert_true(argv_has(&a, "--mode", "transformer"));
    assert_true(argv_has(&a, "--checkpoint", "/o/checkpoints/best.ckpt"));
    assert_true(argv_has(&a, "--progress", NULL));
    assert_true(argv_has(&a, "--json", NULL));
    assert_false(argv_has(&a, "--seconds", NULL));
    f.s.max_seconds = 30;
    assert_int_equal(gen_argv_build(&a, "aurl", NULL, NULL, &f, NULL), 0);
    assert_string_equal(a.argv[1], "generate");
    assert_true(argv_has(&a, "--seconds", "30"));
    assert_false(argv_has(&a, "--checkpoint", NULL));
    char huge[9000];
    memset(huge, 'a', sizeof huge - 1);
    huge[sizeof huge - 1] = 0;
    assert_int_equal(gen_argv_build(&a, huge, NULL, NULL, &f, NULL), -1);

    long d = -1, t = -1;
    assert_int_equal(gen_parse_progress("progress 12 1024\n", &d, &t), 1);
    assert_int_equal(d, 12);
    assert_int_equal(t, 1024);
    assert_int_equal(gen_parse_progress("progress 3 4", &d, &t), 1);
    assert_int_equal(d, 3);
    assert_int_equal(gen_parse_progress("progress 3", &d, &t), 0);
    assert_int_equal(gen_parse_progress("progress 3 4 extra", &d, &t), 0);
    assert_int_equal(gen_parse_progress("error: progress 3 4", &d, &t), 0);
    assert_int_equal(gen_parse_progress("progress -1 4", &d, &t), 0);
    assert_int_equal(gen_parse_progress("", &d, &t), 0);
}

/* ---------- gen_run ---------- */

static void run_until_done(gen_run *r, double timeout)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!r->finished) {
        gen_run_poll(r);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) * 1e-9 > timeout) fail_msg("child did not finish");
        usleep(5000);
    }
}

static void test_gen_run(void **state)
{
    (void)state;
    gen_run r;
    gen_run_init(&r);
    char err[AURL_ERR_LEN];
    char *ok_argv[] = {"/bin/sh", "-c",
                       "printf 'progress 1 4\\nprogress 4 4\\nwarn: x' >&2; echo '{\"n_notes\": 3}'; exit 0", NULL};
    assert_int_equal(gen_run_start(&r, ok_argv, err), 0);
    assert_true(gen_run_active(&r));
    run_until_done(&r, 10);
    assert_int_equal(r.exit_code, 0);
    assert_int_equal(r.done, 4);
    assert_int_equal(r.total, 4);
    assert_string_equal(r.last_error, "warn: x"); /* the unterminated last line counts too */
    assert_non_null(r.out);
    assert_non_null(strstr(r.out, "\"n_notes\": 3"));
    assert_false(gen_run_active(&r));

    char *fail_argv[] = {"/bin/sh", "-c", "echo 'no checkpoint here' >&2; exit 2", NULL};
    assert_int_equal(gen_run_start(&r, fail_argv, err), 0);
    run_until_done(&r, 10);
    assert_int_equal(r.exit_code, 2);
    assert_string_equal(r.last_error, "no checkpoint here");

    char *missing[] = {"/nonexistent/aurl", NULL};
    assert_int_equal(gen_run_start(&r, missing, err), 0);
    run_until_done(&r, 10);
    assert_int_equal(r.exit_code, 127);

    /* cancel: SIGTERM ends a long child quickly */
    char *slow[] = {"/bin/sh", "-c", "echo 'progress 0 10' >&2; exec sleep 30", NULL};
    assert_int_equal(gen_run_start(&r, slow, err), 0);
    while (r.total == 0 && !r.finished) {
        gen_run_poll(&r);
        usleep(5000);
    }
    assert_int_equal(r.total, 10);
    gen_run_cancel(&r);
    assert_int_equal(r.cancelled, 1);
    run_until_done(&r, 5);
    assert_int_equal(r.exit_code, 128 + 15);
    /* freeing a running child stops and reaps it */
    assert_int_equal(gen_run_start(&r, slow, err), 0);
    pid_t pid = r.pid;
    gen_run_free(&r);
    assert_int_equal(kill(pid, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dlist_messages),
        cmocka_unit_test(test_dlist_cache),
        cmocka_unit_test(test_dlist_helpers),
        cmocka_unit_test(test_glist),
        cmocka_unit_test(test_gform),
        cmocka_unit_test(test_argv_and_progress),
        cmocka_unit_test(test_gen_run),
    };
    return cmocka_run_group_tests(tests, testutil_tmpdir_setup, testutil_tmpdir_teardown);
}
