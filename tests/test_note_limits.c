/* test_note_limits: the data-driven decoding limits on hand-made token
 * sequences with known percentiles (note lengths, shortest notes, onset
 * polyphony, drums' own figures, sparse families pooled), an empty input,
 * and the real sample data's cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "data/cache.h"
#include "data/tokenizer.h"
#include "engine/sample/note_limits.h"
#include "testutil.h"

#define ON(p) (TOK_NOTE_ON + (p) - TOK_PITCH_MIN)
#define OFF(p) (TOK_NOTE_OFF + (p) - TOK_PITCH_MIN)
#define SHIFT(steps) (TOK_TIME_SHIFT + (steps) - 1)

typedef struct {
    uint16_t t[20000];
    size_t n;
} seqbuf;

static void put(seqbuf *b, int tok)
{
    assert_true(b->n < sizeof b->t / sizeof b->t[0]);
    b->t[b->n++] = (uint16_t)tok;
}

/* On instrument INST: COUNT chords of CHORD notes (pitches 60, 62, ...)
 * each held LEN steps, then a 4-step rest. */
static void chords(seqbuf *b, int inst, int count, int chord, int len)
{
    put(b, TOK_INSTRUMENT + inst);
    for (int k = 0; k < count; k++) {
        for (int j = 0; j < chord; j++) put(b, ON(60 + 2 * j));
        put(b, SHIFT(len));
        for (int j = 0; j < chord; j++) put(b, OFF(60 + 2 * j));
        put(b, SHIFT(4));
    }
}

static void test_known_percentiles(void **state)
{
    (void)state;
    seqbuf *b = calloc(1, sizeof *b);
    put(b, TOK_START);
    /* piano: 290 chords of 3 notes held 16 steps, 10 held 64 steps -> 900
     * notes: p50 = p5 = 16, p99 = 64 (the top 1% is the 30 longest);
     * a third of the onsets see 1, 2 and 3 notes sounding: p99 = 3 */
    chords(b, 0, 290, 3, 16);
    chords(b, 0, 10, 3, 64);
    /* drums: 250 zero-length hits, two at a time */
    put(b, TOK_INSTRUMENT + TOK_DRUM_FAMILY);
    for (int k = 0; k < 250; k++) {
        put(b, ON(36));
        put(b, ON(42));
        put(b, OFF(36));
        put(b, OFF(42));
        put(b, SHIFT(8));
    }
    /* organ: too few notes (5, held 200 steps) for figures of its own */
    chords(b, 2, 5, 1, 200);
    put(b, TOK_END);
    dataset_seq seq = {b->t, b->n};
    note_limits nl;
    char err[AURL_ERR_LEN];
    assert_int_equal(note_limits_from_seqs(&seq, 1, &nl, err), 0);
    const grammar_limits *L = &nl.limits;
    assert_int_equal(nl.notes[0], 900);
    assert_int_equal(nl.notes[TOK_DRUM_FAMILY], 500);
    assert_int_equal(nl.notes[2], 5);
    assert_int_equal(L->max_note_steps[0], 64);
    assert_int_equal(L->typical_note_steps[0], 16);
    assert_int_equal(L->min_note_steps[0], 16);
    assert_int_equal(L->max_poly[0], 3);
    /* drums: no shortest length, the length floor, two voices */
    assert_int_equal(L->min_note_steps[TOK_DRUM_FAMILY], 0);
    assert_int_equal(L->max_note_steps[TOK_DRUM_FAMILY], NOTE_LIMITS_MIN_LEN_STEPS);
    assert_int_equal(L->max_poly[TOK_DRUM_FAMILY], 2);
    /* organ and families absent from the data: the pooled melodic figures
     * (piano's 900 notes and organ's 5: p99 still 64, median 16) */
    assert_int_equal(L->max_note_steps[2], 64);
    assert_int_equal(L->typical_note_steps[2], 16);
    assert_int_equal(L->max_note_steps[7], 64);
    assert_int_equal(L->max_poly[7], 3);
    free(b);
}

static void test_no_notes(void **state)
{
    (void)state;
    uint16_t t[] = {TOK_START, SHIFT(10), TOK_INSTRUMENT + TOK_DRUM_FAMILY, ON(36), OFF(36), TOK_END};
    dataset_seq seq = {t, sizeof t / sizeof t[0]};
    note_limits nl;
    char err[AURL_ERR_LEN] = "";
    assert_int_equal(note_limits_from_seqs(&seq, 1, &nl, err), -1);
    assert_non_null(strstr(err, "no melodic note"));
    assert_int_equal(note_limits_from_seqs(NULL, 0, &nl, err), -1);
    /* malformed streams are tolerated: NOTE_OFFs of silent notes, ids past the vocabulary */
    uint16_t bad[] = {OFF(60), ON(60), ON(60), SHIFT(20), OFF(60), OFF(60), 9999, TOK_INSTRUMENT + 3};
    dataset_seq bs = {bad, sizeof bad / sizeof bad[0]};
    assert_int_equal(note_limits_from_seqs(&bs, 1, &nl, err), 0);
    assert_int_equal(nl.notes[0], 1);
}

/* The sample data's cache: every limit is inside its floors, shortest <
 * typical <= longest, and a missing cache is a message naming it. */
static void test_real_cache(void **state)
{
    (void)state;
    note_limits nl;
    char err[AURL_ERR_LEN];
    cache *c = NULL;
    if (cache_ensure("data", 0, NULL, NULL, &c, err) != 0) fail_msg("%s", err);
    cache_close(c);
    if (note_limits_from_cache("data", &nl, err) != 0) fail_msg("%s", err);
    assert_true(nl.total_notes > 10000);
    for (int i = 0; i < SCORE_N_INSTRUMENTS; i++) {
        const grammar_limits *L = &nl.limits;
        assert_true(L->max_note_steps[i] >= NOTE_LIMITS_MIN_LEN_STEPS);
        assert_true(L->min_note_steps[i] <= L->typical_note_steps[i]);
        assert_true(L->typical_note_steps[i] <= L->max_note_steps[i]);
        assert_true(L->max_poly[i] >= 1 && L->max_poly[i] <= 128);
    }
    assert_int_equal(note_limits_from_cache(testutil_path("nowhere"), &nl, err), -1);
    assert_non_null(strstr(err, "nowhere"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_percentiles),
        cmocka_unit_test(test_no_notes),
        cmocka_unit_test(test_real_cache),
    };
    return cmocka_run_group_tests(tests, testutil_tmpdir_setup, testutil_tmpdir_teardown);
}
