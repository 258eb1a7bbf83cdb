/* Tests of src/data/smf_sanitize: every repair and reject case on small
 * in-memory MIDI images. Each accepted output is also checked to be
 * canonical: libsmf loads it, and sanitising it again changes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <smf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/midi_read.h"
#include "data/smf_glue.h"
#include "data/smf_sanitize.h"
#include "midi_image.h"

/* Result of one sanitiser run. */
typedef struct {
    int rc;
    smf_report rep;
    char err[AURL_ERR_LEN];
    int note_ons;  /* note-ons with velocity > 0 in the output, via libsmf */
    int tracks;    /* tracks libsmf saw */
    int ppqn;
} sres;

/* Sanitise M with LIM (NULL: defaults) and verify the output's invariants. */
static sres run_lim(const mimg *m, const smf_limits *lim)
{
    sres r;
    memset(&r, 0, sizeof r);
    uint8_t *out = NULL;
    size_t out_len = 0;
    r.rc = smf_sanitize(m->p, m->n, lim, &out, &out_len, &r.rep, r.err);
    if (r.rc != 0) {
        assert_null(out);
        assert_true(strlen(r.err) > 0);
        return r;
    }
    assert_non_null(out);
    /* idempotent: the canonical form needs no repair and is reproduced */
    uint8_t *again = NULL;
    size_t again_len = 0;
    smf_report rep2;
    char err2[AURL_ERR_LEN];
    assert_int_equal(smf_sanitize(out, out_len, lim, &again, &again_len, &rep2, err2), 0);
    assert_int_equal(rep2.repairs, 0);
    assert_int_equal(again_len, out_len);
    assert_memory_equal(again, out, out_len);
    free(again);
    /* libsmf accepts it */
    smf_glue_route_logs();
    smf_t *smf = smf_load_from_memory(out, (int)out_len);
    assert_non_null(smf);
    r.tracks = smf->number_of_tracks;
    r.ppqn = smf->ppqn;
    smf_event_t *ev;
    while ((ev = smf_get_next_event(smf)) != NULL) {
        if ((ev->midi_buffer[0] & 0xF0) == 0x90 && ev->midi_buffer[2] > 0) r.note_ons++;
        /* only channel messages and the kept metas survive */
        uint8_t s = ev->midi_buffer[0];
        assert_true((s >= 0x80 && s < 0xF0) ||
                    (s == 0xFF && (ev->midi_buffer[1] == 0x51 || ev->midi_buffer[1] == 0x58 ||
                                   ev->midi_buffer[1] == 0x59 || ev->midi_buffer[1] == 0x2F)));
    }
    smf_glue_delete(smf);
    free(out);
    return r;
}

static sres run(const mimg *m) { return run_lim(m, NULL); }

/* A track body with N notes (one beat apart, running status for the offs). */
static void notes(mimg *m, int n, int ch)
{
    for (int i = 0; i < n; i++) {
        mi_ev(m, i ? 240 : 0, 3, 0x90 | ch, 60 + i, 100);
        mi_ev(m, 240, 2, 60 + i, 0); /* running status, velocity-0 off */
    }
}

static void test_clean_format0_running_status(void **state)
{
    (void)state;
    mimg m;
    mi_init(&m);
    mi_header(&m, 0, 1, 480);
    mi_track_begin(&m);
    notes(&m, 5, 0);
    mi_eot(&m, 0);
    mi_track_end(&m);
    sres r = run(&m);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.rep.repairs, 0);
    assert_int_equal(r.rep.format, 0);
    assert_int_equal(r.rep.tracks, 1);
    assert_int_equal(r.rep.division, 480);
    assert_int_equal(r.rep.events, 11); /* 10 channel events + EOT */
    assert_int_equal(r.note_ons, 5);
    mi_free(&m);
}

static void test_format1_and_header_fixes(void **state)
{
    (void)state;
    /* MThd longer than 6; declares 5 tracks, has 2 */
    mimg m;
    mi_init(&m);
    mi_bytes(&m, "MThd", 4);
    mi_be32(&m, 8);
    mi_bytes(&m, (const uint8_t[]){ 0, 1, 0, 5, 0x01, 0xE0, 0xAA, 0xBB }, 8);
    for (int t = 0; t < 2; t++) {
        mi_track_begin(&m);
        notes(&m, 3, t);
        mi_eot(&m, 0);
        mi_track_end(&m);
    }
    sres r = run(&m);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.rep.format, 1);
    assert_int_equal(r.rep.tracks, 2);
    assert_int_equal(r.tracks, 2);
    assert_int_equal(r.note_ons, 6);
    assert_non_null(strstr(r.rep.repair_summary, "extra header bytes"));
    assert_non_null(strstr(r.rep.repair_summary, "declares 5 tracks, found 2"));
    mi_free(&m);

    /* declares 1 track (format 0) but has 3: all used, written as format 1 */
    mi_init(&m);
    mi_header(&m, 0, 1, 96);
    for (int t = 0; t < 3; t++) {
        mi_track_begin(&m);
        notes(&m, 2, t);
        mi_eot(&m, 0);
        mi_track_end(&m);
    }
    r = run(&m);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.rep.format, 1);
    assert_int_equal(r.tracks, 3);
    assert_int_equal(r.note_ons, 6);
    mi_free(&m);
}

static void test_rejects(void **state)
{
    (void)state;
    mimg m;
    mi_init(&m);
    sres r = run(&m);
    assert_int_equal(r.rc, -1);
    assert_non_null(strstr(r.err, "empty"));

    mi_bytes(&m, "hello, this is plainly a text file and not MIDI at all\n", 55);
    r = run(&m);
    assert_int_equal(r.rc, -1);
    assert_non_null(strstr(r.err, "not a MIDI file"));
    mi_free(&m);

    mi_init(&m); /* header cut short */
    mi_bytes(&m, "MThd\0\0\0\6\0\1", 10);
    r = run(&m);
    assert_int_equal(r.rc, -1);
    assert_non_null(strstr(r.err, "truncated"));
    mi_free(&m);

    mi_init(&m);
    mi_header(&m, 2, 1, 480);
    mi_track_begin(&m);
    notes(&m, 1, 0);
    mi_eot(&m, 0);
    mi_track_end(&m);
    r = run(&m);
    assert_int_equal(r.rc, -1);
    assert_non_null(strstr(r.err, "format 2"));
    mi_free(&m);

    mi_init(&m);
    mi_header(&m, 1, 1, 0);
    mi_track_begin(&m);
    mi_eot(&m, 0);
    mi_track_end(&m);
    r = run(&m);
    assert_int_equal(r.rc, -1);
    assert_non_null(strstr(r.err, "division"));
    mi_free(&m);

    mi_init(&m); /* header only */
    mi_header(&m, 1, 3, 480);
    r = run(&m);
    assert_int_equal(r.rc, -1);
    assert_non_null(strstr(r.err, "no tracks"));
    mi_free(&m);

    mi_init(&m); /* SMPTE with an unknown frame rate */
    mi_header(&m, 0, 1, (uint8_t)(-23) << 8 | 4);
    mi_track_begin(&m);
    mi_eot(&m, 0);
    mi_track_end(&m);
    r = run(&m);
    assert_int_equal(r.rc, -1);
    assert_non_null(strstr(r.err, "SMPTE"));
    mi_free(&m);
}

static void test_limits(void **state)
{
    (void)state;
    smf_limits lim;
    smf_limits_default(&lim);
    assert_int_equal(lim.max_tracks, 256);
    lim.max_tracks = 4;
    lim.max_events = 12;
    lim.max_tempo_changes = 2;
    mimg m;
    mi_init(&m);
    mi_header(&m, 1, 5, 480);
    for (int t = 0; t < 5; t++) {
        mi_track_begin(&m);
        mi_eot(&m, 0);
        mi_track_end(&m);
    }
    sres r = run_lim(&m, &lim);
    assert_int_equal(r.rc, -1);
    assert_non_null(strstr(r.err, "too many tracks (5 > 4)"));
    mi_free(&m);

    mi_init(&m);
    mi_header(&m, 0, 1, 480);
    mi_track_begin(&m);
    notes(&m, 7, 0); /* 14 events > 12 */
    mi_eot(&m, 0);
    mi_track_end(&m);
    r = run_lim(&m, &lim);
    assert_int_equal(r.rc, -1);
    assert_non_null(strstr(r.err, "too many events"));
    mi_free(&m);

    /* tempo changes over the limit: the earliest are kept */
    mi_init(&m);
    mi_header(&m, 0, 1, 480);
    mi_track_begin(&m);
    for (int i = 0; i < 4; i++) mi_tempo(&m, 480, 400000 + 10000 * (uint32_t)i);
    notes(&m, 1, 0);
    mi_eot(&m, 0);
    mi_track_end(&m);
    r = run_lim(&m, &lim);
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.rep.repair_summary, "dropped 2 tempo changes"));
    assert_int_equal(r.rep.events, 2 + 2 + 1);
    mi_free(&m);

    /* the MThd track count has 16 bits: a larger limit cannot admit more */
    smf_limits wide;
    smf_limits_default(&wide);
    wide.max_tracks = 1 << 20;
    mi_init(&m);
    mi_header(&m, 1, 0xFFFF, 480);
    for (int t = 0; t < 0x10000; t++) {
        mi_track_begin(&m);
        mi_eot(&m, 0);
        mi_track_end(&m);
    }
    r = run_lim(&m, &wide);
    assert_int_equal(r.rc, -1);
    assert_non_null(strstr(r.err, "too many tracks (65536 > 65535)"));
    mi_free(&m);

    lim.max_bytes = 10;
    mi_init(&m);
    mi_header(&m, 0, 1, 480);
    r = run_lim(&m, &lim);
    assert_int_equal(r.rc, -1);
    assert_non_null(strstr(r.err, "too large"));
    mi_free(&m);
}

static void test_chunks(void **state)
{
    (void)state;
    /* unknown chunk between tracks; junk before MThd; trailing bytes */
    mimg m;
    mi_init(&m);
    mi_bytes(&m, "JUNKJUNK", 8);
    mi_header(&m, 1, 2, 480);
    mi_track_begin(&m);
    notes(&m, 2, 0);
    mi_eot(&m, 0);
    mi_track_end(&m);
    mi_bytes(&m, "XFIH", 4);
    mi_be32(&m, 5);
    mi_bytes(&m, "abcde", 5);
    mi_track_begin(&m);
    notes(&m, 3, 1);
    mi_eot(&m, 0);
    mi_track_end(&m);
    mi_bytes(&m, "\0\0\0", 3);
    sres r = run(&m);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.note_ons, 5);
    assert_int_equal(r.tracks, 2);
    assert_non_null(strstr(r.rep.repair_summary, "unknown chunk 'XFIH'"));
    assert_non_null(strstr(r.rep.repair_summary, "before the header"));
    assert_non_null(strstr(r.rep.repair_summary, "trailing"));
    mi_free(&m);

    /* RIFF RMID wrapper */
    mimg inner;
    mi_init(&inner);
    mi_header(&inner, 0, 1, 480);
    mi_track_begin(&inner);
    notes(&inner, 4, 0);
    mi_eot(&inner, 0);
    mi_track_end(&inner);
    mi_init(&m);
    uint32_t riff_len = (uint32_t)(4 + 8 + inner.n);
    mi_bytes(&m, "RIFF", 4);
    mi_bytes(&m, (const uint8_t[]){ (uint8_t)riff_len, (uint8_t)(riff_len >> 8), 0, 0 }, 4);
    mi_bytes(&m, "RMIDdata", 8);
    mi_bytes(&m, (const uint8_t[]){ (uint8_t)inner.n, (uint8_t)(inner.n >> 8), 0, 0 }, 4);
    mi_bytes(&m, inner.p, inner.n);
    r = run(&m);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.note_ons, 4);
    mi_free(&m);
    mi_free(&inner);
}

/* A single-track file whose track body is built by BODY, for damage cases. */
static sres one_track(void (*body)(mimg *), int with_eot)
{
    mimg m;
    mi_init(&m);
    mi_header(&m, 0, 1, 480);
    mi_track_begin(&m);
    body(&m);
    if (with_eot) mi_eot(&m, 0);
    mi_track_end(&m);
    sres r = run(&m);
    mi_free(&m);
    return r;
}

static void body_long_vlq(mimg *m)
{
    notes(m, 2, 0);
    mi_bytes(m, (const uint8_t[]){ 0x81, 0x81, 0x81, 0x81, 0x01, 0x90, 60, 100 }, 8);
    notes(m, 2, 0);
}
static void body_no_status(mimg *m)
{
    mi_ev(m, 0, 2, 60, 100); /* data bytes first */
    notes(m, 2, 0);
}
static void body_sysex(mimg *m)
{
    notes(m, 1, 0);
    mi_ev(m, 0, 5, 0xF0, 3, 0x43, 0x12, 0xF7);  /* sysex */
    mi_ev(m, 0, 4, 0xF7, 2, 0xF3, 0x01);        /* F7 escape */
    notes(m, 2, 1);
}
static void body_long_meta(mimg *m)
{
    notes(m, 1, 0);
    mi_vlq(m, 0);
    mi_bytes(m, (const uint8_t[]){ 0xFF, 0x01 }, 2);
    mi_vlq(m, 200);
    for (int i = 0; i < 200; i++) mi_byte(m, 'a');
    notes(m, 3, 0);
}
static void body_realtime(mimg *m)
{
    notes(m, 1, 0);
    mi_ev(m, 0, 1, 0xF8);                       /* realtime as an event */
    mi_ev(m, 10, 4, 0x90, 0xFE, 64, 90);        /* inside a message */
    mi_ev(m, 10, 3, 0x80, 64, 0);
    mi_ev(m, 0, 3, 0xF2, 0x10, 0x20);           /* song position */
    mi_ev(m, 0, 2, 0xF3, 0x01);                 /* song select */
    mi_ev(m, 0, 1, 0xF6);                       /* tune request */
    notes(m, 1, 0);
}
static void body_notes_only(mimg *m) { notes(m, 3, 0); }
static void body_after_eot(mimg *m)
{
    notes(m, 2, 0);
    mi_eot(m, 10);
    notes(m, 5, 0); /* ignored */
}
static void body_overflow(mimg *m)
{
    notes(m, 2, 0);
    for (int i = 0; i < 3; i++) mi_ev(m, 0x0FFFFFFF, 3, 0x90, 70, 100);
}
static void body_status_inside(mimg *m)
{
    notes(m, 2, 0);
    mi_ev(m, 0, 3, 0x90, 60, 0x85); /* status byte where data belongs */
    notes(m, 2, 0);
}

/* The damage cases: each track body is repaired (rc 0) into a file with
 * NOTE_ONS note-ons, and the repair summary contains every string of REPAIRS;
 * no REPAIRS at all means the file needed no repair. */
static const struct {
    const char *name;
    void (*body)(mimg *);
    int with_eot, note_ons;
    const char *repairs[2];
} TRACK_DAMAGE[] = {
    {"long_vlq", body_long_vlq, 1, 2, {"truncated track 1 (over-long delta time)"}},
    {"no_status", body_no_status, 1, 0, {"data byte without status"}},
    {"sysex", body_sysex, 1, 3, {"dropped 1 F7 events"}},
    {"long_meta", body_long_meta, 1, 4, {NULL}}, /* notes after a 200-byte meta survive */
    {"realtime", body_realtime, 1, 3, {"dropped 2 realtime bytes", "dropped 3 system common events"}},
    {"notes_only", body_notes_only, 0, 3, {"added End-of-Track"}},
    {"after_eot", body_after_eot, 0, 2, {"after End-of-Track"}},
    {"overflow", body_overflow, 1, 2, {"2^28"}},
    {"status_inside", body_status_inside, 1, 2, {"status byte inside"}},
};

static void test_track_damage(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof TRACK_DAMAGE / sizeof TRACK_DAMAGE[0]; i++) {
        const char *name = TRACK_DAMAGE[i].name, *const *want = TRACK_DAMAGE[i].repairs;
        sres r = one_track(TRACK_DAMAGE[i].body, TRACK_DAMAGE[i].with_eot);
        if (r.rc != 0) fail_msg("%s: rc %d: %s", name, r.rc, r.err);
        if (r.note_ons != TRACK_DAMAGE[i].note_ons)
            fail_msg("%s: %d note-ons, want %d", name, r.note_ons, TRACK_DAMAGE[i].note_ons);
        if (!want[0] && r.rep.repairs != 0) fail_msg("%s: %d repairs, want none", name, r.rep.repairs);
        for (int k = 0; k < 2 && want[k]; k++)
            if (!strstr(r.rep.repair_summary, want[k]))
                fail_msg("%s: summary '%s' lacks '%s'", name, r.rep.repair_summary, want[k]);
    }
}

static void test_truncated_file(void **state)
{
    (void)state;
    mimg m;
    mi_init(&m);
    mi_header(&m, 1, 2, 480);
    mi_track_begin(&m);
    notes(&m, 2, 0);
    mi_eot(&m, 0);
    mi_track_end(&m);
    mi_track_begin(&m);
    notes(&m, 5, 1);
    size_t at5 = m.n; /* the 6th note-on (5 bytes: 2-byte delta, 3 bytes) starts here */
    for (int i = 0; i < 5; i++) {
        mi_ev(&m, 240, 3, 0x91, 70 + i, 100);
        mi_ev(&m, 240, 2, 70 + i, 0);
    }
    mi_eot(&m, 0);
    mi_track_end(&m);
    /* cut the file at every byte of the 6th note: its length field now runs
     * past the end; everything up to the last whole event is kept */
    for (size_t cut = at5; cut <= at5 + 5; cut++) {
        m.n = cut;
        sres r = run(&m);
        assert_int_equal(r.rc, 0);
        assert_int_equal(r.note_ons, cut < at5 + 5 ? 7 : 8);
        assert_non_null(strstr(r.rep.repair_summary, "past the end"));
    }
    mi_free(&m);
}

/* Seconds of the notes of M through midi_read_buffer. */
static void read_onsets(const mimg *m, double *on, size_t want)
{
    score s;
    char err[AURL_ERR_LEN];
    assert_int_equal(midi_read_buffer(m->p, m->n, "test", &s, NULL, err), 0);
    assert_int_equal(s.n_notes, want);
    for (size_t i = 0; i < want; i++) on[i] = s.notes[i].onset;
    score_free(&s);
}

static void test_smpte_and_tempo_placement(void **state)
{
    (void)state;
    /* 25 fps x 40 ticks = 1000 ticks per second; file tempos are ignored */
    mimg m;
    mi_init(&m);
    mi_header(&m, 0, 1, (uint8_t)(-25) << 8 | 40);
    mi_track_begin(&m);
    mi_tempo(&m, 0, 250000);
    mi_ev(&m, 1000, 3, 0x90, 60, 100);
    mi_ev(&m, 500, 3, 0x80, 60, 0);
    mi_ev(&m, 1000, 3, 0x90, 62, 100);
    mi_ev(&m, 500, 3, 0x80, 62, 0);
    mi_eot(&m, 0);
    mi_track_end(&m);
    sres r = run(&m);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.rep.division, 1000);
    assert_int_equal(r.ppqn, 1000);
    double on[2];
    read_onsets(&m, on, 2);
    assert_float_equal(on[0], 1.0, 1e-9);
    assert_float_equal(on[1], 2.5, 1e-9);
    mi_free(&m);

    /* a tempo change in track 2 (format 1) applies to track 3's notes */
    mi_init(&m);
    mi_header(&m, 1, 3, 480);
    mi_track_begin(&m);
    mi_ev(&m, 0, 7, 0xFF, 0x58, 0x04, 4, 2, 24, 8);
    mi_eot(&m, 0);
    mi_track_end(&m);
    mi_track_begin(&m);
    mi_tempo(&m, 960, 1000000); /* 2 beats at 120 = 1 s, then 60 BPM */
    mi_eot(&m, 0);
    mi_track_end(&m);
    mi_track_begin(&m);
    mi_ev(&m, 480, 3, 0x90, 60, 100); /* 0.5 s */
    mi_ev(&m, 960, 3, 0x90, 64, 100); /* tick 1440: 1 s + 480 ticks at 60 = 2 s */
    mi_ev(&m, 480, 3, 0x80, 60, 0);
    mi_ev(&m, 0, 3, 0x80, 64, 0);
    mi_eot(&m, 0);
    mi_track_end(&m);
    r = run(&m);
    assert_int_equal(r.rc, 0);
    read_onsets(&m, on, 2);
    assert_float_equal(on[0], 0.5, 1e-9);
    assert_float_equal(on[1], 2.0, 1e-9);
    mi_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_format0_running_status),
        cmocka_unit_test(test_format1_and_header_fixes),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_chunks),
        cmocka_unit_test(test_track_damage),
        cmocka_unit_test(test_truncated_file),
        cmocka_unit_test(test_smpte_and_tempo_placement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
