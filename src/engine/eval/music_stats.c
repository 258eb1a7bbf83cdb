/* music_stats: descriptive statistics of pieces, pooled over many (see the
 * header for every definition). */
#include "engine/eval/music_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"

#define ONSET_EPS 1e-3 /* onsets closer than this are one onset */

void music_stats_acc_init(music_stats_acc *a)
{
    memset(a, 0, sizeof *a);
    a->pitch_min = -1;
    a->pitch_max = -1;
}

typedef struct {
    double t;
    int delta; /* +1 note starts, -1 note ends */
} sweep_event;

static int cmp_sweep(const void *pa, const void *pb)
{
    const sweep_event *a = pa, *b = pb;
    if (a->t != b->t) return a->t < b->t ? -1 : 1;
    return a->delta - b->delta; /* ends before starts at equal times */
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return a < b ? -1 : a > b;
}

int music_stats_acc_add_score(music_stats_acc *a, const score *s)
{
    size_t n = s->n_notes;
    sweep_event *ev = malloc((2 * n + 1) * sizeof *ev);
    double *onsets = malloc((n + 1) * sizeof *onsets);
    if (!ev || !onsets) {
        free(ev);
        free(onsets);
        return -1;
    }
    size_t n_ev = 0;
    for (size_t i = 0; i < n; i++) {
        const score_note *no = &s->notes[i];
        onsets[i] = no->onset;
        a->vel_sum += no->velocity;
        a->vel_sq += (double)no->velocity * no->velocity;
        if (no->instrument == SCORE_DRUMS) continue;
        a->pc_count[no->pitch % 12] += 1;
        if (a->pitch_min < 0 || no->pitch < a->pitch_min) a->pitch_min = no->pitch;
        if (a->pitch_max < 0 || no->pitch > a->pitch_max) a->pitch_max = no->pitch;
        if (no->offset > no->onset) {
            ev[n_ev++] = (sweep_event){no->onset, +1};
            ev[n_ev++] = (sweep_event){no->offset, -1};
        }
    }
    qsort(ev, n_ev, sizeof *ev, cmp_sweep);
    int sounding = 0;
    for (size_t i = 0; i < n_ev; i++) {
        if (i > 0 && sounding > 0) {
            double dt = ev[i].t - ev[i - 1].t;
            a->sounding_time += dt;
            a->poly_integral += dt * sounding;
        }
        sounding += ev[i].delta;
        if (sounding > a->polyphony_max) a->polyphony_max = sounding;
    }
    qsort(onsets, n, sizeof *onsets, cmp_double);
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
    free(ev);
    free(onsets);
    a->n_notes += (long)n;
    a->seconds += score_duration(s);
    a->n_pieces++;
    return 0;
}

int music_stats_acc_add_tokens(music_stats_acc *a, const uint16_t *tokens, size_t n)
{
    score s;
    score_init(&s);
    int rc = tok_decode(tokens, n, &s);
    if (rc == 0) rc = music_stats_acc_add_score(a, &s);
    score_free(&s);
    return rc;
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
    out->pitch_min = a->pitch_min;
    out->pitch_max = a->pitch_max;
    out->pitch_span = a->pitch_min >= 0 ? a->pitch_max - a->pitch_min : 0;
    out->polyphony_mean = a->sounding_time > 0 ? a->poly_integral / a->sounding_time : 0;
    out->polyphony_max = a->polyphony_max;
    if (a->n_notes > 0) {
        out->velocity_mean = a->vel_sum / a->n_notes;
        double var = a->vel_sq / a->n_notes - out->velocity_mean * out->velocity_mean;
        out->velocity_std = var > 0 ? sqrt(var) : 0;
    }
    out->ioi_mean = a->n_ioi > 0 ? a->ioi_sum / a->n_ioi : 0;
}

int music_stats_of_score(const score *s, music_stats *out)
{
    music_stats_acc a;
    music_stats_acc_init(&a);
    if (music_stats_acc_add_score(&a, s) != 0) return -1;
    music_stats_acc_result(&a, out);
    return 0;
}

int music_stats_of_sequences(const dataset_seq *seqs, size_t n_seqs, music_stats *out)
{
    music_stats_acc a;
    music_stats_acc_init(&a);
    for (size_t i = 0; i < n_seqs; i++)
        if (music_stats_acc_add_tokens(&a, seqs[i].tokens, seqs[i].n) != 0) return -1;
    music_stats_acc_result(&a, out);
    return 0;
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
