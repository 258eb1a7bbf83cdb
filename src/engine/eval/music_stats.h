/* music_stats: descriptive statistics of a piece (a score or a token
 * sequence) for comparing generated music with the data: notes per second,
 * pitch-class histogram, pitch range, polyphony, velocity spread and mean
 * inter-onset interval. Statistics pool over many pieces through an
 * accumulator (note- and time-weighted, not a mean of per-piece means). */
#ifndef AURL_MUSIC_STATS_H
#define AURL_MUSIC_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "data/score.h"

/* Definitions (drums = instrument SCORE_DRUMS):
 *   notes_per_second  all notes / sum of piece durations (score_duration)
 *   pc_hist           melodic notes per pitch class (C = 0), normalised to 1
 *                     (all zero when there is no melodic note)
 *   pitch_min/max     over melodic notes (-1 when none); span = max - min
 *   polyphony_mean    time-weighted number of sounding melodic notes over the
 *                     time at least one sounds (silence excluded)
 *   polyphony_max     most melodic notes sounding at once
 *   velocity_mean/std over all notes (population std)
 *   ioi_mean          mean gap between consecutive distinct onset times
 *                     (all notes, onsets within 1 ms count as one) */
typedef struct {
    int n_pieces;
    long n_notes;
    double seconds;
    double notes_per_second;
    double pc_hist[12];
    int pitch_min, pitch_max, pitch_span;
    double polyphony_mean;
    int polyphony_max;
    double velocity_mean, velocity_std;
    double ioi_mean;
} music_stats;

/* Running sums over pieces. */
typedef struct {
    int n_pieces;
    long n_notes;
    double seconds;
    double pc_count[12];
    int pitch_min, pitch_max;
    double sounding_time;   /* time with >= 1 melodic note sounding */
    double poly_integral;   /* integral of the sounding count over time */
    int polyphony_max;
    double vel_sum, vel_sq;
    double ioi_sum;
    long n_ioi;
} music_stats_acc;

/* Empty accumulator. */
void music_stats_acc_init(music_stats_acc *a);
/* Add one piece. 0, or -1 when out of memory (a is unchanged then). */
int music_stats_acc_add_score(music_stats_acc *a, const score *s);
/* Decode TOKENS (tok_decode) and add the piece. 0 or -1 (out of memory). */
int music_stats_acc_add_tokens(music_stats_acc *a, const uint16_t *tokens, size_t n);
/* The pooled statistics of everything added (zeros when nothing was). */
void music_stats_acc_result(const music_stats_acc *a, music_stats *out);

/* Statistics of one score (acc_init + add + result). 0 or -1 (out of memory). */
int music_stats_of_score(const score *s, music_stats *out);

/* Pooled statistics of N_SEQS token sequences (acc_init + add_tokens of
 * each + result). 0 or -1 (out of memory). */
int music_stats_of_sequences(const dataset_seq *seqs, size_t n_seqs, music_stats *out);

/* Jensen-Shannon divergence, base 2, between two pitch-class histograms
 * (each normalised here; symmetric, 0 for equal, 1 for disjoint support).
 * NAN when either histogram is all zero. */
double music_stats_pc_distance(const double a[12], const double b[12]);
#endif
