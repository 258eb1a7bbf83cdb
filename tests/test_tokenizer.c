/* Tests of src/data/tokenizer: bins, every encoding rule of docs/DESIGN.md §5,
 * tolerant decoding of malformed strings, and the encode -> decode round
 * trip of random scores against tok_normalize. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/score.h"
#include "data/tokenizer.h"

#define STEP (1.0 / TOK_STEPS_PER_SECOND)
#define HALF_STEP_TOL (0.5 / TOK_STEPS_PER_SECOND + 1e-9)

static uint64_t rng_state;
static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}
static double rndu(void) { return rnd() / 2147483648.0; }

static void add_note(score *s, double on, double off, int pitch, int vel, int inst)
{
    score_note n = {on, off, (uint8_t)pitch, (uint8_t)vel, (uint8_t)inst};
    assert_int_equal(score_add_note(s, n), 0);
}

static void encode(const score *s, uint16_t **t, size_t *n)
{
    assert_int_equal(tok_encode(s, t, n), 0);
    assert_true(*n >= 2);
    assert_int_equal((*t)[0], TOK_START);
    assert_int_equal((*t)[*n - 1], TOK_END);
}

static size_t count_type(const uint16_t *t, size_t n, tok_type ty)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += tok_type_of(t[i]) == ty;
    return c;
}

static uint16_t on(int p) { return (uint16_t)(TOK_NOTE_ON + p - TOK_PITCH_MIN); }
static uint16_t off(int p) { return (uint16_t)(TOK_NOTE_OFF + p - TOK_PITCH_MIN); }
static uint16_t ts(int steps) { return (uint16_t)(TOK_TIME_SHIFT + steps - 1); }

/* Encodes S, checks that the token string is exactly the NW tokens of WANT,
 * and decodes it into D unless D is NULL. */
static void encode_expect(const score *s, const uint16_t *want, size_t nw, score *d)
{
    uint16_t *t;
    size_t n;
    encode(s, &t, &n);
    assert_int_equal(n, nw);
    assert_memory_equal(t, want, nw * sizeof *want);
    if (d) assert_int_equal(tok_decode(t, n, d), 0);
    free(t);
}
#define ENCODE_EXPECT(s, want, d) encode_expect(s, want, sizeof want / sizeof want[0], d)

static void test_velocity_bins(void **state)
{
    (void)state;
    int prev = 0;
    for (int v = 1; v <= 127; v++) {
        int b = tok_velocity_bin(v);
        assert_int_equal(b, (v - 1) * 32 / 127);
        assert_true(b >= prev && b <= prev + 1);
        prev = b;
    }
    assert_int_equal(tok_velocity_bin(1), 0);
    assert_int_equal(tok_velocity_bin(127), 31);
    for (int b = 0; b < 32; b++) {
        int v = tok_velocity_value(b);
        assert_true(v >= 1 && v <= 127);
        assert_int_equal(tok_velocity_bin(v), b);
        /* centre: both neighbours within the bin's range are at most 2 away */
        int lo = v, hi = v;
        while (lo > 1 && tok_velocity_bin(lo - 1) == b) lo--;
        while (hi < 127 && tok_velocity_bin(hi + 1) == b) hi++;
        assert_true(v - lo <= 2 && hi - v <= 2);
        assert_true(abs((v - lo) - (hi - v)) <= 1);
    }
}

static void test_tempo_bins(void **state)
{
    (void)state;
    double prev = 0;
    for (int b = 0; b < 32; b++) {
        double bpm = tok_tempo_bpm(b);
        assert_true(bpm > prev);
        assert_true(bpm > 40 && bpm < 240);
        assert_int_equal(tok_tempo_bin(bpm), b);
        prev = bpm;
    }
    /* log spacing: constant ratio between neighbouring centres */
    double r = tok_tempo_bpm(1) / tok_tempo_bpm(0);
    assert_true(fabs(r - pow(6.0, 1.0 / 32)) < 1e-9);
    assert_true(fabs(tok_tempo_bpm(31) / tok_tempo_bpm(30) - r) < 1e-9);
    int pb = 0;
    for (double bpm = 20; bpm < 400; bpm += 0.37) {
        int b = tok_tempo_bin(bpm);
        assert_true(b >= pb && b < 32);
        pb = b;
    }
    assert_int_equal(tok_tempo_bin(10), 0);
    assert_int_equal(tok_tempo_bin(1000), 31);
    assert_int_equal(tok_tempo_bin(NAN), 0);
    assert_int_equal(tok_tempo_bin(40.0), 0);
    assert_int_equal(tok_tempo_bin(239.9), 31);
}

static void test_names(void **state)
{
    (void)state;
    char b[64];
    tok_name(on(60), b, sizeof b);
    assert_string_equal(b, "NOTE_ON C4");
    tok_name(off(61), b, sizeof b);
    assert_string_equal(b, "NOTE_OFF C#4");
    tok_name(on(21), b, sizeof b);
    assert_string_equal(b, "NOTE_ON A0");
    tok_name(on(108), b, sizeof b);
    assert_string_equal(b, "NOTE_ON C8");
    tok_name(ts(3), b, sizeof b);
    assert_string_equal(b, "TIME_SHIFT 3 (46.9 ms)");
    tok_name(TOK_INSTRUMENT + 15, b, sizeof b);
    assert_string_equal(b, "INSTRUMENT 15 (drums)");
    tok_name(TOK_INSTRUMENT + 12, b, sizeof b);
    assert_string_equal(b, "INSTRUMENT 12 (synth effects)");
    tok_name(TOK_VELOCITY + 20, b, sizeof b);
    char want[64];
    snprintf(want, sizeof want, "VELOCITY 20 (v=%d)", tok_velocity_value(20));
    assert_string_equal(b, want);
    tok_name(TOK_START, b, sizeof b);
    assert_string_equal(b, "START");
    tok_name(TOK_SUSTAIN_OFF, b, sizeof b);
    assert_string_equal(b, "SUSTAIN_OFF");
    tok_name(TOK_TEMPO, b, sizeof b);
    assert_non_null(strstr(b, "TEMPO 0 ("));
    tok_name(900, b, sizeof b);
    assert_non_null(strstr(b, "UNK"));
    char small[4];
    tok_name(on(60), small, sizeof small); /* truncates, never overflows */
    assert_int_equal(strlen(small), 3);
    assert_int_equal(tok_type_of(TOK_PAD), TOKT_SPECIAL);
    assert_int_equal(tok_type_of(91), TOKT_NOTE_ON);
    assert_int_equal(tok_type_of(92), TOKT_NOTE_OFF);
    assert_int_equal(tok_type_of(691), TOKT_TIME_SHIFT);
    assert_int_equal(tok_type_of(723), TOKT_VELOCITY);
    assert_int_equal(tok_type_of(725), TOKT_SUSTAIN);
    assert_int_equal(tok_type_of(757), TOKT_TEMPO);
    assert_int_equal(tok_type_of(773), TOKT_INSTRUMENT);
    assert_int_equal(tok_type_of(774), TOKT_SPECIAL);
    assert_string_equal(tok_type_name(TOKT_TIME_SHIFT), "TIME_SHIFT");
}

/* Exact token string of a small chord progression: OFFs before ONs at equal
 * times, then by pitch; velocity only on change. */
static void test_encode_exact_order(void **state)
{
    (void)state;
    score s;
    score_init(&s);
    add_note(&s, 0.5, 1.0, 67, 50, 0);  /* added out of order on purpose */
    add_note(&s, 0.0, 0.5, 64, 100, 0);
    add_note(&s, 0.0, 0.5, 60, 100, 0);
    const uint16_t want[] = {
        TOK_START, (uint16_t)(TOK_VELOCITY + tok_velocity_bin(100)), on(60), on(64), ts(32),
        off(60), off(64), (uint16_t)(TOK_VELOCITY + tok_velocity_bin(50)), on(67), ts(32), off(67),
        TOK_END,
    };
    ENCODE_EXPECT(&s, want, NULL);
    score_free(&s);
}

/* Quantisation is of absolute times: many notes 1/3 step apart accumulate no drift. */
static void test_no_drift(void **state)
{
    (void)state;
    score s;
    score_init(&s);
    for (int i = 0; i < 300; i++) add_note(&s, i * 0.1 + 0.001, i * 0.1 + 0.05, 60 + i % 12, 80, 0);
    uint16_t *t;
    size_t n;
    encode(&s, &t, &n);
    score d;
    assert_int_equal(tok_decode(t, n, &d), 0);
    assert_int_equal(d.n_notes, 300);
    for (size_t i = 0; i < d.n_notes; i++) {
        assert_true(fabs(d.notes[i].onset - (i * 0.1 + 0.001)) <= HALF_STEP_TOL);
        assert_true(fabs(d.notes[i].offset - (i * 0.1 + 0.05)) <= HALF_STEP_TOL);
    }
    free(t);
    score_free(&d);
    score_free(&s);
}

/* A zero-length note (after quantisation) keeps its own ON/OFF pair, with the
 * OFF after the ONs of its step, and decodes to a zero-length note. */
static void test_zero_length_note(void **state)
{
    (void)state;
    score s;
    score_init(&s);
    add_note(&s, 0.25, 0.253, 38, 90, SCORE_DRUMS); /* 16 steps, 16.19 -> 16 */
    add_note(&s, 0.25, 0.75, 60, 90, 0);
    add_note(&s, 0.25, 0.25, 64, 90, 0);
    const uint16_t want[] = {
        TOK_START, ts(16), (uint16_t)(TOK_VELOCITY + tok_velocity_bin(90)), on(60), on(64),
        TOK_INSTRUMENT + SCORE_DRUMS, on(38), TOK_INSTRUMENT + 0, off(64),
        TOK_INSTRUMENT + SCORE_DRUMS, off(38), ts(32), TOK_INSTRUMENT + 0, off(60), TOK_END,
    };
    score d;
    ENCODE_EXPECT(&s, want, &d);
    assert_int_equal(d.n_notes, 3);
    int zero = 0;
    for (size_t i = 0; i < d.n_notes; i++) {
        assert_true(fabs(d.notes[i].onset - 0.25) < 1e-9);
        if (d.notes[i].pitch != 60) {
            assert_true(d.notes[i].offset == d.notes[i].onset);
            zero++;
        }
    }
    assert_int_equal(zero, 2);
    score_free(&d);
    score_free(&s);
}

/* Gaps longer than 8 s repeat TIME_SHIFT 511; a note longer than 8 s with an
 * explicit OFF keeps its length. */
static void test_long_gaps(void **state)
{
    (void)state;
    score s;
    score_init(&s);
    add_note(&s, 0, 20, 60, 64, 0);     /* 1280 steps */
    add_note(&s, 36, 37, 62, 64, 0);    /* gap 1024 steps = exactly two shifts */
    const uint16_t want[] = {
        TOK_START, (uint16_t)(TOK_VELOCITY + tok_velocity_bin(64)), on(60), ts(512), ts(512), ts(256),
        off(60), ts(512), ts(512), on(62), ts(64), off(62), TOK_END,
    };
    score d;
    ENCODE_EXPECT(&s, want, &d);
    assert_int_equal(d.n_notes, 2);
    assert_true(fabs(d.notes[0].offset - 20) < 1e-9);
    assert_true(fabs(d.notes[1].onset - 36) < 1e-9);
    score_free(&d);
    uint16_t buf[8];
    assert_int_equal(tok_time_shifts(0, buf, 8), 0);
    assert_int_equal(tok_time_shifts(512, buf, 8), 1);
    assert_int_equal(buf[0], ts(512));
    assert_int_equal(tok_time_shifts(513, buf, 8), 2);
    assert_int_equal(buf[1], ts(1));
    assert_int_equal(tok_time_shifts(5000, NULL, 0), 10);
    score_free(&s);
}

/* VELOCITY only when the bin changes, INSTRUMENT only when the family does. */
static void test_state_tokens_on_change(void **state)
{
    (void)state;
    score s;
    score_init(&s);
    for (int i = 0; i < 20; i++) add_note(&s, i * 0.5, i * 0.5 + 0.25, 60, 81 + i % 3, 0); /* one bin */
    uint16_t *t;
    size_t n;
    encode(&s, &t, &n);
    assert_int_equal(tok_velocity_bin(81), tok_velocity_bin(83));
    assert_int_equal(count_type(t, n, TOKT_VELOCITY), 1);
    assert_int_equal(count_type(t, n, TOKT_INSTRUMENT), 0); /* piano is the initial family */
    free(t);
    score_free(&s);

    score_init(&s);
    for (int i = 0; i < 10; i++) add_note(&s, i, i + 0.5, 60, i < 5 ? 40 : 100, i < 5 ? 3 : 7);
    encode(&s, &t, &n);
    assert_int_equal(count_type(t, n, TOKT_VELOCITY), 2);
    /* guitar (first ON), then brass; offs of guitar notes between happen in guitar */
    assert_int_equal(count_type(t, n, TOKT_INSTRUMENT), 2);
    free(t);
    score_free(&s);
}

static void test_pitch_folding_and_drums(void **state)
{
    (void)state;
    score s;
    score_init(&s);
    add_note(&s, 0, 1, 10, 64, 0);          /* -> 22 */
    add_note(&s, 1, 2, 120, 64, 4);         /* -> 108 */
    add_note(&s, 2, 3, 127, 64, 4);         /* -> 103 */
    add_note(&s, 3, 4, 10, 64, SCORE_DRUMS);  /* dropped */
    add_note(&s, 3, 4, 110, 64, SCORE_DRUMS); /* dropped */
    add_note(&s, 3, 4, 36, 64, SCORE_DRUMS);  /* kept */
    score c;
    score_init(&c);
    for (size_t i = 0; i < s.n_notes; i++) assert_int_equal(score_add_note(&c, s.notes[i]), 0);
    assert_int_equal(tok_normalize(&c), 2);
    assert_int_equal(c.n_notes, 4);
    assert_int_equal(c.notes[0].pitch, 22);
    assert_int_equal(c.notes[1].pitch, 108);
    assert_int_equal(c.notes[2].pitch, 103);
    assert_int_equal(c.notes[3].pitch, 36);
    uint16_t *t;
    size_t n;
    encode(&s, &t, &n);
    score d;
    assert_int_equal(tok_decode(t, n, &d), 0);
    assert_int_equal(d.n_notes, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(d.notes[i].pitch, c.notes[i].pitch);
        assert_int_equal(d.notes[i].instrument, c.notes[i].instrument);
    }
    free(t);
    score_free(&d);
    score_free(&c);
    score_free(&s);
}

/* Overlapping notes of one key: the re-strike ends the sounding note, with a
 * NOTE_OFF before the new NOTE_ON. Same-step duplicates merge. */
static void test_restrike(void **state)
{
    (void)state;
    score s;
    score_init(&s);
    add_note(&s, 0, 2, 60, 64, 0);
    add_note(&s, 1, 1.5, 60, 64, 0);
    add_note(&s, 3, 3.5, 62, 64, 0);
    add_note(&s, 3.001, 4, 62, 64, 0); /* same step as the previous: merged */
    const uint16_t want[] = {
        TOK_START, (uint16_t)(TOK_VELOCITY + tok_velocity_bin(64)), on(60), ts(64), off(60), on(60),
        ts(32), off(60), ts(96), on(62), ts(64), off(62), TOK_END,
    };
    score d;
    ENCODE_EXPECT(&s, want, &d);
    assert_int_equal(d.n_notes, 3);
    assert_true(fabs(d.notes[0].offset - 1.0) < 1e-9);
    assert_true(fabs(d.notes[1].onset - 1.0) < 1e-9 && fabs(d.notes[1].offset - 1.5) < 1e-9);
    assert_true(fabs(d.notes[2].offset - 4.0) < 1e-9);
    score_free(&d);
    assert_int_equal(tok_normalize(&s), 1);
    assert_int_equal(s.n_notes, 3);
    score_free(&s);
}

/* TEMPO at time 0 and on bin changes only; SUSTAIN on the current instrument. */
static void test_tempo_and_sustain(void **state)
{
    (void)state;
    score s;
    score_init(&s);
    add_note(&s, 0, 3, 60, 64, 5);
    score_tempo t0 = {0, 120}, t1 = {1, 120.5}, t2 = {2, 180}, t3 = {2, 90};
    assert_int_equal(tok_tempo_bin(120), tok_tempo_bin(120.5));
    assert_int_equal(score_add_tempo(&s, t0), 0);
    assert_int_equal(score_add_tempo(&s, t1), 0);
    assert_int_equal(score_add_tempo(&s, t2), 0);
    assert_int_equal(score_add_tempo(&s, t3), 0); /* same step: the last one counts */
    score_sustain p0 = {0.5, 5, 1}, p1 = {1.0, 5, 0};
    assert_int_equal(score_add_sustain(&s, p0), 0);
    assert_int_equal(score_add_sustain(&s, p1), 0);
    const uint16_t want[] = {
        TOK_START, (uint16_t)(TOK_TEMPO + tok_tempo_bin(120)), TOK_INSTRUMENT + 5,
        (uint16_t)(TOK_VELOCITY + tok_velocity_bin(64)), on(60), ts(32), TOK_SUSTAIN_ON, ts(32),
        TOK_SUSTAIN_OFF, ts(64), (uint16_t)(TOK_TEMPO + tok_tempo_bin(90)), ts(64), off(60), TOK_END,
    };
    score d;
    ENCODE_EXPECT(&s, want, &d);
    assert_int_equal(d.n_tempos, 2);
    assert_int_equal(tok_tempo_bin(d.tempos[1].bpm), tok_tempo_bin(90));
    assert_true(fabs(d.tempos[1].time - 2) < 1e-9);
    assert_int_equal(d.n_sustains, 2);
    assert_int_equal(d.sustains[0].instrument, 5);
    assert_int_equal(d.sustains[0].down, 1);
    assert_true(fabs(d.sustains[1].time - 1) < 1e-9);
    assert_int_equal(d.sustains[1].down, 0);
    score_free(&d);
    score_free(&s);
}

/* Hand-made malformed strings: each tolerance rule of tok_decode. */
static void test_decode_rules(void **state)
{
    (void)state;
    score d;
    /* no START, OFF of a silent note, default velocity, ids >= 774, PAD/UNK */
    const uint16_t a[] = {off(60), 900, TOK_PAD, TOK_UNK, on(60), ts(64), off(60), off(60), 65535};
    assert_int_equal(tok_decode(a, sizeof a / sizeof a[0], &d), 0);
    assert_int_equal(d.n_notes, 1);
    assert_int_equal(d.notes[0].velocity, tok_velocity_value(tok_velocity_bin(64)));
    assert_true(fabs(d.notes[0].offset - 1) < 1e-9);
    score_free(&d);
    /* re-strike; hanging notes end 8 s after onset or at END; tokens after END ignored */
    const uint16_t b[] = {TOK_START, TOK_INSTRUMENT + 3, on(50), ts(32), on(50), on(70), ts(512), ts(512),
                          ts(512), on(80), ts(64), TOK_END, ts(100), on(90), ts(10)};
    assert_int_equal(tok_decode(b, sizeof b / sizeof b[0], &d), 0);
    assert_int_equal(d.n_notes, 4);
    /* sorted by onset: 50 [0,0.5], 50 [0.5, 8.5], 70 [0.5, 8.5], 80 [24.5, 25.5] */
    assert_true(fabs(d.notes[0].offset - 0.5) < 1e-9);
    assert_true(fabs(d.notes[1].onset - 0.5) < 1e-9 && fabs(d.notes[1].offset - 8.5) < 1e-9);
    assert_true(fabs(d.notes[2].offset - 8.5) < 1e-9);
    assert_true(fabs(d.notes[3].onset - 24.5) < 1e-9 && fabs(d.notes[3].offset - 25.5) < 1e-9);
    for (size_t i = 0; i < d.n_notes; i++) assert_int_equal(d.notes[i].instrument, 3);
    score_free(&d);
    /* END right after an ON: zero-length note; empty input: empty score */
    const uint16_t c[] = {on(60), TOK_END};
    assert_int_equal(tok_decode(c, 2, &d), 0);
    assert_int_equal(d.n_notes, 1);
    assert_true(d.notes[0].offset == d.notes[0].onset);
    score_free(&d);
    assert_int_equal(tok_decode(NULL, 0, &d), 0);
    assert_int_equal(d.n_notes + d.n_sustains + d.n_tempos, 0);
    score_free(&d);
}

/* Thousands of random strings: never a crash, always sane notes. */
static void test_decode_random_strings(void **state)
{
    (void)state;
    rng_state = 12345;
    uint16_t buf[600];
    size_t total = 0;
    for (int it = 0; it < 4000; it++) {
        size_t n = rnd() % 600;
        for (size_t i = 0; i < n; i++) {
            uint32_t r = rnd();
            /* mostly valid ids, some garbage; END rarely so strings are long */
            buf[i] = (uint16_t)(r % 16 == 0 ? rnd() % 65536 : TOK_NOTE_ON + rnd() % (TOK_VOCAB_SIZE - TOK_NOTE_ON));
        }
        score d;
        assert_int_equal(tok_decode(buf, n, &d), 0);
        for (size_t i = 0; i < d.n_notes; i++) {
            const score_note *x = &d.notes[i];
            assert_true(x->onset >= 0 && x->offset >= x->onset);
            assert_true(x->pitch >= TOK_PITCH_MIN && x->pitch <= TOK_PITCH_MAX);
            assert_true(x->velocity >= 1 && x->velocity <= 127);
            assert_true(x->instrument < SCORE_N_INSTRUMENTS);
            if (i) assert_true(d.notes[i - 1].onset <= x->onset);
        }
        total += d.n_notes;
        score_free(&d);
    }
    assert_true(total > 10000); /* the strings really produced notes */
}

/* Random score with every kind of awkwardness. */
static void random_score(score *s, int n_notes)
{
    score_init(s);
    for (int i = 0; i < n_notes; i++) {
        double on = rndu() * 60;
        double dur = rnd() % 8 == 0 ? rndu() * 0.01 : rnd() % 50 == 0 ? rndu() * 20 : rndu() * 2;
        int inst = rnd() % 16;
        add_note(s, on, on + dur, (int)(rnd() % 128), 1 + (int)(rnd() % 127), inst);
    }
    for (int i = 0; i < n_notes / 20; i++) {
        score_sustain e = {rndu() * 60, (uint8_t)(rnd() % 16), (uint8_t)(rnd() % 2)};
        assert_int_equal(score_add_sustain(s, e), 0);
    }
    for (int i = 0; i < 5; i++) {
        score_tempo t = {i ? rndu() * 60 : 0, 30 + rndu() * 250};
        assert_int_equal(score_add_tempo(s, t), 0);
    }
}

static int cmp_q(const void *a, const void *b)
{
    const score_note *x = a, *y = b;
    int64_t qa = tok_quantize(x->onset), qb = tok_quantize(y->onset);
    if (qa != qb) return qa < qb ? -1 : 1;
    if (x->instrument != y->instrument) return x->instrument - y->instrument;
    return x->pitch - y->pitch;
}

/* Sort C and D the same way and check they hold the same notes: count,
 * pitch, instrument, velocity bin, onset within ONSET_TOL s. */
static void match_notes(score *c, score *d, double onset_tol)
{
    assert_int_equal(d->n_notes, c->n_notes);
    qsort(c->notes, c->n_notes, sizeof *c->notes, cmp_q);
    qsort(d->notes, d->n_notes, sizeof *d->notes, cmp_q);
    for (size_t i = 0; i < c->n_notes; i++) {
        const score_note *x = &c->notes[i], *y = &d->notes[i];
        assert_int_equal(x->pitch, y->pitch);
        assert_int_equal(x->instrument, y->instrument);
        assert_int_equal(tok_velocity_bin(x->velocity), tok_velocity_bin(y->velocity));
        assert_true(fabs(x->onset - y->onset) <= onset_tol);
    }
}

/* encode -> decode equals tok_normalize(score) within 1/128 s. */
static void test_round_trip_random(void **state)
{
    (void)state;
    rng_state = 777;
    for (int it = 0; it < 60; it++) {
        score s, c, d;
        random_score(&s, 50 + it * 10);
        score_init(&c);
        for (size_t i = 0; i < s.n_notes; i++) assert_int_equal(score_add_note(&c, s.notes[i]), 0);
        for (size_t i = 0; i < s.n_sustains; i++) assert_int_equal(score_add_sustain(&c, s.sustains[i]), 0);
        assert_true(tok_normalize(&c) >= 0);
        uint16_t *t;
        size_t n;
        encode(&s, &t, &n);
        for (size_t i = 0; i < n; i++) {
            assert_true(t[i] < TOK_VOCAB_SIZE && t[i] != TOK_PAD && t[i] != TOK_UNK);
            if (i && i + 1 < n) assert_true(t[i] != TOK_START && t[i] != TOK_END);
        }
        assert_int_equal(tok_decode(t, n, &d), 0);
        match_notes(&c, &d, HALF_STEP_TOL);
        for (size_t i = 0; i < c.n_notes; i++) assert_true(fabs(c.notes[i].offset - d.notes[i].offset) <= HALF_STEP_TOL);
        assert_int_equal(d.n_sustains, c.n_sustains);
        for (size_t i = 0; i < c.n_sustains; i++) {
            assert_true(fabs(c.sustains[i].time - d.sustains[i].time) <= HALF_STEP_TOL);
            assert_int_equal(c.sustains[i].instrument, d.sustains[i].instrument);
            assert_int_equal(c.sustains[i].down, d.sustains[i].down);
        }
        /* tempo tokens: only where the bin changes */
        for (size_t i = 1; i < d.n_tempos; i++)
            assert_int_not_equal(tok_tempo_bin(d.tempos[i].bpm), tok_tempo_bin(d.tempos[i - 1].bpm));
        assert_true(d.n_tempos >= 1 && d.tempos[0].time == 0);
        /* re-encoding the decoded score reproduces the same tokens */
        uint16_t *t2;
        size_t n2;
        encode(&d, &t2, &n2);
        assert_int_equal(n2, n);
        assert_memory_equal(t2, t, n * sizeof *t);
        /* normalisation is idempotent */
        size_t before = c.n_notes;
        assert_int_equal(tok_normalize(&c), 0);
        assert_int_equal(c.n_notes, before);
        free(t);
        free(t2);
        score_free(&s);
        score_free(&c);
        score_free(&d);
    }
}

/* v2 DURATION bins: monotone, one step each up to 48, then about 6% apart
 * up to 8 s; bin_of(steps_of(b)) == b; the nearest bin is within 3.5%. */
static void test_v2_duration_bins(void **state)
{
    (void)state;
    assert_int_equal(tok_duration_steps(0), 1);
    assert_int_equal(tok_duration_steps(47), 48);
    assert_int_equal(tok_duration_steps(TOK_N_DURATIONS - 1), TOK_MAX_SHIFT_STEPS);
    for (int b = 0; b < TOK_N_DURATIONS; b++) {
        assert_int_equal(tok_duration_bin(tok_duration_steps(b)), b);
        if (b) assert_true(tok_duration_steps(b) > tok_duration_steps(b - 1));
    }
    assert_int_equal(tok_duration_bin(0), 0);
    assert_int_equal(tok_duration_bin(-5), 0);
    assert_int_equal(tok_duration_bin(100000), TOK_N_DURATIONS - 1);
    for (int64_t st = 1; st <= TOK_MAX_SHIFT_STEPS; st++) {
        double r = tok_duration_steps(tok_duration_bin(st)) / (double)st;
        assert_true(r > 1 / 1.035 && r < 1.035);
    }
    assert_int_equal(tok_type_of_vocab(TOK_DURATION + 5, TOK_VOCAB_V2), TOKT_DURATION);
    assert_int_equal(tok_type_of_vocab(TOK_DURATION + 5, TOK_VOCAB_V1), TOKT_NOTE_OFF);
    assert_int_equal(tok_type_of_vocab(TOK_NOTE_ON, TOK_VOCAB_V2), TOKT_NOTE_ON);
    char name[64];
    tok_name_vocab(TOK_DURATION + 47, TOK_VOCAB_V2, name, sizeof name);
    assert_string_equal(name, "DURATION 47 (0.750 s)");
    assert_int_equal(tok_vocab_parse("v2"), TOK_VOCAB_V2);
    assert_int_equal(tok_vocab_parse("v1"), TOK_VOCAB_V1);
    assert_int_equal(tok_vocab_parse("v3"), -1);
    assert_string_equal(tok_vocab_name(TOK_VOCAB_V2), "v2");
}

/* v2 encoding: NOTE_ON then DURATION for melodic notes, none for drums, no
 * NOTE_OFF; decoding gives the lengths back; a re-strike ends the note. */
static void test_v2_encode_exact(void **state)
{
    (void)state;
    score s;
    score_init(&s);
    add_note(&s, 0, 0.5, 60, 64, 0);          /* 32 steps */
    add_note(&s, 0.25, 0.3, 38, 100, 15);     /* drum */
    add_note(&s, 0.25, 2.0, 64, 64, 0);       /* 112 steps */
    uint16_t *t;
    size_t n;
    assert_int_equal(tok_encode_vocab(&s, TOK_VOCAB_V2, &t, &n), 0);
    int vb = tok_velocity_bin(64), db = tok_velocity_bin(100);
    const uint16_t want[] = {TOK_START, (uint16_t)(TOK_VELOCITY + vb), on(60), (uint16_t)(TOK_DURATION + 31), ts(16),
                             on(64), (uint16_t)(TOK_DURATION + tok_duration_bin(112)),
                             (uint16_t)(TOK_INSTRUMENT + 15), (uint16_t)(TOK_VELOCITY + db), on(38), TOK_END};
    assert_int_equal(n, sizeof want / sizeof want[0]);
    assert_memory_equal(t, want, sizeof want);
    score d;
    assert_int_equal(tok_decode_vocab(t, n, TOK_VOCAB_V2, &d), 0);
    assert_int_equal(d.n_notes, 3);
    for (size_t i = 0; i < d.n_notes; i++) {
        const score_note *x = &d.notes[i];
        if (x->pitch == 60) assert_true(fabs(x->offset - 0.5) < 1e-9);
        if (x->pitch == 38) assert_true(fabs(x->offset - x->onset - TOK_DRUM_STEPS * STEP) < 1e-9);
        if (x->pitch == 64) assert_true(fabs(x->offset - x->onset - tok_duration_steps(tok_duration_bin(112)) * STEP) < 1e-9);
    }
    score_free(&d);
    free(t);
    /* re-strike: the second NOTE_ON of a key ends the first; a DURATION not
     * after a NOTE_ON is ignored; a NOTE_ON without one lasts TOK_DRUM_STEPS */
    const uint16_t str[] = {TOK_START, on(60), (uint16_t)(TOK_DURATION + 87), ts(10), on(60),
                            (uint16_t)(TOK_DURATION + 3), (uint16_t)(TOK_DURATION + 9), on(62), ts(4), TOK_END};
    assert_int_equal(tok_decode_vocab(str, sizeof str / sizeof str[0], TOK_VOCAB_V2, &d), 0);
    assert_int_equal(d.n_notes, 3);
    assert_true(fabs(d.notes[0].offset - 10 * STEP) < 1e-9);
    assert_true(fabs(d.notes[1].offset - d.notes[1].onset - 4 * STEP) < 1e-9 ||
                fabs(d.notes[2].offset - d.notes[2].onset - 4 * STEP) < 1e-9);
    for (size_t i = 0; i < d.n_notes; i++)
        if (d.notes[i].pitch == 62) assert_true(fabs(d.notes[i].offset - d.notes[i].onset - TOK_DRUM_STEPS * STEP) < 1e-9);
    score_free(&d);
    score_free(&s);
}

/* v2 round trip of random scores: every note's onset, pitch, instrument and
 * velocity bin as v1 keeps them, lengths within the bin's 3.5% (at most 8 s;
 * drums TOK_DRUM_STEPS); transcoding a v1 sequence equals encoding in v2. */
static void test_v2_round_trip_random(void **state)
{
    (void)state;
    rng_state = 4242;
    for (int it = 0; it < 40; it++) {
        score s, c, d;
        random_score(&s, 50 + it * 10);
        uint16_t *t1, *t2, *tt;
        size_t n1, n2, nt;
        encode(&s, &t1, &n1);
        assert_int_equal(tok_decode(t1, n1, &c), 0); /* normalised, on the grid */
        assert_int_equal(tok_encode_vocab(&c, TOK_VOCAB_V2, &t2, &n2), 0);
        for (size_t i = 0; i < n2; i++) assert_true(tok_type_of_vocab(t2[i], TOK_VOCAB_V2) != TOKT_NOTE_OFF);
        assert_int_equal(tok_transcode(t1, n1, TOK_VOCAB_V2, &tt, &nt), 0);
        assert_int_equal(nt, n2);
        assert_memory_equal(tt, t2, n2 * sizeof *t2);
        assert_int_equal(tok_decode_vocab(t2, n2, TOK_VOCAB_V2, &d), 0);
        match_notes(&c, &d, 1e-9);
        for (size_t i = 0; i < c.n_notes; i++) {
            const score_note *x = &c.notes[i], *y = &d.notes[i];
            double lx = x->offset - x->onset, ly = y->offset - y->onset;
            if (x->instrument == SCORE_DRUMS) {
                assert_true(ly <= TOK_DRUM_STEPS * STEP + 1e-9);
            } else if (lx >= 8.0) {
                assert_true(ly <= 8.0 + 1e-9);
            } else if (lx >= STEP) {
                /* shorter only where the next strike of the key came first */
                assert_true(ly <= lx * 1.035 + 1e-9);
                if (ly < lx / 1.035 - 1e-9) {
                    int restruck = 0;
                    for (size_t k = 0; k < d.n_notes; k++)
                        restruck |= d.notes[k].instrument == y->instrument && d.notes[k].pitch == y->pitch &&
                                    fabs(d.notes[k].onset - y->offset) < 1e-9;
                    assert_true(restruck);
                }
            }
        }
        free(t1);
        free(t2);
        free(tt);
        score_free(&s);
        score_free(&c);
        score_free(&d);
    }
}

/* v2 decoding of random strings: every note well formed. */
static void test_v2_decode_random_strings(void **state)
{
    (void)state;
    rng_state = 999;
    uint16_t buf[600];
    for (int it = 0; it < 2000; it++) {
        size_t n = rnd() % 600;
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint16_t)(rnd() % 16 == 0 ? rnd() % 65536 : TOK_NOTE_ON + rnd() % (TOK_VOCAB_SIZE - TOK_NOTE_ON));
        score d;
        assert_int_equal(tok_decode_vocab(buf, n, TOK_VOCAB_V2, &d), 0);
        for (size_t i = 0; i < d.n_notes; i++) {
            const score_note *x = &d.notes[i];
            assert_true(x->onset >= 0 && x->offset >= x->onset && x->offset - x->onset <= 8.0 + 1e-9);
            assert_true(x->pitch >= TOK_PITCH_MIN && x->pitch <= TOK_PITCH_MAX);
            assert_true(x->instrument < SCORE_N_INSTRUMENTS);
        }
        score_free(&d);
    }
}

/* Garbage in a score (NaN, negative, huge times, bad instruments) is handled. */
static void test_encode_garbage_score(void **state)
{
    (void)state;
    score s;
    score_init(&s);
    add_note(&s, NAN, 1, 60, 64, 0);
    add_note(&s, 0, INFINITY, 60, 64, 0);
    add_note(&s, -5, -1, 61, 0, 0);       /* -> [0, 0], velocity 1 */
    add_note(&s, 2, 1, 62, 200, 0);       /* offset < onset -> zero length, v 127 */
    add_note(&s, 1e30, 1e31, 63, 64, 0);  /* dropped */
    add_note(&s, 1, 2, 64, 64, 99);       /* bad instrument: dropped */
    score_tempo tp = {0, NAN};
    assert_int_equal(score_add_tempo(&s, tp), 0);
    score_sustain su = {-1, 200, 1};
    assert_int_equal(score_add_sustain(&s, su), 0);
    uint16_t *t;
    size_t n;
    encode(&s, &t, &n);
    assert_true(n < 40);
    score d;
    assert_int_equal(tok_decode(t, n, &d), 0);
    assert_int_equal(d.n_notes, 2);
    assert_int_equal(d.n_tempos, 0);
    assert_int_equal(d.n_sustains, 0);
    assert_int_equal(d.notes[0].pitch, 61);
    assert_int_equal(tok_velocity_bin(d.notes[0].velocity), 0);
    assert_int_equal(tok_velocity_bin(d.notes[1].velocity), 31);
    free(t);
    score_free(&d);
    score_free(&s);
    score empty;
    score_init(&empty);
    encode(&empty, &t, &n);
    assert_int_equal(n, 2);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_velocity_bins),
        cmocka_unit_test(test_tempo_bins),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_encode_exact_order),
        cmocka_unit_test(test_no_drift),
        cmocka_unit_test(test_zero_length_note),
        cmocka_unit_test(test_long_gaps),
        cmocka_unit_test(test_state_tokens_on_change),
        cmocka_unit_test(test_pitch_folding_and_drums),
        cmocka_unit_test(test_restrike),
        cmocka_unit_test(test_tempo_and_sustain),
        cmocka_unit_test(test_decode_rules),
        cmocka_unit_test(test_decode_random_strings),
        cmocka_unit_test(test_round_trip_random),
        cmocka_unit_test(test_encode_garbage_score),
        cmocka_unit_test(test_v2_duration_bins),
        cmocka_unit_test(test_v2_encode_exact),
        cmocka_unit_test(test_v2_round_trip_random),
        cmocka_unit_test(test_v2_decode_random_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
