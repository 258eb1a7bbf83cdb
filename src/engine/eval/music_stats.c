/* music_stats: descriptive statistics of pieces, pooled over many (see the
 * header for every definition). A piece is measured in four passes: per
 * note (counts, pitch, velocity, lengths), a sweep over the step grid
 * (polyphony), the onsets in seconds (inter-onset intervals) and the onsets
 * in beats of the tempo map (groove, empty beats). */
#include "engine/eval/music_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"

#define ONSET_EPS 1e-3 /* onsets closer than this are one onset */
#define DEFAULT_BPM 120.0
#define BAR_POSITIONS (MUSIC_STATS_GRID_PER_BEAT * MUSIC_STATS_BEATS_PER_BAR)

/* Lower edges of the time bins in steps (half octaves from 2 steps on). */
static const long time_edges[MUSIC_STATS_N_TIME_BINS] = {0,  1,  2,  3,   4,   6,   8,   12,  16,  24,
                                                         32, 48, 64, 96, 128, 192, 256, 384, 512, 768};

int music_stats_time_bin(long steps)
{
    int b = 0;
    while (b + 1 < MUSIC_STATS_N_TIME_BINS && steps >= time_edges[b + 1]) b++;
    return b;
}

long music_stats_time_bin_edge(int i)
{
    return i >= 0 && i < MUSIC_STATS_N_TIME_BINS ? time_edges[i] : -1;
}

void music_stats_acc_init(music_stats_acc *a)
{
    memset(a, 0, sizeof *a);
    a->pitch_min = -1;
    a->pitch_max = -1;
}

/* Step of time T (non-finite or negative: 0). */
static int64_t step_of(double t)
{
    return isfinite(t) && t > 0 ? tok_quantize(t) : 0;
}

static long cap_steps(int64_t steps)
{
    return steps < 0 ? 0 : steps > MUSIC_STATS_MAX_STEPS ? MUSIC_STATS_MAX_STEPS : (long)steps;
}

/* Pitch-class entropy (bits) and scale consistency (NAN without notes) of the counts PC. */
static void tonality(const double pc[12], double *entropy, double *scale)
{
    static const int major[12] = {1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1};
    static const int minor[12] = {1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0};
    double total = 0, h = 0, best = 0;
    for (int i = 0; i < 12; i++) total += pc[i];
    for (int i = 0; i < 12; i++)
        if (pc[i] > 0) h -= pc[i] / total * log2(pc[i] / total);
    for (int root = 0; root < 12; root++) {
        double in_major = 0, in_minor = 0;
        for (int i = 0; i < 12; i++) {
            in_major += major[(i - root + 12) % 12] * pc[i];
            in_minor += minor[(i - root + 12) % 12] * pc[i];
        }
        if (in_major > best) best = in_major;
        if (in_minor > best) best = in_minor;
    }
    *entropy = h;
    *scale = total > 0 ? best / total : NAN;
}

/* Pass 1: counts, pitches, velocities, note lengths and the piece's tonality. */
static void add_notes(music_stats_acc *a, const score *s)
{
    double pc[12] = {0};
    for (size_t i = 0; i < s->n_notes; i++) {
        const score_note *no = &s->notes[i];
        a->vel_sum += no->velocity;
        a->vel_sq += (double)no->velocity * no->velocity;
        a->family_notes[no->instrument % SCORE_N_INSTRUMENTS]++;
        if (no->instrument == SCORE_DRUMS) {
            a->n_drums++;
            continue;
        }
        a->pc_count[no->pitch % 12] += 1;
        pc[no->pitch % 12] += 1;
        if (a->pitch_min < 0 || no->pitch < a->pitch_min) a->pitch_min = no->pitch;
        if (a->pitch_max < 0 || no->pitch > a->pitch_max) a->pitch_max = no->pitch;
        a->len_steps[cap_steps(step_of(no->offset) - step_of(no->onset))]++;
    }
    double h, sc;
    tonality(pc, &h, &sc);
    if (isfinite(sc)) {
        a->tonal_pieces++;
        a->pc_entropy_sum += h;
        a->scale_sum += sc;
    }
}

typedef struct {
    int64_t step;
    int8_t delta; /* +1 the note starts sounding, -1 it stops */
    uint8_t pitch;
    uint8_t family;
} sweep_event;

static int cmp_sweep(const void *pa, const void *pb)
{
    const sweep_event *a = pa, *b = pb;
    return a->step < b->step ? -1 : a->step > b->step;
}

/* Distinct pitches sounding, overall and per family, during a sweep. */
typedef struct {
    int count[128];                         /* notes sounding per pitch */
    int fam_count[SCORE_N_INSTRUMENTS][128];
    int distinct, fam_distinct[SCORE_N_INSTRUMENTS];
} sweep_state;

static void sweep_apply(sweep_state *w, const sweep_event *e)
{
    int p = e->pitch & 127, f = e->family;
    int before = w->count[p] > 0, fam_before = w->fam_count[f][p] > 0;
    w->count[p] += e->delta;
    w->fam_count[f][p] += e->delta;
    w->distinct += (w->count[p] > 0) - before;
    w->fam_distinct[f] += (w->fam_count[f][p] > 0) - fam_before;
}

/* Pass 2: polyphony over the step grid. 0 or -1 (out of memory). */
static int add_polyphony(music_stats_acc *a, const score *s)
{
    sweep_event *ev = malloc((2 * s->n_notes + 1) * sizeof *ev);
    sweep_state *w = calloc(1, sizeof *w);
    if (!ev || !w) {
        free(ev);
        free(w);
        return -1;
    }
    size_t n_ev = 0;
    for (size_t i = 0; i < s->n_notes; i++) {
        const score_note *no = &s->notes[i];
        if (no->instrument == SCORE_DRUMS) continue;
        int64_t on = step_of(no->onset), off = step_of(no->offset);
        if (off <= on) off = on + 1;
        uint8_t f = (uint8_t)(no->instrument % SCORE_N_INSTRUMENTS);
        ev[n_ev++] = (sweep_event){on, +1, no->pitch, f};
        ev[n_ev++] = (sweep_event){off, -1, no->pitch, f};
    }
    qsort(ev, n_ev, sizeof *ev, cmp_sweep);
    for (size_t i = 0; i < n_ev;) {
        int64_t t = ev[i].step;
        for (; i < n_ev && ev[i].step == t; i++) sweep_apply(w, &ev[i]);
        if (w->distinct > a->polyphony_max) a->polyphony_max = w->distinct;
        if (i == n_ev) break;
        long dt = (long)(ev[i].step - t);
        if (w->distinct > 0) {
            a->sounding_steps += dt;
            a->poly_integral += dt * w->distinct;
            if (w->distinct > 1) a->poly_multi_steps += dt;
        }
        for (int f = 0; f < SCORE_N_INSTRUMENTS; f++)
            if (w->fam_distinct[f] > 0) {
                a->family_steps[f] += dt;
                a->family_integral[f] += dt * w->fam_distinct[f];
            }
    }
    free(ev);
    free(w);
    return 0;
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return a < b ? -1 : a > b;
}

/* Pass 3: inter-onset intervals of the sorted ONSETS, in seconds and on the grid. */
static void add_ioi(music_stats_acc *a, const double *onsets, size_t n)
{
    double prev = 0;
    int have_prev = 0;
    for (size_t i = 0; i < n; i++) {
        if (have_prev && onsets[i] - prev < ONSET_EPS) continue;
        if (have_prev) {
            a->ioi_sum += onsets[i] - prev;
            a->n_ioi++;
        }
        prev = onsets[i];
        have_prev = 1;
    }
    int64_t prev_step = -1;
    for (size_t i = 0; i < n; i++) {
        int64_t st = step_of(onsets[i]);
        if (prev_step >= 0 && st > prev_step) a->ioi_steps[cap_steps(st - prev_step)]++;
        prev_step = st;
    }
}

static int cmp_tempo(const void *pa, const void *pb)
{
    const score_tempo *a = pa, *b = pb;
    return a->time < b->time ? -1 : a->time > b->time;
}

/* Seconds -> beats along a tempo map, for non-decreasing times. */
typedef struct {
    const score_tempo *t;
    size_t n, k;
    double seg_time, seg_beats, bpm; /* the current tempo segment */
} beat_clock;

static double beats_at(beat_clock *c, double time)
{
    while (c->k < c->n && c->t[c->k].time <= time) {
        double tt = c->t[c->k].time > c->seg_time ? c->t[c->k].time : c->seg_time;
        c->seg_beats += (tt - c->seg_time) * c->bpm / 60;
        c->seg_time = tt;
        double bpm = c->t[c->k].bpm;
        if (isfinite(bpm) && bpm > 0) c->bpm = bpm;
        c->k++;
    }
    return c->seg_beats + (time - c->seg_time) * c->bpm / 60;
}

static int popcount16(uint32_t x)
{
    int n = 0;
    for (; x; x &= x - 1) n++;
    return n;
}

/* Onset patterns of consecutive bars, streamed: bar CUR's pattern is built
 * while PREV holds the bar before it. */
typedef struct {
    int64_t bar;
    uint32_t cur, prev;
    long distance, pairs;
} groove_state;

/* Close the current bar and move to bar TO (> g->bar); the bars between are empty. */
static void groove_advance(groove_state *g, int64_t to)
{
    if (g->bar > 0) {
        g->distance += popcount16(g->prev ^ g->cur);
        g->pairs++;
    }
    g->prev = g->cur;
    int64_t empty = to - g->bar - 1;
    if (empty > 0) { /* the first empty bar differs from PREV, the rest are equal */
        g->distance += popcount16(g->prev);
        g->pairs += (long)empty;
        g->prev = 0;
    }
    g->bar = to;
    g->cur = 0;
}

/* Pass 4: groove and empty beats of the sorted ONSETS on the tempo map of S.
 * 0 or -1 (out of memory). */
static int add_rhythm(music_stats_acc *a, const score *s, const double *onsets, size_t n)
{
    if (n == 0) return 0;
    score_tempo *tempos = malloc((s->n_tempos + 1) * sizeof *tempos);
    if (!tempos) return -1;
    if (s->n_tempos) memcpy(tempos, s->tempos, s->n_tempos * sizeof *tempos);
    qsort(tempos, s->n_tempos, sizeof *tempos, cmp_tempo);
    beat_clock clk = {tempos, s->n_tempos, 0, 0, 0, DEFAULT_BPM};
    groove_state g = {0, 0, 0, 0, 0};
    int64_t last_beat = -1;
    long beats_on = 0;
    for (size_t i = 0; i < n; i++) {
        double b = beats_at(&clk, isfinite(onsets[i]) && onsets[i] > 0 ? onsets[i] : 0);
        double qd = floor(b * MUSIC_STATS_GRID_PER_BEAT + 0.5);
        int64_t q = qd > 0 ? (qd < 1e15 ? (int64_t)qd : (int64_t)1e15) : 0;
        int64_t bar = q / BAR_POSITIONS, beat = q / MUSIC_STATS_GRID_PER_BEAT;
        if (bar > g.bar) groove_advance(&g, bar);
        g.cur |= 1u << (q % BAR_POSITIONS);
        if (beat != last_beat) beats_on++;
        last_beat = beat;
    }
    if (g.bar > 0) {
        g.distance += popcount16(g.prev ^ g.cur);
        g.pairs++;
    }
    a->groove_distance += g.distance;
    a->groove_pairs += g.pairs;
    a->beats += (long)(last_beat + 1);
    a->empty_beats += (long)(last_beat + 1) - beats_on;
    free(tempos);
    return 0;
}

/* Sorted onsets of S (malloc'd), or NULL when out of memory. */
static double *sorted_onsets(const score *s)
{
    double *on = malloc((s->n_notes + 1) * sizeof *on);
    if (!on) return NULL;
    for (size_t i = 0; i < s->n_notes; i++) on[i] = s->notes[i].onset;
    qsort(on, s->n_notes, sizeof *on, cmp_double);
    return on;
}

int music_stats_acc_add_score(music_stats_acc *a, const score *s)
{
    music_stats_acc *b = malloc(sizeof *b); /* work on a copy: A stays unchanged on failure */
    double *onsets = sorted_onsets(s);
    int rc = b && onsets ? 0 : -1;
    if (rc == 0) {
        *b = *a;
        add_notes(b, s);
        rc = add_polyphony(b, s);
    }
    if (rc == 0) rc = add_rhythm(b, s, onsets, s->n_notes);
    if (rc == 0) {
        add_ioi(b, onsets, s->n_notes);
        b->n_notes += (long)s->n_notes;
        b->seconds += score_duration(s);
        b->n_pieces++;
        *a = *b;
    }
    free(b);
    free(onsets);
    return rc;
}

int music_stats_acc_add_tokens(music_stats_acc *a, const uint16_t *tokens, size_t n, int vocab)
{
    score s;
    score_init(&s);
    int rc = tok_decode_vocab(tokens, n, vocab, &s);
    if (rc == 0) rc = music_stats_acc_add_score(a, &s);
    score_free(&s);
    return rc;
}

static double ratio(double num, double den)
{
    return den > 0 ? num / den : NAN;
}

/* Normalise the step histogram H into the time bins of OUT. */
static void time_hist(const long *h, double out[MUSIC_STATS_N_TIME_BINS])
{
    double total = 0;
    for (int i = 0; i < MUSIC_STATS_N_TIME_BINS; i++) out[i] = 0;
    for (long k = 0; k <= MUSIC_STATS_MAX_STEPS; k++) {
        out[music_stats_time_bin(k)] += (double)h[k];
        total += (double)h[k];
    }
    for (int i = 0; total > 0 && i < MUSIC_STATS_N_TIME_BINS; i++) out[i] /= total;
}

/* Lower median of the step histogram H in seconds (NAN when empty). */
static double median_seconds(const long *h)
{
    long total = 0, seen = 0;
    for (long k = 0; k <= MUSIC_STATS_MAX_STEPS; k++) total += h[k];
    for (long k = 0; total > 0 && k <= MUSIC_STATS_MAX_STEPS; k++) {
        seen += h[k];
        if (2 * seen >= total) return (double)k / TOK_STEPS_PER_SECOND;
    }
    return NAN;
}

void music_stats_acc_result(const music_stats_acc *a, music_stats *out)
{
    memset(out, 0, sizeof *out);
    out->n_pieces = a->n_pieces;
    out->n_notes = a->n_notes;
    out->seconds = a->seconds;
    out->notes_per_second = a->seconds > 0 ? a->n_notes / a->seconds : 0;
    double total = 0;
    for (int i = 0; i < 12; i++) total += a->pc_count[i];
    for (int i = 0; i < 12; i++) out->pc_hist[i] = total > 0 ? a->pc_count[i] / total : 0;
    out->pc_entropy = a->tonal_pieces ? a->pc_entropy_sum / a->tonal_pieces : 0;
    out->scale_consistency = a->tonal_pieces ? a->scale_sum / a->tonal_pieces : NAN;
    out->pitch_min = a->pitch_min;
    out->pitch_max = a->pitch_max;
    out->pitch_span = a->pitch_min >= 0 ? a->pitch_max - a->pitch_min : 0;
    out->polyphony_mean = a->sounding_steps > 0 ? (double)a->poly_integral / a->sounding_steps : 0;
    out->polyphony_max = a->polyphony_max;
    out->polyphony_rate = ratio((double)a->poly_multi_steps, (double)a->sounding_steps);
    for (int f = 0; f < SCORE_N_INSTRUMENTS; f++) {
        out->family_notes[f] = a->family_notes[f];
        out->family_polyphony[f] =
            f == SCORE_DRUMS ? NAN : ratio((double)a->family_integral[f], (double)a->family_steps[f]);
    }
    out->groove_consistency =
        1 - ratio((double)a->groove_distance, (double)a->groove_pairs * BAR_POSITIONS);
    out->empty_beat_rate = ratio((double)a->empty_beats, (double)a->beats);
    time_hist(a->len_steps, out->note_len_hist);
    out->median_note_length = median_seconds(a->len_steps);
    time_hist(a->ioi_steps, out->ioi_hist);
    out->drum_share = ratio((double)a->n_drums, (double)a->n_notes);
    if (a->n_notes > 0) {
        out->velocity_mean = a->vel_sum / a->n_notes;
        double var = a->vel_sq / a->n_notes - out->velocity_mean * out->velocity_mean;
        out->velocity_std = var > 0 ? sqrt(var) : 0;
    }
    out->ioi_mean = a->n_ioi > 0 ? a->ioi_sum / a->n_ioi : 0;
}

int music_stats_of_score(const score *s, music_stats *out)
{
    music_stats_acc *a = malloc(sizeof *a);
    if (!a) return -1;
    music_stats_acc_init(a);
    int rc = music_stats_acc_add_score(a, s);
    if (rc == 0) music_stats_acc_result(a, out);
    free(a);
    return rc;
}

int music_stats_of_sequences(const dataset_seq *seqs, size_t n_seqs, music_stats *out)
{
    music_stats_acc *a = malloc(sizeof *a);
    if (!a) return -1;
    music_stats_acc_init(a);
    int rc = 0;
    for (size_t i = 0; i < n_seqs && rc == 0; i++) rc = music_stats_acc_add_tokens(a, seqs[i].tokens, seqs[i].n, TOK_VOCAB_V1);
    if (rc == 0) music_stats_acc_result(a, out);
    free(a);
    return rc;
}

/* Kullback-Leibler divergence KL(p || m) in bits. */
static double kl_bits(const double *p, const double *m)
{
    double d = 0;
    for (int i = 0; i < 12; i++)
        if (p[i] > 0) d += p[i] * log2(p[i] / m[i]);
    return d;
}

double music_stats_pc_distance(const double a[12], const double b[12])
{
    double sa = 0, sb = 0, p[12], q[12], m[12];
    for (int i = 0; i < 12; i++) {
        sa += a[i] > 0 ? a[i] : 0;
        sb += b[i] > 0 ? b[i] : 0;
    }
    if (!(sa > 0) || !(sb > 0)) return NAN;
    for (int i = 0; i < 12; i++) {
        p[i] = (a[i] > 0 ? a[i] : 0) / sa;
        q[i] = (b[i] > 0 ? b[i] : 0) / sb;
        m[i] = 0.5 * (p[i] + q[i]);
    }
    double js = 0.5 * kl_bits(p, m) + 0.5 * kl_bits(q, m);
    return js < 0 ? 0 : js > 1 ? 1 : js;
}

double music_stats_overlap(const double *a, const double *b, int n)
{
    double sa = 0, sb = 0, oa = 0;
    for (int i = 0; i < n; i++) {
        sa += a[i] > 0 ? a[i] : 0;
        sb += b[i] > 0 ? b[i] : 0;
    }
    if (!(sa > 0) || !(sb > 0)) return NAN;
    for (int i = 0; i < n; i++) {
        double p = (a[i] > 0 ? a[i] : 0) / sa, q = (b[i] > 0 ? b[i] : 0) / sb;
        oa += p < q ? p : q;
    }
    return oa > 1 ? 1 : oa;
}
