/* Tests of src/data/augment: each operation checked on the DECODED notes of
 * augmented windows, identity, determinism, robustness on random windows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/augment.h"
#include "data/score.h"
#include "data/tokenizer.h"

#define STEP (1.0 / TOK_STEPS_PER_SECOND)
#define EPS 1e-9

static uint64_t rng_state;
static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

static void add_note(score *s, double on, double off, int pitch, int vel, int inst)
{
    score_note n = {on, off, (uint8_t)pitch, (uint8_t)vel, (uint8_t)inst};
    assert_int_equal(score_add_note(s, n), 0);
}

/* A score on a 1/8 s grid: melodic notes of several families plus drums,
 * no two notes of one instrument starting together. */
static void grid_score(score *s, int n)
{
    static const int fams[] = {0, 3, 5, 7, 10, SCORE_DRUMS};
    score_init(s);
    for (int i = 0; i < n; i++) {
        int inst = fams[i % 6];
        double on = (i / 6) * 0.125 * 3 + (i % 6) * 0.0625;
        int pitch = inst == SCORE_DRUMS ? 35 + (int)(rnd() % 20) : 40 + (int)(rnd() % 50);
        add_note(s, on, on + 0.0625 * (1 + rnd() % 6), pitch, 20 + (int)(rnd() % 100), inst);
    }
}

typedef struct {
    uint16_t *in, *out;
    size_t n_in, n_out;
    score a, b; /* decoded input and output */
} run;

/* Encode S, augment the whole sequence as one window, decode both. */
static void run_aug(run *r, const score *s, const augment_config *cfg, uint64_t seed, uint64_t epoch,
                    uint64_t index)
{
    assert_int_equal(tok_encode(s, &r->in, &r->n_in), 0);
    r->n_out = r->n_in * 2 + 64;
    r->out = malloc(r->n_out * sizeof *r->out);
    assert_non_null(r->out);
    augment_window(r->in, r->n_in, r->out, r->n_out, 0, cfg, seed, epoch, index);
    assert_int_equal(tok_decode(r->in, r->n_in, &r->a), 0);
    assert_int_equal(tok_decode(r->out, r->n_out, &r->b), 0);
}

static void run_free(run *r)
{
    free(r->in);
    free(r->out);
    score_free(&r->a);
    score_free(&r->b);
}

/* Sort notes by (onset, instrument, offset), ignoring pitch. */
static int cmp_oi(const void *x, const void *y)
{
    const score_note *a = x, *b = y;
    if (a->onset != b->onset) return a->onset < b->onset ? -1 : 1;
    if (a->instrument != b->instrument) return a->instrument - b->instrument;
    return (a->offset > b->offset) - (a->offset < b->offset);
}

static void test_identity(void **state)
{
    (void)state;
    augment_config cfg;
    augment_config_none(&cfg);
    rng_state = 1;
    uint16_t in[700], out[800];
    for (int it = 0; it < 200; it++) {
        size_t n = rnd() % 700, n_out = rnd() % 800;
        for (size_t i = 0; i < n; i++) in[i] = (uint16_t)(rnd() % 900);
        augment_window(in, n, out, n_out, (int)(rnd() % 16), &cfg, it, 3, it * 7);
        size_t m = n < n_out ? n : n_out;
        assert_memory_equal(out, in, m * sizeof *in);
        for (size_t i = m; i < n_out; i++) assert_int_equal(out[i], TOK_PAD);
    }
    /* the event path re-emits a canonical window unchanged when its
     * parameters do nothing (factor 1 stretch and velocity scale) */
    cfg.stretch_p = 1;
    cfg.velocity_p = 1;
    for (int it = 0; it < 20; it++) {
        score s;
        grid_score(&s, 60 + it);
        score_tempo tp = {0.5, 100};
        score_sustain su = {0.3, 5, 1};
        assert_int_equal(score_add_tempo(&s, tp), 0);
        assert_int_equal(score_add_sustain(&s, su), 0);
        run r;
        run_aug(&r, &s, &cfg, 9, 1, it);
        assert_memory_equal(r.out, r.in, r.n_in * sizeof *r.in);
        assert_int_equal(r.out[r.n_in], TOK_PAD);
        /* and a window cut in the middle of a piece, with PAD after it */
        size_t cut = r.n_in / 3, len = r.n_in / 2;
        int inst = 0;
        for (size_t i = 0; i < cut; i++)
            if (tok_type_of(r.in[i]) == TOKT_INSTRUMENT) inst = r.in[i] - TOK_INSTRUMENT;
        augment_window(r.in + cut, len, r.out, len + 5, inst, &cfg, 9, 1, it);
        assert_memory_equal(r.out, r.in + cut, len * sizeof *r.in);
        run_free(&r);
        score_free(&s);
    }
}

/* Each operation fires with its probability: never at 0 (even with real
 * ranges), about p of the windows otherwise. */
static void test_probabilities(void **state)
{
    (void)state;
    const augment_config full = {
        .transpose_p = 1, .transpose_max = 6, .stretch_p = 1, .stretch_min = 0.85f,
        .stretch_max = 1.15f, .velocity_p = 1, .velocity_min = 0.7f, .velocity_max = 1.3f,
        .instrument_p = 1, .rhythm_p = 1, .swing_max = 0.33f, .humanize_ms = 20,
    };
    rng_state = 10;
    score s;
    grid_score(&s, 100);
    uint16_t *in;
    size_t n;
    assert_int_equal(tok_encode(&s, &in, &n), 0);
    uint16_t *out = malloc(2 * n * sizeof *out);
    assert_non_null(out);
    for (int op = 0; op < 5; op++) {
        for (int pass = 0; pass < 2; pass++) {
            augment_config cfg = full;
            float p = pass ? 0.3f : 0.0f;
            cfg.transpose_p = op == 0 ? p : 0;
            cfg.stretch_p = op == 1 ? p : 0;
            cfg.velocity_p = op == 2 ? p : 0;
            cfg.instrument_p = op == 3 ? p : 0;
            cfg.rhythm_p = op == 4 ? p : 0;
            int changed = 0;
            for (uint64_t w = 0; w < 400; w++) {
                augment_window(in, n, out, 2 * n, 0, &cfg, 5, 5, w);
                changed += memcmp(out, in, n * sizeof *in) != 0;
            }
            if (!pass) assert_int_equal(changed, 0);
            else assert_true(changed > 80 && changed < 160);
        }
    }
    free(out);
    free(in);
    score_free(&s);
}

static void test_transpose(void **state)
{
    (void)state;
    augment_config cfg;
    augment_config_none(&cfg);
    cfg.transpose_p = 1;
    cfg.transpose_max = 5;
    rng_state = 2;
    int seen_up = 0, seen_down = 0;
    for (uint64_t w = 0; w < 30; w++) {
        score s;
        grid_score(&s, 120);
        run r;
        run_aug(&r, &s, &cfg, 42, 0, w);
        assert_int_equal(r.a.n_notes, r.b.n_notes);
        qsort(r.a.notes, r.a.n_notes, sizeof *r.a.notes, cmp_oi);
        qsort(r.b.notes, r.b.n_notes, sizeof *r.b.notes, cmp_oi);
        int shift = 0;
        for (size_t i = 0; i < r.a.n_notes; i++) {
            const score_note *x = &r.a.notes[i], *y = &r.b.notes[i];
            assert_int_equal(x->instrument, y->instrument);
            assert_true(fabs(x->onset - y->onset) < EPS && fabs(x->offset - y->offset) < EPS);
            assert_int_equal(x->velocity, y->velocity);
            if (x->instrument == SCORE_DRUMS) {
                assert_int_equal(x->pitch, y->pitch);
                continue;
            }
            int d = y->pitch - x->pitch; /* pitches 40..89: no folding at +-5 */
            if (!shift) shift = d;
            assert_int_equal(d, shift);
        }
        assert_true(shift != 0 && abs(shift) <= 5);
        seen_up |= shift > 0;
        seen_down |= shift < 0;
        run_free(&r);
        score_free(&s);
    }
    assert_true(seen_up && seen_down);
    /* folding at the ends of the range, with the OFF following its ON */
    score s;
    score_init(&s);
    add_note(&s, 0, 1, 108, 64, 0);
    add_note(&s, 0, 1, 21, 64, 4);
    cfg.transpose_max = 1;
    for (uint64_t w = 0; w < 8; w++) {
        run r;
        run_aug(&r, &s, &cfg, 5, 0, w);
        assert_int_equal(r.b.n_notes, 2);
        for (size_t i = 0; i < 2; i++) {
            const score_note *y = &r.b.notes[i];
            assert_true(fabs(y->offset - 1) < EPS); /* ended by its own OFF, not at END */
            if (y->instrument == 0) assert_true(y->pitch == 107 || y->pitch == 97);
            else assert_true(y->pitch == 22 || y->pitch == 32);
        }
        run_free(&r);
    }
    score_free(&s);
}

static void test_stretch(void **state)
{
    (void)state;
    augment_config cfg;
    augment_config_none(&cfg);
    cfg.stretch_p = 1;
    rng_state = 3;
    /* fixed factor: exact re-quantisation of absolute times */
    cfg.stretch_min = cfg.stretch_max = 1.37f;
    score s;
    grid_score(&s, 200);
    score_tempo tp = {0, 120};
    assert_int_equal(score_add_tempo(&s, tp), 0);
    run r;
    run_aug(&r, &s, &cfg, 1, 1, 1);
    double f = (double)1.37f;
    assert_int_equal(r.a.n_notes, r.b.n_notes);
    for (size_t i = 0; i < r.a.n_notes; i++) {
        const score_note *x = &r.a.notes[i], *y = &r.b.notes[i];
        assert_int_equal(x->pitch, y->pitch);
        assert_int_equal(x->instrument, y->instrument);
        assert_true(fabs(y->onset - round(x->onset * 64 * f) / 64) < EPS);
        assert_true(fabs(y->offset - round(x->offset * 64 * f) / 64) < EPS);
    }
    /* tempo follows the stretch */
    assert_int_equal(r.b.n_tempos, 1);
    assert_int_equal(tok_tempo_bin(r.b.tempos[0].bpm), tok_tempo_bin(tok_tempo_bpm(tok_tempo_bin(120)) / f));
    run_free(&r);
    /* random factors in range: onsets and durations scale within quantisation error */
    cfg.stretch_min = 0.8f;
    cfg.stretch_max = 1.25f;
    int differ = 0;
    for (uint64_t w = 0; w < 20; w++) {
        run_aug(&r, &s, &cfg, 1, 1, w);
        assert_int_equal(r.a.n_notes, r.b.n_notes);
        const score_note *lx = &r.a.notes[r.a.n_notes - 1], *ly = &r.b.notes[r.b.n_notes - 1];
        double fe = ly->onset / lx->onset;
        assert_true(fe > 0.8 - 0.01 && fe < 1.25 + 0.01);
        differ += fabs(fe - 1) > 0.02;
        for (size_t i = 0; i < r.a.n_notes; i++) {
            const score_note *x = &r.a.notes[i], *y = &r.b.notes[i];
            assert_true(fabs(y->onset - x->onset * fe) <= STEP / 2 + STEP / 2 + EPS);
            assert_true(fabs((y->offset - y->onset) - (x->offset - x->onset) * fe) <= 2 * STEP + EPS);
            assert_true(y->offset >= y->onset);
        }
        run_free(&r);
    }
    assert_true(differ >= 15);
    score_free(&s);
}

static void test_velocity(void **state)
{
    (void)state;
    augment_config cfg;
    augment_config_none(&cfg);
    cfg.velocity_p = 1;
    cfg.velocity_min = cfg.velocity_max = 0.6f;
    rng_state = 4;
    score s;
    grid_score(&s, 150);
    add_note(&s, 100, 101, 60, 127, 0);
    add_note(&s, 101, 102, 60, 1, 0);
    run r;
    run_aug(&r, &s, &cfg, 1, 2, 3);
    assert_int_equal(r.a.n_notes, r.b.n_notes);
    int changed = 0;
    for (size_t i = 0; i < r.a.n_notes; i++) {
        const score_note *x = &r.a.notes[i], *y = &r.b.notes[i];
        long v = lround(x->velocity * (double)0.6f);
        if (v < 1) v = 1;
        assert_int_equal(y->velocity, tok_velocity_value(tok_velocity_bin((int)v)));
        /* moved by the factor within one bin (4 velocity steps) */
        assert_true(fabs(y->velocity - x->velocity * 0.6) <= 4.5);
        changed += y->velocity != x->velocity;
        assert_int_equal(x->pitch, y->pitch);
        assert_true(fabs(x->onset - y->onset) < EPS);
    }
    assert_true(changed > (int)r.a.n_notes / 2);
    run_free(&r);
    /* clamping at 127 */
    cfg.velocity_min = cfg.velocity_max = 3.0f;
    run_aug(&r, &s, &cfg, 1, 2, 3);
    for (size_t i = 0; i < r.b.n_notes; i++) {
        assert_true(r.b.notes[i].velocity >= 1 && r.b.notes[i].velocity <= 127);
        if (r.a.notes[i].velocity >= 43) assert_int_equal(tok_velocity_bin(r.b.notes[i].velocity), 31);
    }
    run_free(&r);
    score_free(&s);
}

static int group_of(int fam)
{
    static const int g[16] = {0, 0, 0, 1, 2, 3, 3, 4, 4, 4, 5, 5, 6, 7, 8, 9};
    return g[fam];
}

static void test_instrument(void **state)
{
    (void)state;
    augment_config cfg;
    augment_config_none(&cfg);
    cfg.instrument_p = 1;
    rng_state = 5;
    score s;
    score_init(&s);
    for (int i = 0; i < 64; i++) add_note(&s, i * 0.25, i * 0.25 + 0.2, 40 + i % 30, 80, i % 16);
    int changed[16] = {0};
    for (uint64_t w = 0; w < 20; w++) {
        run r;
        run_aug(&r, &s, &cfg, 7, 0, w);
        assert_int_equal(r.a.n_notes, r.b.n_notes);
        int map[16];
        for (int k = 0; k < 16; k++) map[k] = -1;
        for (size_t i = 0; i < r.a.n_notes; i++) {
            const score_note *x = &r.a.notes[i], *y = &r.b.notes[i];
            assert_int_equal(x->pitch, y->pitch);
            assert_int_equal(group_of(x->instrument), group_of(y->instrument));
            if (x->instrument == SCORE_DRUMS) assert_int_equal(y->instrument, SCORE_DRUMS);
            if (map[x->instrument] < 0) map[x->instrument] = y->instrument;
            assert_int_equal(map[x->instrument], y->instrument); /* one mapping per window */
            changed[x->instrument] |= x->instrument != y->instrument;
        }
        /* a permutation: distinct families stay distinct */
        for (int a = 0; a < 16; a++)
            for (int b = a + 1; b < 16; b++)
                if (map[a] >= 0 && map[b] >= 0) assert_int_not_equal(map[a], map[b]);
        run_free(&r);
    }
    static const int movable[] = {0, 1, 2, 5, 6, 7, 8, 9, 10, 11};
    for (size_t k = 0; k < sizeof movable / sizeof movable[0]; k++) assert_true(changed[movable[k]]);
    static const int fixed[] = {3, 4, 12, 13, 14, 15};
    for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++) assert_false(changed[fixed[k]]);
    score_free(&s);
    /* mid-piece window: the family current at the start is substituted too */
    const uint16_t win[] = {TOK_VELOCITY + 10, TOK_NOTE_ON + 39, TOK_TIME_SHIFT + 9, TOK_NOTE_OFF + 39};
    uint16_t out[8];
    augment_window(win, 4, out, 8, 5, &cfg, 7, 0, 0);
    assert_int_equal(out[0], TOK_INSTRUMENT + 6);
    assert_int_equal(out[2], TOK_NOTE_ON + 39);
    augment_window(win, 4, out, 8, SCORE_DRUMS, &cfg, 7, 0, 0);
    assert_memory_equal(out, win, sizeof win);
}

/* Notes on the eighth grid at a given tempo: on-beat onsets stay, off-beat
 * ones are all delayed by the same amount, at most swing_max of an eighth. */
static void check_swing(double bpm_in, int with_tempo)
{
    augment_config cfg;
    augment_config_none(&cfg);
    cfg.rhythm_p = 1;
    cfg.swing_max = 0.3f;
    score s;
    score_init(&s);
    double bpm = with_tempo ? tok_tempo_bpm(tok_tempo_bin(bpm_in)) : 120;
    double eighth = 30.0 / bpm;
    if (with_tempo) {
        score_tempo tp = {0, bpm_in};
        assert_int_equal(score_add_tempo(&s, tp), 0);
    }
    for (int i = 0; i < 40; i++) add_note(&s, i * eighth, i * eighth + eighth * 0.5, 60 + i % 5, 80, 0);
    int delayed = 0;
    for (uint64_t w = 0; w < 10; w++) {
        run r;
        run_aug(&r, &s, &cfg, 3, 0, w);
        assert_int_equal(r.a.n_notes, r.b.n_notes);
        double delay = -1;
        for (size_t i = 0; i < r.a.n_notes; i++) {
            const score_note *x = &r.a.notes[i], *y = &r.b.notes[i];
            double d = y->onset - x->onset;
            assert_int_equal(x->pitch, y->pitch);
            if (i % 2 == 0) {
                assert_true(fabs(d) <= STEP / 2 + EPS);
            } else {
                assert_true(d >= -STEP / 2 - EPS && d <= 0.3 * eighth + STEP + EPS);
                if (delay < 0) delay = d;
                assert_true(fabs(d - delay) <= STEP + EPS);
            }
            assert_true(y->offset >= y->onset);
        }
        delayed += delay > 1.5 * STEP;
        run_free(&r);
    }
    assert_true(delayed >= 3);
    score_free(&s);
}

static void test_swing(void **state)
{
    (void)state;
    check_swing(120, 0);
    check_swing(72, 1);
    check_swing(200, 1);
}

static void test_humanize(void **state)
{
    (void)state;
    augment_config cfg;
    augment_config_none(&cfg);
    cfg.rhythm_p = 1;
    cfg.humanize_ms = 30;
    rng_state = 6;
    score s;
    grid_score(&s, 300);
    /* dense repeated notes of one key: jitter must not make them cross */
    for (int i = 0; i < 40; i++) add_note(&s, 50 + i * 0.03, 50 + i * 0.03 + 0.02, 70, 90, 2);
    int moved = 0;
    for (uint64_t w = 0; w < 10; w++) {
        run r;
        run_aug(&r, &s, &cfg, 11, 0, w);
        assert_int_equal(r.a.n_notes, r.b.n_notes);
        /* match by (instrument, pitch, order): the same-key sequences */
        for (int inst = 0; inst < 16; inst++)
            for (int p = 21; p <= 108; p++) {
                const score_note *xs[400], *ys[400];
                size_t nx = 0, ny = 0;
                for (size_t i = 0; i < r.a.n_notes; i++)
                    if (r.a.notes[i].instrument == inst && r.a.notes[i].pitch == p) xs[nx++] = &r.a.notes[i];
                for (size_t i = 0; i < r.b.n_notes; i++)
                    if (r.b.notes[i].instrument == inst && r.b.notes[i].pitch == p) ys[ny++] = &r.b.notes[i];
                assert_int_equal(nx, ny);
                for (size_t i = 0; i < nx; i++) {
                    double d = ys[i]->onset - xs[i]->onset;
                    assert_true(fabs(d) <= 0.030 + STEP / 2 + EPS);
                    assert_true(ys[i]->onset >= 0 && ys[i]->offset >= ys[i]->onset);
                    assert_true(fabs(ys[i]->offset - xs[i]->offset) < EPS); /* OFFs stay */
                    if (i) assert_true(ys[i]->onset >= ys[i - 1]->offset - EPS); /* never cross */
                    moved += fabs(d) > EPS;
                }
            }
        run_free(&r);
    }
    assert_true(moved > 1000);
    score_free(&s);
}

static void test_determinism(void **state)
{
    (void)state;
    augment_config cfg = {
        .transpose_p = 0.5f, .transpose_max = 6, .stretch_p = 0.5f, .stretch_min = 0.85f,
        .stretch_max = 1.15f, .velocity_p = 0.5f, .velocity_min = 0.7f, .velocity_max = 1.3f,
        .instrument_p = 0.5f, .rhythm_p = 0.5f, .swing_max = 0.33f, .humanize_ms = 20,
    };
    rng_state = 7;
    score s;
    grid_score(&s, 200);
    uint16_t *in;
    size_t n;
    assert_int_equal(tok_encode(&s, &in, &n), 0);
    size_t W = 513;
    assert_true(n > W);
    uint16_t a[513], b[513];
    int differ_index = 0, differ_epoch = 0, differ_seed = 0;
    for (uint64_t w = 0; w < 50; w++) {
        augment_window(in, W, a, W, 0, &cfg, 1, 2, w);
        augment_window(in, W, b, W, 0, &cfg, 1, 2, w);
        assert_memory_equal(a, b, sizeof a);
        augment_window(in, W, b, W, 0, &cfg, 1, 2, w + 1);
        differ_index += memcmp(a, b, sizeof a) != 0;
        augment_window(in, W, b, W, 0, &cfg, 1, 3, w);
        differ_epoch += memcmp(a, b, sizeof a) != 0;
        augment_window(in, W, b, W, 0, &cfg, 2, 2, w);
        differ_seed += memcmp(a, b, sizeof a) != 0;
    }
    /* with 5 ops at p = 0.5 two draws agree only when neither fires anything */
    assert_true(differ_index >= 45 && differ_epoch >= 45 && differ_seed >= 45);
    free(in);
    score_free(&s);
}

/* Windows crossing a piece boundary: both pieces transformed, tail kept. */
static void test_piece_boundary(void **state)
{
    (void)state;
    augment_config cfg;
    augment_config_none(&cfg);
    cfg.transpose_p = 1;
    cfg.transpose_max = 3;
    const uint16_t win[] = {TOK_INSTRUMENT + 4, TOK_NOTE_ON + 30, TOK_TIME_SHIFT + 3, TOK_NOTE_OFF + 30,
                            TOK_END, TOK_PAD, TOK_START, TOK_VELOCITY + 5, TOK_NOTE_ON + 40,
                            TOK_TIME_SHIFT + 1, TOK_NOTE_OFF + 40, TOK_END};
    uint16_t out[16];
    augment_window(win, 12, out, 16, 0, &cfg, 1, 1, 1);
    int d = out[1] - win[1];
    assert_true(d != 0 && abs(d) <= 3);
    assert_int_equal(out[0], win[0]);
    const uint16_t want[] = {TOK_INSTRUMENT + 4, (uint16_t)(win[1] + d), win[2], (uint16_t)(win[3] + d),
                             TOK_END, TOK_PAD, TOK_START, win[7], (uint16_t)(win[8] + d), win[9],
                             (uint16_t)(win[10] + d), TOK_END, TOK_PAD, TOK_PAD, TOK_PAD, TOK_PAD};
    assert_memory_equal(out, want, sizeof want);
}

/* Random token strings with every operation on: no crash, sane decode. */
static void test_random_windows(void **state)
{
    (void)state;
    augment_config cfg = {
        .transpose_p = 0.8f, .transpose_max = 12, .stretch_p = 0.8f, .stretch_min = 0.5f,
        .stretch_max = 2.0f, .velocity_p = 0.8f, .velocity_min = 0.1f, .velocity_max = 5.0f,
        .instrument_p = 0.8f, .rhythm_p = 0.8f, .swing_max = 0.9f, .humanize_ms = 200,
    };
    rng_state = 8;
    uint16_t in[600], out[600];
    for (int it = 0; it < 3000; it++) {
        size_t n = rnd() % 600, n_out = rnd() % 600;
        for (size_t i = 0; i < n; i++)
            in[i] = (uint16_t)(rnd() % 20 == 0 ? rnd() % 65536 : rnd() % TOK_VOCAB_SIZE);
        augment_window(in, n, out, n_out, (int)(rnd() % 20) - 2, &cfg, it, 0, it);
        score d;
        assert_int_equal(tok_decode(out, n_out, &d), 0);
        for (size_t i = 0; i < d.n_notes; i++)
            assert_true(d.notes[i].onset >= 0 && d.notes[i].offset >= d.notes[i].onset);
        score_free(&d);
    }
    /* canonical windows with all ops: notes are never lost without transpose
     * (its octave folding can merge keys) */
    cfg.transpose_p = 0;
    for (int it = 0; it < 30; it++) {
        score s;
        grid_score(&s, 100);
        run r;
        run_aug(&r, &s, &cfg, 4, 4, it);
        assert_int_equal(r.a.n_notes, r.b.n_notes);
        run_free(&r);
        score_free(&s);
    }
}

/* Vocabulary v2: every melodic NOTE_ON keeps its DURATION right after it,
 * stretched with the time (within the bins' 3.5%, after re-quantising);
 * transpose moves NOTE_ONs only; drums take none; a window that starts on
 * a DURATION drops it; an inactive config copies the window verbatim. */
static void test_v2_windows(void **state)
{
    (void)state;
    rng_state = 11;
    score s;
    grid_score(&s, 240);
    uint16_t *in;
    size_t n_in;
    assert_int_equal(tok_encode_vocab(&s, TOK_VOCAB_V2, &in, &n_in), 0);
    size_t n_out = n_in * 2 + 64;
    uint16_t *out = malloc(n_out * sizeof *out);
    assert_non_null(out);
    augment_config cfg;
    augment_config_none(&cfg);
    augment_window_vocab(in, n_in, out, n_in, 0, &cfg, 1, 1, 1, TOK_VOCAB_V2);
    assert_memory_equal(out, in, n_in * sizeof *in);
    cfg.stretch_p = 1;
    cfg.stretch_min = cfg.stretch_max = 1.5f;
    cfg.transpose_p = 1;
    cfg.transpose_max = 3;
    augment_window_vocab(in, n_in, out, n_out, 0, &cfg, 1, 1, 7, TOK_VOCAB_V2);
    score a, b;
    assert_int_equal(tok_decode_vocab(in, n_in, TOK_VOCAB_V2, &a), 0);
    assert_int_equal(tok_decode_vocab(out, n_out, TOK_VOCAB_V2, &b), 0);
    assert_int_equal(a.n_notes, b.n_notes);
    int inst = 0;
    for (size_t k = 1; k < n_out && out[k] != TOK_END; k++) {
        uint16_t t = out[k];
        if (t >= TOK_INSTRUMENT) inst = t - TOK_INSTRUMENT;
        int is_dur = tok_type_of_vocab(t, TOK_VOCAB_V2) == TOKT_DURATION;
        if (is_dur) assert_true(tok_type_of(out[k - 1]) == TOKT_NOTE_ON && inst != SCORE_DRUMS);
        if (tok_type_of(t) == TOKT_NOTE_ON)
            assert_int_equal(tok_type_of_vocab(out[k + 1], TOK_VOCAB_V2) == TOKT_DURATION, inst != SCORE_DRUMS);
    }
    qsort(a.notes, a.n_notes, sizeof *a.notes, cmp_oi);
    qsort(b.notes, b.n_notes, sizeof *b.notes, cmp_oi);
    int shift = -1;
    for (size_t k = 0; k < a.n_notes; k++) {
        const score_note *x = &a.notes[k], *y = &b.notes[k];
        assert_true(fabs(y->onset - round(x->onset * 64 * 1.5) / 64) < EPS);
        if (x->instrument == SCORE_DRUMS) {
            assert_int_equal(x->pitch, y->pitch);
            continue;
        }
        int d = (((int)y->pitch - (int)x->pitch) % 12 + 12) % 12; /* one shift, folded by octaves */
        if (shift < 0) shift = d;
        assert_int_equal(d, shift);
        assert_true(d != 0 && (d <= 3 || d >= 9));
        double lx = x->offset - x->onset, ly = y->offset - y->onset;
        assert_true(ly <= lx * 1.5 * 1.036 + 1.5 * STEP + EPS && ly >= lx * 1.5 / 1.036 - 1.5 * STEP - EPS);
    }
    /* a window starting between a NOTE_ON and its DURATION */
    size_t k0 = 1;
    while (tok_type_of_vocab(in[k0], TOK_VOCAB_V2) != TOKT_DURATION) k0++;
    augment_window_vocab(in + k0, n_in - k0, out, n_out, 0, &cfg, 1, 1, 7, TOK_VOCAB_V2);
    assert_true(tok_type_of_vocab(out[0], TOK_VOCAB_V2) != TOKT_DURATION);
    score_free(&a);
    score_free(&b);
    score_free(&s);
    free(in);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_probabilities),
        cmocka_unit_test(test_transpose),
        cmocka_unit_test(test_stretch),
        cmocka_unit_test(test_velocity),
        cmocka_unit_test(test_instrument),
        cmocka_unit_test(test_swing),
        cmocka_unit_test(test_humanize),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_piece_boundary),
        cmocka_unit_test(test_random_windows),
        cmocka_unit_test(test_v2_windows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
