/* Drives the real binary ($BUILD/aurl) in tmux to check the Data and
 * Generate screens at 80x24 (UTF-8) and 120x40 (LANG=C, ASCII): totals,
 * search, the piano roll and token view of a cached file, the generated
 * pieces list with a broken sidecar, and the no-checkpoint notice. Skips
 * when tmux is missing. Fixture data/outputs dirs are made by the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "data/cache.h"
#include "util/log.h"
#include "testutil.h"

#define SOCK "aurl-screens-test"

#define sh testutil_sh

static char screen[16384];

static const char *capture(const char *sess)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "tmux -L " SOCK " capture-pane -p -t %s 2>/dev/null", sess);
    FILE *p = popen(cmd, "r");
    screen[0] = 0;
    if (!p) return screen;
    size_t n = fread(screen, 1, sizeof screen - 1, p);
    screen[n] = 0;
    pclose(p);
    return screen;
}

/* Poll the pane until it contains TEXT (fails after ~20 s, printing the pane;
 * generous for a loaded 2-core machine, it returns as soon as TEXT shows). */
static void wait_for(const char *sess, const char *text)
{
    for (int i = 0; i < 400; i++) {
        if (strstr(capture(sess), text)) return;
        usleep(50000);
    }
    print_message("---- pane ----\n%s\n--------------\n", screen);
    fail_msg("'%s' did not appear", text);
}

static void keys(const char *sess, const char *k) { sh("tmux -L " SOCK " send-keys -t %s %s", sess, k); }

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* Format-0 SMF, N quarter notes from PITCH on CHANNEL after program PROGRAM. */
static void write_midi(const char *rel, int n, int pitch, int channel, int program)
{
    uint8_t buf[4096];
    static const uint8_t head[] = {'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 0, 0, 1, 0x01, 0xE0,
                                   'M', 'T', 'r', 'k', 0, 0, 0, 0};
    memcpy(buf, head, sizeof head);
    size_t p = sizeof head;
    uint8_t pc[] = {0x00, (uint8_t)(0xC0 | channel), (uint8_t)program};
    memcpy(buf + p, pc, sizeof pc), p += sizeof pc;
    for (int i = 0; i < n; i++) {
        uint8_t on[] = {0x00, (uint8_t)(0x90 | channel), (uint8_t)(pitch + i), 100};
        uint8_t off[] = {0x83, 0x60, (uint8_t)(0x80 | channel), (uint8_t)(pitch + i), 0};
        memcpy(buf + p, on, sizeof on), p += sizeof on;
        memcpy(buf + p, off, sizeof off), p += sizeof off;
    }
    uint8_t eot[] = {0x00, 0xFF, 0x2F, 0x00};
    memcpy(buf + p, eot, sizeof eot), p += sizeof eot;
    put_be32(buf + 18, (uint32_t)(p - sizeof head));
    testutil_write_bytes(rel, buf, p);
}

static char exe[512];

static int setup(void **state)
{
    log_set_quiet(1);
    if (testutil_tmpdir_setup(state) != 0) return -1;
    const char *build = getenv("BUILD");
    char cwd[2048];
    if (!getcwd(cwd, sizeof cwd)) return -1;
    snprintf(exe, sizeof exe, "%s/%s/aurl", cwd, build && *build ? build : "build");
    write_midi("data/midi/piano_song.mid", 6, 60, 0, 0);
    write_midi("data/midi/guitar_riff.mid", 8, 52, 0, 25);
    write_midi("data/midi/beat.mid", 4, 36, 9, 0);
    testutil_write_file("data/midi/junk.mid", "not midi\n");
    char err[AURL_ERR_LEN];
    if (cache_build(testutil_path("data"), 2, err) != 0) return -1;
    /* a generated piece (a real MIDI file) with its sidecar, and a broken one */
    write_midi("out/generated/stage1_best_top_p_s7.mid", 5, 64, 0, 0);
    testutil_write_file("out/generated/stage1_best_top_p_s7.json",
                        "{\"settings\":{\"strategy\":\"top_p\",\"seed\":7},\"tokens\":40,\"notes\":5,"
                        "\"duration_seconds\":2.5,\"seconds_taken\":0.25}");
    write_midi("out/generated/oops.mid", 2, 60, 0, 0);
    testutil_write_file("out/generated/oops.json", "{\"notes\": ");
    return 0;
}

static int teardown(void **state)
{
    sh("tmux -L " SOCK " kill-server 2>/dev/null");
    return testutil_tmpdir_teardown(state);
}

static int have_tmux(void) { return sh("command -v tmux >/dev/null 2>&1") == 0; }

static void start(const char *sess, int w, int h, const char *env)
{
    sh("tmux -L " SOCK " kill-session -t %s 2>/dev/null", sess);
    assert_int_equal(sh("tmux -L " SOCK " new-session -d -s %s -x %d -y %d \"env %s %s --data %s --outputs %s tui; sleep 30\"",
                        sess, w, h, env, exe, testutil_path("data"), testutil_path("out")),
                     0);
    wait_for(sess, "F10");
}

static void test_data_screen(void **state)
{
    (void)state;
    if (!have_tmux()) {
        print_message("tmux not installed: skipped\n");
        skip();
    }
    start("d1", 80, 24, "LANG=C.UTF-8 LC_ALL=C.UTF-8");
    keys("d1", "F3");
    wait_for("d1", "4 files (3 ok");
    assert_non_null(strstr(screen, "1 rejected"));
    assert_non_null(strstr(screen, "guitar_riff.mid"));
    assert_non_null(strstr(screen, "gtr"));
    assert_non_null(strstr(screen, "drm"));
    /* search filters live; Esc clears */
    keys("d1", "/ R I F");
    wait_for("d1", "1 of 4 shown");
    assert_null(strstr(screen, "piano_song.mid"));
    keys("d1", "Enter");
    /* the only row is the guitar riff: open its roll */
    keys("d1", "Enter");
    wait_for("d1", "8 notes");
    assert_non_null(strstr(screen, "guitar_riff.mid"));
    /* half blocks (polled: a capture may land between two writes of a frame) */
    for (int i = 0; i < 400 && !strstr(capture("d1"), "\u2584") && !strstr(screen, "\u2580"); i++) usleep(50000);
    if (!strstr(screen, "\u2584") && !strstr(screen, "\u2580")) fail_msg("no half-block notes in the roll:\n%s", screen);
    keys("d1", "+");
    wait_for("d1", "0.0625s/col");
    keys("d1", "Tab");
    wait_for("d1", "NOTE_ON E3");
    assert_non_null(strstr(screen, "INSTRUMENT 3 (guitar)"));
    keys("d1", "Escape");
    wait_for("d1", "1 of 4 shown");
    keys("d1", "Escape");
    wait_for("d1", "piano_song.mid");
    keys("d1", "q");
    sh("tmux -L " SOCK " kill-session -t d1 2>/dev/null");
}

static void test_generate_screen(void **state)
{
    (void)state;
    if (!have_tmux()) skip();
    start("g1", 80, 24, "LANG=C.UTF-8 LC_ALL=C.UTF-8");
    keys("g1", "F4");
    wait_for("g1", "stage1_best_top_p_s7");
    assert_non_null(strstr(screen, "No checkpoint yet: train first (F2)"));
    assert_non_null(strstr(screen, "bad sidecar"));
    assert_non_null(strstr(screen, "Strategy"));
    assert_non_null(strstr(screen, "top_p"));
    /* change the strategy with the arrows, type a temperature */
    keys("g1", "Right");
    wait_for("g1", "beam");
    keys("g1", "Down 0 . 5 Enter");
    wait_for("g1", "0.50");
    /* g without a checkpoint says what to do */
    keys("g1", "g");
    wait_for("g1", "train first");
    /* the piano roll of the first piece in the list */
    keys("g1", "Tab Home Enter");
    wait_for("g1", "5 notes");
    keys("g1", "Escape");
    wait_for("g1", "Generated piece");
    keys("g1", "q");
    sh("tmux -L " SOCK " kill-session -t g1 2>/dev/null");
}

/* LANG=C at 120x40: ASCII glyphs only, still the same content. */
static void test_ascii_large(void **state)
{
    (void)state;
    if (!have_tmux()) skip();
    start("a1", 120, 40, "LANG=C LC_ALL=C");
    keys("a1", "F3");
    wait_for("a1", "piano_song.mid");
    keys("a1", "End Enter");
    wait_for("a1", "6 notes");
    for (const unsigned char *p = (const unsigned char *)screen; *p; p++)
        if (*p >= 0x80) fail_msg("non-ASCII byte 0x%02x in LANG=C:\n%s", *p, screen);
    assert_true(strchr(screen, '#') || strchr(screen, ':') || strchr(screen, '.'));
    keys("a1", "Escape F4");
    wait_for("a1", "Generated piece");
    for (const unsigned char *p = (const unsigned char *)screen; *p; p++)
        if (*p >= 0x80) fail_msg("non-ASCII byte 0x%02x in LANG=C:\n%s", *p, screen);
    keys("a1", "q");
    sh("tmux -L " SOCK " kill-session -t a1 2>/dev/null");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_screen),
        cmocka_unit_test(test_generate_screen),
        cmocka_unit_test(test_ascii_large),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
