/* music_compare: the metric rows of generated vs data music and the summary
 * distance (see the header for the terms and their scales). */
#include "engine/eval/music_compare.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "data/tokenizer.h"

typedef enum { TERM_NONE, TERM_LOG_RATIO, TERM_DIFF, TERM_OVERLAP } term_kind;

static double cap(double t)
{
    return t > MUSIC_COMPARE_TERM_CAP ? MUSIC_COMPARE_TERM_CAP : t;
}

/* The distance term of values G and D (NAN when not counted or undefined). */
static double term_of(term_kind kind, double scale, double g, double d)
{
    switch (kind) {
    case TERM_LOG_RATIO:
        if (!isfinite(g) || !isfinite(d) || g < 0 || d < 0) return NAN;
        if (g == d) return 0;
        if (g == 0 || d == 0) return MUSIC_COMPARE_TERM_CAP;
        return cap(fabs(log(g / d)) / log(scale));
    case TERM_DIFF:
        return isfinite(g) && isfinite(d) ? cap(fabs(g - d) / scale) : NAN;
    case TERM_OVERLAP:
        return isfinite(g) ? cap((1 - g) / scale) : NAN;
    default:
        return NAN;
    }
}

/* Append a row; DATA_SIDE 0 makes it a comparison row (G is the pair's value). */
static void add_row(music_compare *c, const char *key, const char *label, int decimals, double g, double d,
                    int data_side, term_kind kind, double scale)
{
    if (c->n_rows == MUSIC_COMPARE_MAX_ROWS) return;
    music_compare_row *r = &c->rows[c->n_rows++];
    snprintf(r->key, sizeof r->key, "%s", key);
    snprintf(r->label, sizeof r->label, "%s", label);
    r->decimals = decimals;
    r->comparison = !data_side;
    r->gen = g;
    r->data = data_side ? d : NAN;
    r->ratio = data_side && isfinite(g) && isfinite(d) && d != 0 ? g / d : NAN;
    r->term = term_of(kind, scale, g, d);
    if (isfinite(r->term)) {
        c->distance = c->n_terms ? c->distance + r->term : r->term;
        c->n_terms++;
    }
}

static double pitch_or_nan(int p)
{
    return p >= 0 ? p : NAN;
}

/* The per-family polyphony rows: families with notes on either side. */
static void add_family_rows(music_compare *c, const music_stats *g, const music_stats *d)
{
    for (int f = 0; f < SCORE_N_INSTRUMENTS; f++) {
        if (f == SCORE_DRUMS || (g->family_notes[f] == 0 && (!d || d->family_notes[f] == 0))) continue;
        char key[40], label[48], name[32];
        snprintf(name, sizeof name, "%s", tok_family_name(f));
        snprintf(label, sizeof label, "polyphony: %s", name);
        for (char *p = name; *p; p++)
            if (*p == ' ') *p = '_';
        snprintf(key, sizeof key, "polyphony_%s", name);
        add_row(c, key, label, 2, g->family_polyphony[f], d ? d->family_polyphony[f] : NAN, 1, TERM_NONE, 1);
    }
}

void music_compare_stats(const music_stats *g, const music_stats *d, music_compare *out)
{
    memset(out, 0, sizeof *out);
    double no = NAN;
#define D(field) (d ? (double)d->field : no)
    add_row(out, "notes_per_second", "notes per second", 2, g->notes_per_second, D(notes_per_second), 1,
            TERM_LOG_RATIO, 1.25);
    add_row(out, "polyphony", "polyphony (distinct pitches)", 2, g->polyphony_mean, D(polyphony_mean), 1,
            TERM_LOG_RATIO, 1.3);
    add_row(out, "polyphony_max", "polyphony max", 0, g->polyphony_max, D(polyphony_max), 1, TERM_NONE, 1);
    add_row(out, "polyphony_rate", "polyphony rate (> 1 pitch)", 3, g->polyphony_rate, D(polyphony_rate), 1,
            TERM_DIFF, 0.1);
    add_row(out, "pitch_class_entropy", "pitch-class entropy (bits)", 3, g->pc_entropy, D(pc_entropy), 1,
            TERM_DIFF, 0.25);
    add_row(out, "scale_consistency", "scale consistency", 3, g->scale_consistency, D(scale_consistency), 1,
            TERM_DIFF, 0.05);
    add_row(out, "groove_consistency", "groove consistency", 3, g->groove_consistency, D(groove_consistency), 1,
            TERM_DIFF, 0.05);
    add_row(out, "empty_beat_rate", "empty-beat rate", 3, g->empty_beat_rate, D(empty_beat_rate), 1, TERM_DIFF,
            0.1);
    add_row(out, "median_note_length", "median note length (s)", 3, g->median_note_length, D(median_note_length),
            1, TERM_LOG_RATIO, 1.5);
    add_row(out, "drum_share", "drum share", 3, g->drum_share, D(drum_share), 1, TERM_DIFF, 0.1);
    add_row(out, "ioi_mean_ms", "mean inter-onset interval (ms)", 1, 1e3 * g->ioi_mean, D(ioi_mean) * 1e3, 1,
            TERM_NONE, 1);
    add_row(out, "pitch_min", "lowest pitch", 0, pitch_or_nan(g->pitch_min), d ? pitch_or_nan(d->pitch_min) : no,
            1, TERM_NONE, 1);
    add_row(out, "pitch_max", "highest pitch", 0, pitch_or_nan(g->pitch_max), d ? pitch_or_nan(d->pitch_max) : no,
            1, TERM_NONE, 1);
    add_row(out, "velocity_mean", "velocity mean", 1, g->n_notes ? g->velocity_mean : no,
            d && d->n_notes ? d->velocity_mean : no, 1, TERM_NONE, 1);
    add_row(out, "velocity_std", "velocity std", 1, g->n_notes ? g->velocity_std : no,
            d && d->n_notes ? d->velocity_std : no, 1, TERM_NONE, 1);
#undef D
    add_family_rows(out, g, d);
    double len_oa = d ? music_stats_overlap(g->note_len_hist, d->note_len_hist, MUSIC_STATS_N_TIME_BINS) : no;
    double ioi_oa = d ? music_stats_overlap(g->ioi_hist, d->ioi_hist, MUSIC_STATS_N_TIME_BINS) : no;
    add_row(out, "note_length_overlap", "note-length histogram overlap", 3, len_oa, no, 0, TERM_OVERLAP, 0.25);
    add_row(out, "ioi_overlap", "inter-onset histogram overlap", 3, ioi_oa, no, 0, TERM_OVERLAP, 0.25);
    add_row(out, "pitch_class_distance", "pitch-class distance (JS, bits)", 3,
            d ? music_stats_pc_distance(g->pc_hist, d->pc_hist) : no, no, 0, TERM_NONE, 1);
    out->distance = out->n_terms ? out->distance / out->n_terms : NAN;
}
