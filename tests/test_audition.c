/* Audition through fluidsynth: a small generated piece renders to a valid
 * 16-bit stereo 44.1 kHz WAV of about the piece's length (plus the release
 * tail) that is audibly non-silent (checked here and, when python3 is there,
 * by Python's own wave module); a piece without notes renders silence;
 * missing SoundFonts, bad MIDI files and the missing audio device are clean
 * errors. Skips (passes) when no SoundFont is installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/audition.h"
#include "data/midi_write.h"
#include "data/score.h"
#include "util/log.h"
#include "testutil.h"

static char soundfont[4096];

static int setup(void **state)
{
    log_set_quiet(1);
    return testutil_tmpdir_setup(state);
}

/* Writes a MIDI file of N_NOTES quarter-second piano notes (C major arpeggio). */
static const char *write_piece(const char *name, int n_notes)
{
    score s;
    score_init(&s);
    for (int i = 0; i < n_notes; i++) {
        static const int p[] = {60, 64, 67, 72};
        score_note n = {0.25 * i, 0.25 * i + 0.25, (uint8_t)p[i % 4], 100, 0};
        assert_int_equal(score_add_note(&s, n), 0);
    }
    if (n_notes == 0) assert_int_equal(score_add_tempo(&s, (score_tempo){0.0, 120.0}), 0);
    char err[AURL_ERR_LEN];
    const char *path = testutil_path(name);
    assert_int_equal(midi_write_file(path, &s, err), 0);
    score_free(&s);
    return path;
}

static int have_soundfont(void)
{
    char err[AURL_ERR_LEN];
    if (soundfont[0]) return 1;
    if (audition_find_soundfont(soundfont, sizeof soundfont, err) == 0) return 1;
    fprintf(stderr, "skipping: %s\n", err);
    return 0;
}

static uint32_t le32(const unsigned char *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static unsigned le16(const unsigned char *p) { return p[0] | p[1] << 8; }

/* Checks the WAV header; returns the number of frames. */
static uint32_t check_wav(const char *path, size_t *len_out)
{
    size_t len;
    unsigned char *w = testutil_read_file(path, &len);
    assert_true(len >= 44);
    assert_memory_equal(w, "RIFF", 4);
    assert_int_equal(le32(w + 4), len - 8);
    assert_memory_equal(w + 8, "WAVEfmt ", 8);
    assert_int_equal(le16(w + 20), 1);
    assert_int_equal(le16(w + 22), 2);
    assert_int_equal(le32(w + 24), 44100);
    assert_int_equal(le16(w + 34), 16);
    assert_memory_equal(w + 36, "data", 4);
    assert_int_equal(le32(w + 40), len - 44);
    free(w);
    *len_out = len;
    return (uint32_t)((len - 44) / 4);
}

static void test_render_piece(void **state)
{
    (void)state;
    if (!have_soundfont()) return;
    const char *mid = write_piece("arp.mid", 8); /* 2 s */
    const char *wav = testutil_path("arp.wav");
    char err[AURL_ERR_LEN];
    double peak = -1;
    assert_int_equal(audition_render_wav(mid, wav, NULL, &peak, err), 0);
    size_t len;
    double seconds = check_wav(wav, &len) / 44100.0;
    /* 2 s of music plus the 1 s release tail */
    assert_float_equal(seconds, 3.0, 0.01);
    assert_true(peak > 0.01 && peak <= 1.0);
    /* independent reader: Python's wave module must agree and hear sound */
    if (access("/usr/bin/python3", X_OK) == 0) {
        char cmd[8192];
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 -c \"import wave,array,sys\n"
                 "w=wave.open('%s'); assert w.getnchannels()==2 and w.getsampwidth()==2 and w.getframerate()==44100\n"
                 "a=array.array('h', w.readframes(w.getnframes()))\n"
                 "sys.exit(0 if max(abs(x) for x in a) > 300 and abs(w.getnframes()/44100-%f)<0.01 else 1)\"",
                 wav, seconds);
        assert_int_equal(system(cmd), 0);
    }
    /* no temp files left beside the output */
    assert_int_equal(testutil_count_files(".tmp", 0), 0);
}

static void test_render_silence(void **state)
{
    (void)state;
    if (!have_soundfont()) return;
    const char *mid = write_piece("empty.mid", 0);
    const char *wav = testutil_path("empty.wav");
    char err[AURL_ERR_LEN];
    double peak = -1;
    if (audition_render_wav(mid, wav, soundfont, &peak, err) == 0) {
        size_t len;
        check_wav(wav, &len);
        assert_true(peak >= 0 && peak < 1e-3);
    } else {
        /* a file with no notes may be refused, but with a message naming it */
        assert_non_null(strstr(err, "empty.mid"));
    }
}

static void test_errors(void **state)
{
    (void)state;
    char err[AURL_ERR_LEN];
    const char *mid = write_piece("ok.mid", 4);
    const char *wav = testutil_path("never.wav");
    /* missing SoundFont */
    err[0] = 0;
    assert_int_equal(audition_render_wav(mid, wav, "/nonexistent/x.sf2", NULL, err), -1);
    assert_non_null(strstr(err, "/nonexistent/x.sf2"));
    setenv("AURL_SOUNDFONT", "/nonexistent/y.sf2", 1);
    char sf[4096];
    assert_int_equal(audition_find_soundfont(sf, sizeof sf, err), -1);
    assert_non_null(strstr(err, "y.sf2"));
    unsetenv("AURL_SOUNDFONT");
    /* a file that is not a SoundFont */
    const char *notsf = testutil_write_file("bogus.sf2", "this is not a soundfont");
    assert_int_equal(audition_render_wav(mid, wav, notsf, NULL, err), -1);
    assert_non_null(strstr(err, "bogus.sf2"));
    /* bad MIDI files: garbage and a missing file */
    const char *bad = testutil_write_file("bad.mid", "MThd garbage that is not a midi file");
    audition *a = NULL;
    if (have_soundfont()) {
        assert_int_equal(audition_render_wav(bad, wav, NULL, NULL, err), -1);
        assert_non_null(strstr(err, "bad.mid"));
        assert_int_equal(audition_render_wav(testutil_path("missing.mid"), wav, NULL, NULL, err), -1);
        assert_non_null(strstr(err, "missing.mid"));
        assert_int_equal(audition_play(&a, bad, NULL, err), -1);
        assert_null(a);
    }
    assert_int_equal(access(wav, F_OK), -1);
}

/* Playing needs an audio device; without one it must fail cleanly. */
static void test_play_device(void **state)
{
    (void)state;
    if (!have_soundfont()) return;
    const char *mid = write_piece("play.mid", 4);
    char err[AURL_ERR_LEN] = "";
    audition *a = NULL;
    if (audition_play(&a, mid, NULL, err) == 0) {
        assert_non_null(a);
        assert_true(audition_duration(a) > 0.9 && audition_duration(a) < 1.1);
        double p = audition_position(a);
        assert_true(p >= 0 && p <= audition_duration(a));
        audition_stop(a);
    } else {
        assert_null(a);
        assert_non_null(strstr(err, "no audio device"));
    }
    audition_stop(NULL);
    assert_true(audition_position(NULL) == 0 && !audition_playing(NULL));
}

/* `aurl --outputs O play ARGS...` (the build's own binary); exit code. */
static int run_play(const char *const *args)
{
    const char *pre[] = {"-q", "--outputs", testutil_path("outputs"), "play", NULL};
    return testutil_run_aurl(pre, args, NULL, NULL);
}

/* The command: bad file exit 2, --wav renders, and with no device (or
 * after playing on one) exit 0; without a device the WAV lands under
 * <outputs>/audition/, never beside the input. */
static void test_play_command(void **state)
{
    (void)state;
    if (!have_soundfont()) return;
    const char *mid = write_piece("cmd.mid", 2);
    const char *bad[] = {testutil_write_file("cmdbad.mid", "garbage"), NULL};
    assert_int_equal(run_play(bad), 2);
    const char *none[] = {NULL};
    assert_int_equal(run_play(none), 2);
    const char *wav[] = {mid, "--wav", testutil_path("cmd.wav"), NULL};
    assert_int_equal(run_play(wav), 0);
    size_t len;
    assert_true(check_wav(testutil_path("cmd.wav"), &len) > 44100);
    const char *dev[] = {mid, NULL};
    assert_int_equal(run_play(dev), 0);
    char err[AURL_ERR_LEN];
    audition *a = NULL;
    if (audition_play(&a, mid, NULL, err) != 0) /* no device: it rendered */
        check_wav(testutil_path("outputs/audition/cmd.wav"), &len);
    audition_stop(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_piece),
        cmocka_unit_test(test_render_silence),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_play_device),
        cmocka_unit_test(test_play_command),
    };
    return cmocka_run_group_tests(tests, setup, testutil_tmpdir_teardown);
}
