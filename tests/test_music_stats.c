/* Music statistics on hand-built scores with known answers: rate, pitch
 * classes (drums excluded), range, polyphony by sweep, velocity spread,
 * inter-onset interval, pooling over pieces, token input (one sequence or
 * many) and the Jensen-Shannon pitch-class distance; the MusPy-style
 * metrics (scale consistency of a major scale, entropy of a chromatic one,
 * distinct-pitch polyphony of a held chord, groove of a repeated bar on a
 * tempo map, empty beats), note-length and inter-onset histograms, drum
 * share, the overlapping area, and music_compare's rows and distance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/score.h"
#include "data/tokenizer.h"
#include "engine/eval/music_compare.h"
#include "engine/eval/music_stats.h"

static void add(score *s, double on, double off, int pitch, int vel, int inst)
{
    score_note n = {on, off, (uint8_t)pitch, (uint8_t)vel, (uint8_t)inst};
    assert_int_equal(score_add_note(s, n), 0);
}

/* C4 and E4 together for 1 s, then G4 alone for 1 s (2 s piece), plus one drum hit. */
static void build(score *s)
{
    score_init(s);
    add(s, 0.0, 1.0, 60, 40, 0);
    add(s, 0.0, 1.0, 64, 80, 0);
    add(s, 1.0, 2.0, 67, 60, 0);
    add(s, 1.5, 1.6, 36, 100, SCORE_DRUMS);
}

static void test_known_score(void **state)
{
    (void)state;
    score s;
    build(&s);
    music_stats m;
    assert_int_equal(music_stats_of_score(&s, &m), 0);
    assert_int_equal(m.n_notes, 4);
    assert_float_equal(m.seconds, 2.0, 1e-12);
    assert_float_equal(m.notes_per_second, 2.0, 1e-12);
    /* melodic pitch classes: C, E, G one each; the drum (36 = C) excluded */
    assert_float_equal(m.pc_hist[0], 1.0 / 3, 1e-12);
    assert_float_equal(m.pc_hist[4], 1.0 / 3, 1e-12);
    assert_float_equal(m.pc_hist[7], 1.0 / 3, 1e-12);
    assert_float_equal(m.pc_hist[2], 0.0, 0);
    assert_int_equal(m.pitch_min, 60);
    assert_int_equal(m.pitch_max, 67);
    assert_int_equal(m.pitch_span, 7);
    /* 2 notes for 1 s then 1 note for 1 s: mean 1.5, max 2 (G starts as C/E end) */
    assert_float_equal(m.polyphony_mean, 1.5, 1e-12);
    assert_int_equal(m.polyphony_max, 2);
    assert_float_equal(m.velocity_mean, 70.0, 1e-12);
    /* velocities 40 80 60 100: deviations -30 10 -10 30 -> var 500 */
    assert_float_equal(m.velocity_std, sqrt(500.0), 1e-9);
    /* distinct onsets 0, 1, 1.5 -> gaps 1 and 0.5 */
    assert_float_equal(m.ioi_mean, 0.75, 1e-12);
    score_free(&s);
}

static void test_empty_and_pooling(void **state)
{
    (void)state;
    score e;
    score_init(&e);
    music_stats m;
    assert_int_equal(music_stats_of_score(&e, &m), 0);
    assert_int_equal(m.n_notes, 0);
    assert_int_equal(m.pitch_min, -1);
    assert_float_equal(m.notes_per_second, 0, 0);
    assert_true(isnan(music_stats_pc_distance(m.pc_hist, m.pc_hist)));

    /* pooled: the known piece plus a 2 s piece of one B3 (pitch 59) at velocity 70 */
    score s, t;
    build(&s);
    score_init(&t);
    add(&t, 0.0, 2.0, 59, 70, 0);
    music_stats_acc a;
    music_stats_acc_init(&a);
    assert_int_equal(music_stats_acc_add_score(&a, &s), 0);
    assert_int_equal(music_stats_acc_add_score(&a, &t), 0);
    music_stats_acc_result(&a, &m);
    assert_int_equal(m.n_pieces, 2);
    assert_int_equal(m.n_notes, 5);
    assert_float_equal(m.notes_per_second, 5.0 / 4.0, 1e-12);
    assert_int_equal(m.pitch_min, 59);
    assert_float_equal(m.pc_hist[11], 0.25, 1e-12);
    /* sounding 2 s + 2 s; integral 3 + 2 */
    assert_float_equal(m.polyphony_mean, 5.0 / 4.0, 1e-12);
    /* the second piece has a single onset: no interval added */
    assert_float_equal(m.ioi_mean, 0.75, 1e-12);
    score_free(&s);
    score_free(&t);
}

static void test_tokens_match_score(void **state)
{
    (void)state;
    score s;
    build(&s);
    uint16_t *tok;
    size_t n;
    assert_int_equal(tok_encode(&s, &tok, &n), 0);
    music_stats_acc a;
    music_stats_acc_init(&a);
    assert_int_equal(music_stats_acc_add_tokens(&a, tok, n, TOK_VOCAB_V1), 0);
    music_stats m, ref;
    music_stats_acc_result(&a, &m);
    assert_int_equal(music_stats_of_score(&s, &ref), 0);
    assert_int_equal(m.n_notes, ref.n_notes);
    assert_int_equal(m.pitch_min, 60);
    assert_int_equal(m.polyphony_max, 2);
    assert_float_equal(m.ioi_mean, ref.ioi_mean, 1.0 / 64);
    /* velocities come back as bin centres */
    assert_float_equal(m.velocity_mean, ref.velocity_mean, 4.0);
    free(tok);
    score_free(&s);
}

static void assert_same_stats(const music_stats *a, const music_stats *b)
{
    assert_int_equal(a->n_pieces, b->n_pieces);
    assert_int_equal(a->n_notes, b->n_notes);
    assert_true(a->seconds == b->seconds && a->notes_per_second == b->notes_per_second);
    for (int i = 0; i < 12; i++) assert_true(a->pc_hist[i] == b->pc_hist[i]);
    assert_int_equal(a->pitch_min, b->pitch_min);
    assert_int_equal(a->pitch_max, b->pitch_max);
    assert_int_equal(a->polyphony_max, b->polyphony_max);
    assert_true(a->polyphony_mean == b->polyphony_mean || (isnan(a->polyphony_mean) && isnan(b->polyphony_mean)));
    assert_true(a->velocity_mean == b->velocity_mean && a->velocity_std == b->velocity_std);
    assert_true(a->ioi_mean == b->ioi_mean);
}

/* Statistics of token sequences pool them like an accumulator. */
static void test_of_sequences(void **state)
{
    (void)state;
    score s;
    build(&s);
    uint16_t *tok;
    size_t n;
    assert_int_equal(tok_encode(&s, &tok, &n), 0);
    score_free(&s);
    const dataset_seq seqs[2] = {{tok, n}, {tok, n / 2}};
    music_stats m, ref;
    assert_int_equal(music_stats_of_sequences(seqs, 2, &m), 0);
    music_stats_acc a;
    music_stats_acc_init(&a);
    for (int i = 0; i < 2; i++) assert_int_equal(music_stats_acc_add_tokens(&a, seqs[i].tokens, seqs[i].n, TOK_VOCAB_V1), 0);
    music_stats_acc_result(&a, &ref);
    assert_same_stats(&m, &ref);
    assert_int_equal(m.n_pieces, 2);
    /* none: the empty statistics */
    music_stats_acc_init(&a);
    music_stats_acc_result(&a, &ref);
    assert_int_equal(music_stats_of_sequences(seqs, 0, &m), 0);
    assert_same_stats(&m, &ref);
    free(tok);
}

static void test_pc_distance(void **state)
{
    (void)state;
    double c[12] = {1}, g[12] = {0}, cg[12] = {0};
    g[7] = 3; /* unnormalised input is normalised */
    cg[0] = cg[7] = 0.5;
    assert_float_equal(music_stats_pc_distance(c, c), 0.0, 1e-12);
    assert_float_equal(music_stats_pc_distance(c, g), 1.0, 1e-12);
    double d1 = music_stats_pc_distance(c, cg), d2 = music_stats_pc_distance(cg, c);
    assert_float_equal(d1, d2, 1e-12);
    /* JS(delta, half/half) = 0.5*log2(4/3) + 0.5*(0.5*log2(2/3) + 0.5*log2(2)) */
    double want = 0.5 * log2(4.0 / 3) + 0.5 * (0.5 * log2(2.0 / 3) + 0.5);
    assert_float_equal(d1, want, 1e-12);
}

/* A scale: one quarter note (0.5 s at 120 BPM) per pitch of PITCHES. */
static void scale_piece(score *s, const int *pitches, int n)
{
    score_init(s);
    for (int i = 0; i < n; i++) add(s, 0.5 * i, 0.5 * i + 0.4, pitches[i], 80, 0);
}

static void test_tonality(void **state)
{
    (void)state;
    static const int major[7] = {60, 62, 64, 65, 67, 69, 71};
    int chroma[12];
    for (int i = 0; i < 12; i++) chroma[i] = 60 + i;
    score a, b;
    scale_piece(&a, major, 7);
    scale_piece(&b, chroma, 12);
    music_stats m;
    assert_int_equal(music_stats_of_score(&a, &m), 0);
    assert_float_equal(m.scale_consistency, 1.0, 1e-12);
    assert_float_equal(m.pc_entropy, log2(7.0), 1e-12);
    assert_int_equal(music_stats_of_score(&b, &m), 0);
    assert_float_equal(m.pc_entropy, log2(12.0), 1e-12);
    assert_float_equal(m.scale_consistency, 7.0 / 12, 1e-12); /* no scale holds more than 7 classes */
    /* the two pieces together: the mean of the pieces, not of the pooled histogram */
    music_stats_acc acc;
    music_stats_acc_init(&acc);
    assert_int_equal(music_stats_acc_add_score(&acc, &a), 0);
    assert_int_equal(music_stats_acc_add_score(&acc, &b), 0);
    music_stats_acc_result(&acc, &m);
    assert_float_equal(m.pc_entropy, 0.5 * (log2(7.0) + log2(12.0)), 1e-12);
    assert_float_equal(m.scale_consistency, 0.5 * (1 + 7.0 / 12), 1e-12);
    /* A minor (natural) is in scale too; drums alone have no tonality */
    static const int a_minor[7] = {57, 59, 60, 62, 64, 65, 67};
    score c;
    scale_piece(&c, a_minor, 7);
    assert_int_equal(music_stats_of_score(&c, &m), 0);
    assert_float_equal(m.scale_consistency, 1.0, 1e-12);
    score d;
    score_init(&d);
    add(&d, 0, 0.1, 36, 100, SCORE_DRUMS);
    assert_int_equal(music_stats_of_score(&d, &m), 0);
    assert_true(isnan(m.scale_consistency));
    assert_float_equal(m.pc_entropy, 0, 0);
    assert_float_equal(m.drum_share, 1.0, 0);
    score_free(&a);
    score_free(&b);
    score_free(&c);
    score_free(&d);
}

static void test_polyphony(void **state)
{
    (void)state;
    /* a C major chord held 2 s on piano, with the C doubled by strings for
     * the first second and a drum hit: 3 distinct pitches throughout */
    score s;
    score_init(&s);
    add(&s, 0, 2, 60, 80, 0);
    add(&s, 0, 2, 64, 80, 0);
    add(&s, 0, 2, 67, 80, 0);
    add(&s, 0, 1, 60, 80, 5);
    add(&s, 0.5, 0.6, 38, 80, SCORE_DRUMS);
    music_stats m;
    assert_int_equal(music_stats_of_score(&s, &m), 0);
    assert_float_equal(m.polyphony_mean, 3.0, 1e-12);
    assert_int_equal(m.polyphony_max, 3);
    assert_float_equal(m.polyphony_rate, 1.0, 1e-12);
    assert_float_equal(m.family_polyphony[0], 3.0, 1e-12);
    assert_float_equal(m.family_polyphony[5], 1.0, 1e-12);
    assert_true(isnan(m.family_polyphony[2])); /* no organ */
    assert_true(isnan(m.family_polyphony[SCORE_DRUMS]));
    assert_int_equal(m.family_notes[0], 3);
    assert_int_equal(m.family_notes[5], 1);
    assert_int_equal(m.family_notes[SCORE_DRUMS], 1);
    assert_float_equal(m.drum_share, 0.2, 1e-12);
    score_free(&s);
    /* the known piece: 2 pitches for 1 s, then 1: rate 0.5; 1 drum of 4 notes */
    build(&s);
    assert_int_equal(music_stats_of_score(&s, &m), 0);
    assert_float_equal(m.polyphony_rate, 0.5, 1e-12);
    assert_float_equal(m.drum_share, 0.25, 1e-12);
    assert_true(isnan(m.family_polyphony[1]));
    score_free(&s);
    /* a silence between notes is not counted; a note shorter than a step still sounds */
    score_init(&s);
    add(&s, 0, 1, 60, 80, 0);
    add(&s, 3, 3.001, 62, 80, 0);
    assert_int_equal(music_stats_of_score(&s, &m), 0);
    assert_float_equal(m.polyphony_mean, 1.0, 1e-12);
    assert_float_equal(m.polyphony_rate, 0.0, 0);
    score_free(&s);
}

/* The bar pattern of 16ths {0, 4, 6, 12} (beats 0, 1, 1.5, 3) in N_BARS bars
 * of BAR seconds from T0. */
static void add_bars(score *s, double t0, double bar, int n_bars)
{
    static const int pos[4] = {0, 4, 6, 12};
    for (int b = 0; b < n_bars; b++)
        for (int i = 0; i < 4; i++) add(s, t0 + bar * (b + pos[i] / 16.0), t0 + bar * (b + pos[i] / 16.0) + 0.05, 60, 80, 0);
}

static void test_groove(void **state)
{
    (void)state;
    /* no tempo: 120 BPM, a bar is 2 s; the same bar 4 times */
    score s;
    score_init(&s);
    add_bars(&s, 0, 2.0, 4);
    music_stats m;
    assert_int_equal(music_stats_of_score(&s, &m), 0);
    assert_float_equal(m.groove_consistency, 1.0, 1e-12);
    /* beats 0..15, each bar's beat 2 (of 0..3) is empty */
    assert_float_equal(m.empty_beat_rate, 4.0 / 16, 1e-12);
    /* a fifth bar with one onset moved (16th 12 -> 14): the last pair differs in 2 of 16 */
    add(&s, 8.0, 8.1, 60, 80, 0);
    add(&s, 8.5, 8.6, 60, 80, 0);
    add(&s, 8.75, 8.8, 60, 80, 0);
    add(&s, 9.75, 9.8, 60, 80, 0);
    assert_int_equal(music_stats_of_score(&s, &m), 0);
    assert_float_equal(m.groove_consistency, 1 - (2.0 / 16) / 4, 1e-12);
    score_free(&s);

    /* the tempo map: 120 BPM for bar 0 (2 s), then 60 BPM (bars of 4 s) */
    score_init(&s);
    assert_int_equal(score_add_tempo(&s, (score_tempo){0, 120}), 0);
    assert_int_equal(score_add_tempo(&s, (score_tempo){2.0, 60}), 0);
    add_bars(&s, 0, 2.0, 1);
    add_bars(&s, 2.0, 4.0, 3);
    assert_int_equal(music_stats_of_score(&s, &m), 0);
    assert_float_equal(m.groove_consistency, 1.0, 1e-12);
    assert_float_equal(m.empty_beat_rate, 4.0 / 16, 1e-12);
    score_free(&s);

    /* an empty bar between two equal ones: pairs (full, empty), (empty, full) */
    score_init(&s);
    add_bars(&s, 0, 2.0, 1);
    add_bars(&s, 4.0, 2.0, 1);
    assert_int_equal(music_stats_of_score(&s, &m), 0);
    assert_float_equal(m.groove_consistency, 1 - (4.0 + 4.0) / (16 * 2), 1e-12);
    /* beats 0..11: 3 + 3 with onsets */
    assert_float_equal(m.empty_beat_rate, 6.0 / 12, 1e-12);
    score_free(&s);

    /* one bar only: no pair, no groove */
    score_init(&s);
    add_bars(&s, 0, 2.0, 1);
    assert_int_equal(music_stats_of_score(&s, &m), 0);
    assert_true(isnan(m.groove_consistency));
    score_free(&s);
    score_init(&s);
    assert_int_equal(music_stats_of_score(&s, &m), 0);
    assert_true(isnan(m.groove_consistency) && isnan(m.empty_beat_rate) && isnan(m.drum_share));
    assert_true(isnan(m.median_note_length) && isnan(m.polyphony_rate));
}

static void test_time_histograms(void **state)
{
    (void)state;
    assert_int_equal(music_stats_time_bin(-3), 0);
    assert_int_equal(music_stats_time_bin(0), 0);
    assert_int_equal(music_stats_time_bin(1), 1);
    assert_int_equal(music_stats_time_bin(5), 4);
    assert_int_equal(music_stats_time_bin(16), 8);
    assert_int_equal(music_stats_time_bin(32), 10);
    assert_int_equal(music_stats_time_bin(512), 18);
    assert_int_equal(music_stats_time_bin(100000), MUSIC_STATS_N_TIME_BINS - 1);
    assert_int_equal(music_stats_time_bin_edge(0), 0);
    assert_int_equal(music_stats_time_bin_edge(MUSIC_STATS_N_TIME_BINS - 1), 768);
    assert_int_equal(music_stats_time_bin_edge(MUSIC_STATS_N_TIME_BINS), -1);
    for (int i = 0; i < MUSIC_STATS_N_TIME_BINS; i++)
        assert_int_equal(music_stats_time_bin(music_stats_time_bin_edge(i)), i);
    /* melodic lengths 1, 16, 32 steps (the drum's 100 s is not one); onsets 0, 1, 1.5 s */
    score s;
    score_init(&s);
    add(&s, 0.0, 1.0 / 64, 60, 80, 0);
    add(&s, 1.0, 1.25, 62, 80, 0);
    add(&s, 1.5, 2.0, 64, 80, 0);
    add(&s, 1.5, 101.5, 36, 80, SCORE_DRUMS);
    music_stats m;
    assert_int_equal(music_stats_of_score(&s, &m), 0);
    assert_float_equal(m.median_note_length, 0.25, 1e-12);
    assert_float_equal(m.note_len_hist[1], 1.0 / 3, 1e-12);
    assert_float_equal(m.note_len_hist[8], 1.0 / 3, 1e-12);
    assert_float_equal(m.note_len_hist[10], 1.0 / 3, 1e-12);
    /* onset gaps 64 and 32 steps */
    assert_float_equal(m.ioi_hist[12], 0.5, 1e-12);
    assert_float_equal(m.ioi_hist[10], 0.5, 1e-12);
    double sum = 0;
    for (int i = 0; i < MUSIC_STATS_N_TIME_BINS; i++) sum += m.ioi_hist[i];
    assert_float_equal(sum, 1.0, 1e-12);
    score_free(&s);
}

static void test_overlap(void **state)
{
    (void)state;
    double a[4] = {1, 2, 1, 0}, b[4] = {2, 4, 2, 0}, c[4] = {0, 0, 0, 5}, d[4] = {1, 1, 1, 1}, z[4] = {0};
    assert_float_equal(music_stats_overlap(a, a, 4), 1.0, 1e-12);
    assert_float_equal(music_stats_overlap(a, b, 4), 1.0, 1e-12); /* same shape */
    assert_float_equal(music_stats_overlap(a, c, 4), 0.0, 0);
    /* a = .25 .5 .25 0, d = .25 each: min .25 .25 .25 0 */
    assert_float_equal(music_stats_overlap(a, d, 4), 0.75, 1e-12);
    assert_float_equal(music_stats_overlap(d, a, 4), 0.75, 1e-12);
    assert_true(isnan(music_stats_overlap(a, z, 4)));
}

static const music_compare_row *row(const music_compare *c, const char *key)
{
    for (int i = 0; i < c->n_rows; i++)
        if (!strcmp(c->rows[i].key, key)) return &c->rows[i];
    fail_msg("no row %s", key);
    return NULL;
}

static void test_compare(void **state)
{
    (void)state;
    score s;
    build(&s);
    add_bars(&s, 2.0, 2.0, 2); /* two more bars so that groove is defined */
    music_stats m;
    assert_int_equal(music_stats_of_score(&s, &m), 0);
    score_free(&s);
    music_compare c;
    music_compare_stats(&m, &m, &c);
    assert_int_equal(c.n_terms, 11);
    assert_float_equal(c.distance, 0.0, 1e-12);
    assert_float_equal(row(&c, "notes_per_second")->ratio, 1.0, 1e-12);
    assert_float_equal(row(&c, "note_length_overlap")->gen, 1.0, 1e-12);
    assert_true(row(&c, "note_length_overlap")->comparison);
    assert_true(isnan(row(&c, "ioi_mean_ms")->term));
    assert_float_equal(row(&c, "polyphony_piano")->gen, m.family_polyphony[0], 0);
    /* 1.25x the notes per second, +0.25 bits of entropy: two terms of 1 */
    music_stats g = m;
    g.notes_per_second *= 1.25;
    g.pc_entropy += 0.25;
    music_compare_stats(&g, &m, &c);
    assert_float_equal(row(&c, "notes_per_second")->term, 1.0, 1e-9);
    assert_float_equal(row(&c, "notes_per_second")->ratio, 1.25, 1e-12);
    assert_float_equal(row(&c, "pitch_class_entropy")->term, 1.0, 1e-9);
    assert_float_equal(c.distance, 2.0 / 11, 1e-9);
    /* no notes at all against the data: capped terms */
    g.notes_per_second = 0;
    music_compare_stats(&g, &m, &c);
    assert_float_equal(row(&c, "notes_per_second")->term, MUSIC_COMPARE_TERM_CAP, 0);
    /* without data: values alone, no distance */
    music_compare_stats(&m, NULL, &c);
    assert_true(isnan(c.distance));
    assert_int_equal(c.n_terms, 0);
    assert_float_equal(row(&c, "notes_per_second")->gen, m.notes_per_second, 0);
    assert_true(isnan(row(&c, "notes_per_second")->data) && isnan(row(&c, "notes_per_second")->ratio));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_score),
        cmocka_unit_test(test_empty_and_pooling),
        cmocka_unit_test(test_tokens_match_score),
        cmocka_unit_test(test_of_sequences),
        cmocka_unit_test(test_pc_distance),
        cmocka_unit_test(test_tonality),
        cmocka_unit_test(test_polyphony),
        cmocka_unit_test(test_groove),
        cmocka_unit_test(test_time_histograms),
        cmocka_unit_test(test_overlap),
        cmocka_unit_test(test_compare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
