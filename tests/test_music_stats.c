/* Music statistics on hand-built scores with known answers: rate, pitch
 * classes (drums excluded), range, polyphony by sweep, velocity spread,
 * inter-onset interval, pooling over pieces, token input (one sequence or
 * many) and the Jensen-Shannon pitch-class distance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>

#include "data/score.h"
#include "data/tokenizer.h"
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
    assert_int_equal(music_stats_acc_add_tokens(&a, tok, n), 0);
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
    for (int i = 0; i < 2; i++) assert_int_equal(music_stats_acc_add_tokens(&a, seqs[i].tokens, seqs[i].n), 0);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_score),
        cmocka_unit_test(test_empty_and_pooling),
        cmocka_unit_test(test_tokens_match_score),
        cmocka_unit_test(test_of_sequences),
        cmocka_unit_test(test_pc_distance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
