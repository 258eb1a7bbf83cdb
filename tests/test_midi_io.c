/* Tests of MIDI reading (note pairing, tempo maps, drums, programs, sustain),
 * writing (write -> read round trip), score sorting, the score blob, the isolate process
 * pool (crash, hang, runaway allocation, data, no zombies, no fd leaks) and
 * the hostile fixtures in tests/fixtures/bad through midi_read_isolated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/midi_read.h"
#include "data/midi_worker.h"
#include "data/midi_write.h"
#include "util/isolate.h"
#include "midi_image.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static void read_image(const mimg *m, score *s)
{
    char err[AURL_ERR_LEN];
    int rc = midi_read_buffer(m->p, m->n, "test", s, NULL, err);
    if (rc) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
}

/* The I-th note in (onset, instrument, pitch) order must be as given. */
static void check_note(const score *s, size_t i, double on, double off, int pitch, int vel, int inst)
{
    assert_true(i < s->n_notes);
    const score_note *n = &s->notes[i];
    assert_float_equal(n->onset, on, 1e-6);
    assert_float_equal(n->offset, off, 1e-6);
    assert_int_equal(n->pitch, pitch);
    assert_int_equal(n->velocity, vel);
    assert_int_equal(n->instrument, inst);
}

static void test_note_pairing(void **state)
{
    (void)state;
    mimg m;
    mi_init(&m);
    mi_header(&m, 0, 1, 480); /* 120 BPM default: 480 ticks = 0.5 s */
    mi_track_begin(&m);
    mi_ev(&m, 0, 3, 0x90, 60, 100);
    mi_ev(&m, 480, 3, 0x90, 60, 0);   /* velocity-0 on = off at 0.5 */
    mi_ev(&m, 0, 3, 0x90, 62, 90);    /* 0.5 */
    mi_ev(&m, 480, 3, 0x90, 62, 80);  /* re-strike at 1.0 ends the first */
    mi_ev(&m, 480, 3, 0x80, 62, 0);   /* 1.5 */
    mi_ev(&m, 0, 3, 0x80, 62, 0);     /* off of a silent note: ignored */
    mi_ev(&m, 0, 3, 0x90, 64, 70);    /* 1.5, never released */
    mi_eot(&m, 960);                  /* ends at 2.5 */
    mi_track_end(&m);
    score s;
    read_image(&m, &s);
    assert_int_equal(s.n_notes, 4);
    check_note(&s, 0, 0.0, 0.5, 60, 100, 0);
    check_note(&s, 1, 0.5, 1.0, 62, 90, 0);
    check_note(&s, 2, 1.0, 1.5, 62, 80, 0);
    check_note(&s, 3, 1.5, 2.5, 64, 70, 0);
    assert_int_equal(s.n_tempos, 0);
    score_free(&s);
    mi_free(&m);
}

static void test_tempo_map_programs_drums_sustain(void **state)
{
    (void)state;
    mimg m;
    mi_init(&m);
    mi_header(&m, 1, 3, 480);
    mi_track_begin(&m); /* conductor */
    mi_tempo(&m, 0, 500000);   /* 120 */
    mi_tempo(&m, 960, 250000); /* at 1.0 s: 240 BPM */
    mi_eot(&m, 0);
    mi_track_end(&m);
    mi_track_begin(&m); /* violin (program 40 -> family 5) on channel 2 */
    mi_ev(&m, 0, 2, 0xC2, 40);
    mi_ev(&m, 0, 3, 0xB2, 64, 127);   /* pedal down */
    mi_ev(&m, 0, 3, 0x92, 67, 100);
    mi_ev(&m, 1440, 3, 0x82, 67, 0);  /* tick 1440 = 1 s + 480 at 240 = 1.25 s */
    mi_ev(&m, 0, 3, 0xB2, 64, 100);   /* still down: no event */
    mi_ev(&m, 480, 3, 0xB2, 64, 0);   /* up at 1.5 */
    mi_ev(&m, 0, 2, 0xC2, 127);       /* program 127 -> family 15 folds to 12 */
    mi_ev(&m, 0, 3, 0x92, 69, 50);
    mi_ev(&m, 480, 3, 0x82, 69, 0);   /* 1.75 */
    mi_eot(&m, 0);
    mi_track_end(&m);
    mi_track_begin(&m); /* drums: channel 10, program changes ignored */
    mi_ev(&m, 0, 2, 0xC9, 40);
    mi_ev(&m, 480, 3, 0x99, 36, 120); /* 0.5 s */
    mi_ev(&m, 0, 3, 0x89, 36, 0);
    mi_eot(&m, 0);
    mi_track_end(&m);
    score s;
    read_image(&m, &s);
    assert_int_equal(s.n_notes, 3);
    check_note(&s, 0, 0.0, 1.25, 67, 100, 5);
    check_note(&s, 1, 0.5, 0.5, 36, 120, SCORE_DRUMS);
    check_note(&s, 2, 1.5, 1.75, 69, 50, 12);
    assert_int_equal(s.n_sustains, 2);
    assert_float_equal(s.sustains[0].time, 0.0, 1e-9);
    assert_int_equal(s.sustains[0].down, 1);
    assert_int_equal(s.sustains[0].instrument, 5);
    assert_float_equal(s.sustains[1].time, 1.5, 1e-9);
    assert_int_equal(s.sustains[1].down, 0);
    assert_int_equal(s.n_tempos, 2);
    assert_float_equal(s.tempos[0].bpm, 120.0, 1e-9);
    assert_float_equal(s.tempos[1].time, 1.0, 1e-9);
    assert_float_equal(s.tempos[1].bpm, 240.0, 1e-9);
    score_free(&s);
    mi_free(&m);
}

static void test_write_read_round_trip(void **state)
{
    (void)state;
    score s;
    score_init(&s);
    score_add_tempo(&s, (score_tempo){ 0.0, 120.0 });
    score_add_tempo(&s, (score_tempo){ 2.0, 80.0 });
    score_add_tempo(&s, (score_tempo){ 5.0, 160.0 });
    unsigned seed = 12345;
    for (int i = 0; i < 300; i++) {
        seed = seed * 1103515245u + 12345u;
        double on = (seed >> 8) % 800 / 100.0; /* a 10 ms grid keeps the order stable */
        double dur = ((seed >> 4) % 1500) / 1000.0 + 0.01;
        int inst = (int)((seed >> 20) % 13); /* 0..13 without 3 */
        if (inst >= 3) inst++;
        /* distinct (instrument, pitch) per note, so no overlaps need resolving */
        score_add_note(&s, (score_note){ on, on + dur, (uint8_t)(i % 128), (uint8_t)(1 + (seed >> 12) % 127),
                                         (uint8_t)(i < 128 ? inst : (i < 256 ? 3 : SCORE_DRUMS)) });
    }
    score_add_note(&s, (score_note){ 3.0, 3.0, 50, 64, 14 }); /* zero length */
    score_add_sustain(&s, (score_sustain){ 1.0, 3, 1 });
    score_add_sustain(&s, (score_sustain){ 2.5, 3, 0 });
    score_sort(&s);

    const char *path = testutil_path("rt.mid");
    char err[AURL_ERR_LEN];
    assert_int_equal(midi_write_file(path, &s, err), 0);
    score r;
    assert_int_equal(midi_read_file(path, &r, NULL, err), 0);
    assert_int_equal(r.n_notes, s.n_notes);
    for (size_t i = 0; i < s.n_notes; i++) {
        const score_note *a = &s.notes[i], *b = &r.notes[i];
        assert_true(fabs(a->onset - b->onset) <= 0.001);
        assert_true(fabs(a->offset - b->offset) <= 0.001);
        assert_int_equal(a->pitch, b->pitch);
        assert_int_equal(a->velocity, b->velocity);
        assert_int_equal(a->instrument, b->instrument);
    }
    assert_int_equal(r.n_sustains, 2);
    assert_int_equal(r.sustains[0].instrument, 3);
    assert_true(fabs(r.sustains[0].time - 1.0) <= 0.001 && r.sustains[0].down == 1);
    assert_true(fabs(r.sustains[1].time - 2.5) <= 0.001 && r.sustains[1].down == 0);
    assert_int_equal(r.n_tempos, 3);
    for (int i = 0; i < 3; i++) {
        assert_true(fabs(r.tempos[i].time - s.tempos[i].time) <= 0.001);
        assert_true(fabs(r.tempos[i].bpm - s.tempos[i].bpm) <= 0.01);
    }
    score_free(&r);

    /* other tempos are snapped to the nearest grid-exact one: 100 -> 96 BPM */
    s.tempos[0].bpm = 100.0;
    assert_int_equal(midi_write_file(path, &s, err), 0);
    assert_int_equal(midi_read_file(path, &r, NULL, err), 0);
    assert_true(r.n_tempos >= 1 && fabs(r.tempos[0].bpm - 96.0) <= 0.01);
    score_free(&r);

    /* overlapping notes of one pitch: cut at the next onset */
    score o;
    score_init(&o);
    score_add_note(&o, (score_note){ 0.0, 2.0, 60, 100, 0 });
    score_add_note(&o, (score_note){ 1.0, 3.0, 60, 90, 0 });
    assert_int_equal(midi_write_file(path, &o, err), 0);
    assert_int_equal(midi_read_file(path, &r, NULL, err), 0);
    assert_int_equal(r.n_notes, 2);
    check_note(&r, 0, 0.0, 1.0, 60, 100, 0);
    check_note(&r, 1, 1.0, 3.0, 60, 90, 0);
    score_free(&r);
    score_free(&o);

    /* writing into a missing directory fails with the path in the message */
    path = testutil_path("no/such/dir.mid");
    assert_int_equal(midi_write_file(path, &s, err), -1);
    assert_non_null(strstr(err, "dir.mid"));
    score_free(&s);
}

static void test_read_file_errors(void **state)
{
    (void)state;
    score s;
    char err[AURL_ERR_LEN];
    assert_int_equal(midi_read_file(testutil_tmpdir(), &s, NULL, err), -1); /* a directory */
    assert_non_null(strstr(err, testutil_tmpdir()));
    assert_int_equal(midi_read_file("/nonexistent/x.mid", &s, NULL, err), -1);
    assert_non_null(strstr(err, "x.mid"));
    assert_int_equal(s.n_notes, 0);
}

/* score_sort against a reference stable insertion sort, on sizes around
 * the merge sort's run length, with many equal keys (velocity and the
 * sustain's instrument tag the input position, so a lost order shows). */
static int note_key_cmp(const score_note *x, const score_note *y)
{
    if (x->onset != y->onset) return x->onset < y->onset ? -1 : 1;
    if (x->instrument != y->instrument) return x->instrument - y->instrument;
    if (x->pitch != y->pitch) return x->pitch - y->pitch;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

static void test_score_sort(void **state)
{
    (void)state;
    static const size_t sizes[] = { 0, 1, 2, 31, 32, 33, 64, 65, 100, 257, 1000 };
    unsigned seed = 12345;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        for (int order = 0; order < 3; order++) { /* random, ascending, descending */
            size_t n = sizes[si];
            score s;
            score_init(&s);
            for (size_t i = 0; i < n; i++) {
                seed = seed * 1103515245u + 12345u;
                unsigned r = seed >> 16;
                double on = order == 0 ? (double)(r % 7) * 0.5 : order == 1 ? (double)i : (double)(n - i);
                score_note nt = { on, on + (double)((r >> 3) % 2), (uint8_t)(60 + (r >> 4) % 2),
                                  (uint8_t)(1 + i % 127), (uint8_t)((r >> 5) % 2) };
                assert_int_equal(score_add_note(&s, nt), 0);
                score_sustain e = { (double)((r >> 6) % 3), (uint8_t)(i % 16), (uint8_t)(i % 2) };
                assert_int_equal(score_add_sustain(&s, e), 0);
            }
            score_note *want = malloc((n ? n : 1) * sizeof *want);
            score_sustain *want_s = malloc((n ? n : 1) * sizeof *want_s);
            for (size_t i = 0; i < n; i++) { /* stable insertion sort */
                size_t j = i;
                while (j > 0 && note_key_cmp(&want[j - 1], &s.notes[i]) > 0) {
                    want[j] = want[j - 1];
                    j--;
                }
                want[j] = s.notes[i];
                j = i;
                while (j > 0 && want_s[j - 1].time > s.sustains[i].time) {
                    want_s[j] = want_s[j - 1];
                    j--;
                }
                want_s[j] = s.sustains[i];
            }
            score_sort(&s);
            for (size_t i = 0; i < n; i++) {
                assert_int_equal(note_key_cmp(&s.notes[i], &want[i]), 0);
                assert_int_equal(s.notes[i].velocity, want[i].velocity);
                assert_true(s.sustains[i].time == want_s[i].time);
                assert_int_equal(s.sustains[i].instrument, want_s[i].instrument);
            }
            free(want);
            free(want_s);
            score_free(&s);
        }
    }
}

static void test_score_blob(void **state)
{
    (void)state;
    score s;
    score_init(&s);
    for (int i = 0; i < 10; i++) score_add_note(&s, (score_note){ i * 0.5, i * 0.5 + 0.25, (uint8_t)(40 + i), 80, (uint8_t)i });
    score_add_sustain(&s, (score_sustain){ 1.0, 2, 1 });
    score_add_tempo(&s, (score_tempo){ 0.0, 133.0 });
    uint8_t *b;
    size_t n;
    assert_int_equal(score_serialize(&s, &b, &n), 0);
    score r;
    char err[AURL_ERR_LEN];
    assert_int_equal(score_deserialize(b, n, &r, err), 0);
    assert_int_equal(r.n_notes, 10);
    for (int i = 0; i < 10; i++) check_note(&r, (size_t)i, s.notes[i].onset, s.notes[i].offset, s.notes[i].pitch, 80, i);
    assert_int_equal(r.n_sustains, 1);
    assert_int_equal(r.sustains[0].down, 1);
    assert_float_equal(r.tempos[0].bpm, 133.0, 0);
    score_free(&r);
    /* every truncation is rejected */
    for (size_t cut = 0; cut < n; cut++) {
        assert_int_equal(score_deserialize(b, cut, &r, err), -1);
        assert_null(r.notes);
    }
    /* a huge count is rejected before anything is allocated */
    uint8_t *h = malloc(n);
    memcpy(h, b, n);
    memset(h + 8, 0xFF, 8);
    assert_int_equal(score_deserialize(h, n, &r, err), -1);
    assert_non_null(strstr(err, "count"));
    /* an out-of-range field */
    memcpy(h, b, n);
    h[32 + 17] = 0; /* velocity 0 */
    assert_int_equal(score_deserialize(h, n, &r, err), -1);
    free(h);
    free(b);
    score_free(&s);
}

/* ---- isolate ---- */

enum { JOB_DATA, JOB_ABORT, JOB_LOOP, JOB_ALLOC, JOB_FAIL, JOB_SEGV, JOB_TERM };

typedef struct {
    const int *kinds;
    isolate_status status[16];
    char msg[16][AURL_ERR_LEN];
    uint8_t data[16][64];
    size_t len[16];
    int calls[16];
} jobs;

static int job_fn(void *arg, size_t index, uint8_t **out, size_t *out_len, char err[AURL_ERR_LEN])
{
    jobs *j = arg;
    switch (j->kinds[index]) {
    case JOB_DATA: {
        uint8_t *b = malloc(40);
        for (int i = 0; i < 40; i++) b[i] = (uint8_t)(index * 3 + (size_t)i);
        *out = b;
        *out_len = 40;
        return 0;
    }
    case JOB_ABORT:
        abort();
    case JOB_LOOP:
        for (;;) pause();
    case JOB_ALLOC: {
        /* grow until malloc fails, touching the memory; then give up the way
         * libraries do on allocation failure */
        for (size_t total = 0; total < ((size_t)8 << 30); total += (size_t)4 << 20) {
            char *p = malloc((size_t)4 << 20);
            if (!p) abort();
            memset(p, 1, (size_t)4 << 20);
        }
        return 0;
    }
    case JOB_SEGV:
        raise(SIGSEGV);
        return 0;
    case JOB_TERM: /* must end the job even if the caller handles SIGTERM */
        raise(SIGTERM);
        *out = NULL;
        *out_len = 0;
        return 0;
    default:
        snprintf(err, AURL_ERR_LEN, "job %zu refused", index);
        return -1;
    }
}

static void job_done(void *arg, size_t index, isolate_status st, const uint8_t *out, size_t out_len, const char *err)
{
    jobs *j = arg;
    j->calls[index]++;
    j->status[index] = st;
    snprintf(j->msg[index], AURL_ERR_LEN, "%s", err ? err : "");
    if (out_len <= 64) {
        if (out_len) memcpy(j->data[index], out, out_len);
        j->len[index] = out_len;
    }
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) n++;
    closedir(d);
    return n;
}

static void test_isolate(void **state)
{
    (void)state;
    /* the pool must work from a process whose OpenMP threads are running */
    double acc = 0;
#pragma omp parallel for reduction(+ : acc)
    for (int i = 0; i < 1000; i++) acc += i;
    assert_float_equal(acc, 499500.0, 0);
    int fds_before = count_fds();
    const int kinds[] = { JOB_DATA, JOB_ABORT, JOB_LOOP, JOB_DATA, JOB_FAIL, JOB_SEGV, JOB_DATA, JOB_DATA };
    const size_t n = sizeof kinds / sizeof kinds[0];
    jobs *j = calloc(1, sizeof *j);
    j->kinds = kinds;
    isolate_limits lim = { 0.5, (size_t)256 << 20, 2 };
    assert_int_equal(isolate_map(n, job_fn, job_done, j, &lim), 0);
    for (size_t i = 0; i < n; i++) assert_int_equal(j->calls[i], 1);
    for (size_t i = 0; i < n; i++) {
        if (kinds[i] != JOB_DATA) continue;
        assert_int_equal(j->status[i], ISOLATE_OK);
        assert_int_equal(j->len[i], 40);
        for (int k = 0; k < 40; k++) assert_int_equal(j->data[i][k], (uint8_t)(i * 3 + (size_t)k));
    }
    assert_int_equal(j->status[1], ISOLATE_CRASHED);
    assert_string_equal(j->msg[1], "SIGABRT");
    assert_int_equal(j->status[2], ISOLATE_TIMEOUT);
    assert_non_null(strstr(j->msg[2], "0.5"));
    assert_int_equal(j->status[4], ISOLATE_FAILED);
    assert_string_equal(j->msg[4], "job 4 refused");
    assert_int_equal(j->status[5], ISOLATE_CRASHED);
    assert_string_equal(j->msg[5], "SIGSEGV");
    free(j);

    /* runaway allocation under a 64 MiB limit (alone, with a generous
     * timeout: sanitizer builds allocate slowly) */
    const int alloc_kind[] = { JOB_ALLOC };
    j = calloc(1, sizeof *j);
    j->kinds = alloc_kind;
    isolate_limits lim2 = { 20.0, (size_t)64 << 20, 1 };
    assert_int_equal(isolate_map(1, job_fn, job_done, j, &lim2), 0);
    if (UNDER_ASAN) /* ASan reports allocation failure itself and exits */
        assert_true(j->status[0] == ISOLATE_NOMEM || j->status[0] == ISOLATE_CRASHED);
    else
        assert_int_equal(j->status[0], ISOLATE_NOMEM);
    free(j);
    /* no zombies, no leaked descriptors */
    errno = 0;
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    assert_int_equal(count_fds(), fds_before);
    assert_string_equal(isolate_status_name(ISOLATE_TIMEOUT), "timed out");
}

static volatile sig_atomic_t g_parent_term;
static void on_parent_term(int sig) { g_parent_term = sig; }

/* A child does not inherit the caller's signal handlers or blocked signals:
 * SIGTERM kills the job although the parent catches it (as the trainer
 * does), and the parent's handler is never run. */
static void test_isolate_resets_signals(void **state)
{
    (void)state;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_parent_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old);
    sigset_t block, old_mask;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &old_mask);
    const int kinds[] = { JOB_TERM };
    jobs *j = calloc(1, sizeof *j);
    j->kinds = kinds;
    isolate_limits lim = { 5.0, 0, 1 };
    assert_int_equal(isolate_map(1, job_fn, job_done, j, &lim), 0);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    sigaction(SIGTERM, &old, NULL);
    assert_int_equal(j->status[0], ISOLATE_CRASHED);
    assert_string_equal(j->msg[0], "SIGTERM");
    assert_int_equal(g_parent_term, 0);
    free(j);
}

/* Each hostile fixture is repaired into the expected notes or rejected
 * with the expected reason, without harming this process. */
static void test_fixtures(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        int notes;          /* expected notes; -1: rejected */
        const char *reason; /* substring of the reject reason or repair */
    } fx[] = {
        { "truncated.mid", 4, NULL },
        { "bitflip.mid", -2, NULL }, /* either outcome, but a clean one */
        { "zero_length.mid", -1, "empty file" },
        { "huge_track_count.mid", 5, NULL },
        { "too_many_tracks.mid", -1, "too many tracks (300 > 256)" },
        { "not_midi.mid", -1, "not a MIDI file" },
        { "f7_event.mid", 5, NULL },
        { "realtime.mid", 3, NULL },
        { "no_eot.mid", 4, NULL },
        { "long_meta.mid", 3, NULL },
        { "unknown_chunk.mid", 5, NULL },
        { "chunk_past_eof.mid", 4, NULL },
        { "format2.mid", -1, "format 2" },
        { "long_vlq.mid", 2, NULL },
    };
    for (size_t i = 0; i < sizeof fx / sizeof fx[0]; i++) {
        char path[256], err[AURL_ERR_LEN];
        snprintf(path, sizeof path, "tests/fixtures/bad/%s", fx[i].file);
        score s;
        err[0] = '\0';
        int rc = midi_read_isolated(path, &s, err);
        if (fx[i].notes == -1) {
            assert_int_equal(rc, -1);
            assert_non_null(strstr(err, fx[i].reason));
            assert_non_null(strstr(err, fx[i].file));
        } else if (fx[i].notes >= 0) {
            if (rc) fprintf(stderr, "%s\n", err);
            assert_int_equal(rc, 0);
            assert_int_equal(s.n_notes, fx[i].notes);
        } else {
            assert_true(rc == 0 || strlen(err) > 0);
        }
        score_free(&s);
    }
    /* a directory is rejected too */
    score s;
    char err[AURL_ERR_LEN];
    assert_int_equal(midi_read_isolated(testutil_tmpdir(), &s, err), -1);
    assert_non_null(strstr(err, "not a regular file"));
    /* notes after a 200-byte meta are kept: pitches 60, 61, 62 */
    assert_int_equal(midi_read_isolated("tests/fixtures/bad/long_meta.mid", &s, err), 0);
    assert_int_equal(s.notes[2].pitch, 62);
    score_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_note_pairing),
        cmocka_unit_test(test_tempo_map_programs_drums_sustain),
        cmocka_unit_test(test_write_read_round_trip),
        cmocka_unit_test(test_read_file_errors),
        cmocka_unit_test(test_score_sort),
        cmocka_unit_test(test_score_blob),
        cmocka_unit_test(test_isolate),
        cmocka_unit_test(test_isolate_resets_signals),
        cmocka_unit_test(test_fixtures),
    };
    return cmocka_run_group_tests(tests, testutil_tmpdir_setup, testutil_tmpdir_teardown);
}
