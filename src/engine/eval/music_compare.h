/* music_compare: generated music against the data, metric by metric, and
 * one summary distance. The rows are what `aurl eval` prints (cmd/eval_music
 * formats them as a table or JSON); the values come from engine/eval/
 * music_stats, whose header defines every metric.
 *
 * Each metric that counts towards the distance gives a term, 0 when the two
 * agree, 1 at the tolerance of issue 13's "standard" targets (or a like
 * scale), capped at MUSIC_COMPARE_TERM_CAP:
 *   notes_per_second, polyphony      |ln(gen / data)| / ln 1.25, / ln 1.3
 *   median_note_length               |ln(gen / data)| / ln 1.5
 *   pitch_class_entropy              |gen - data| / 0.25 bits
 *   scale_consistency, groove_consistency   |gen - data| / 0.05
 *   polyphony_rate, empty_beat_rate, drum_share   |gen - data| / 0.1
 *   note_length_overlap, ioi_overlap (1 - OA) / 0.25, OA the overlapping
 *                                    area of the two histograms
 * distance = the mean of the terms both sides define (NAN when none, e.g.
 * without data): 0 = the same on every metric, 1 = on average at the
 * tolerance. The other rows (pitch range, velocity, mean inter-onset
 * interval, the Jensen-Shannon pitch-class distance, polyphony per
 * instrument family) are shown but not counted. */
#ifndef AURL_MUSIC_COMPARE_H
#define AURL_MUSIC_COMPARE_H

#include "engine/eval/music_stats.h"

#define MUSIC_COMPARE_MAX_ROWS 48
#define MUSIC_COMPARE_TERM_CAP 10.0

/* One metric. For a comparison row (an overlap or distance of the two
 * histograms) gen holds the value and data is NAN. */
typedef struct {
    char key[40];    /* JSON key, e.g. "notes_per_second", "polyphony_piano" */
    char label[48];  /* table label, e.g. "notes per second" */
    int decimals;    /* digits to show */
    int comparison;  /* 1: a value of the pair (overlap, distance), not of one side */
    double gen, data; /* NAN: undefined (or no data) */
    double ratio;    /* gen / data; NAN when either is undefined or data is 0 */
    double term;     /* the row's distance term; NAN: not counted */
} music_compare_row;

typedef struct {
    music_compare_row rows[MUSIC_COMPARE_MAX_ROWS];
    int n_rows;
    int n_terms;     /* terms counted in the distance */
    double distance; /* mean of the terms; NAN when none */
} music_compare;

/* Compare GEN with DATA (NULL: no data; the rows then hold gen alone and
 * the distance is NAN). Rows for per-family polyphony are added for every
 * melodic family with notes on either side. */
void music_compare_stats(const music_stats *gen, const music_stats *data, music_compare *out);
#endif
