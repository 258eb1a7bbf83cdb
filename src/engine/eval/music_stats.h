/* music_stats: descriptive statistics of a piece (a score or a token
 * sequence) for comparing generated music with the data: rate, pitch
 * content (pitch-class histogram and entropy, scale consistency, range),
 * polyphony (MusPy's, overall and per instrument family), rhythm (groove
 * consistency, empty beats, inter-onset intervals), note lengths, drum
 * share and velocity. Statistics pool over many pieces through an
 * accumulator (note-, step- and bar-weighted, not a mean of per-piece
 * means). Also the two histogram comparisons used on them: the
 * Jensen-Shannon distance and the overlapping area. engine/eval/
 * music_compare turns two sets of statistics into one table and distance. */
#ifndef AURL_MUSIC_STATS_H
#define AURL_MUSIC_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "data/score.h"

/* The time grid is the tokenizer's: a step is 1/64 s (TOK_STEPS_PER_SECOND);
 * a time t is on step round(t * 64) (tok_quantize). A note sounds on the
 * steps [on, max(off, on + 1)) of its quantised onset and offset (a note
 * shorter than a step still sounds for one); its length is off - on steps.
 * "Melodic" means not drums (instrument SCORE_DRUMS).
 *
 * Histograms of durations (note length, inter-onset interval) have the
 * MUSIC_STATS_N_TIME_BINS log-spaced (half-octave) bins of
 * music_stats_time_bin, in steps: [0,1) [1,2) [2,3) [3,4) [4,6) [6,8)
 * [8,12) [12,16) ... [512,768) [768,inf): 0, 15.6 ms, 31 ms, ... 8 s, 12 s.
 *
 * Beats and bars: the tempo map (score.tempos; 120 BPM before the first
 * change, as in MIDI) turns seconds into beats; a note's onset is rounded to
 * the nearest 16th note (MUSIC_STATS_GRID_PER_BEAT positions a beat) and
 * bars have 4 beats (the score keeps no time signature: 4/4 is assumed),
 * bar 0 starting at time 0.
 *
 * Definitions (pooled: sums over all pieces, then the ratio, except the two
 * measures of tonality, which only mean something within one piece):
 *   notes_per_second   all notes / sum of piece durations (score_duration)
 *   pc_hist            melodic notes per pitch class (C = 0), normalised to 1
 *                      (all zero when there is no melodic note)
 *   pc_entropy         Shannon entropy in bits (0..log2 12) of a piece's
 *                      melodic pitch-class histogram, averaged over the
 *                      pieces with melodic notes (0 when none)
 *   scale_consistency  MusPy: the largest share of a piece's melodic notes
 *                      whose pitch class lies in one of the 24 major /
 *                      natural-minor scales, averaged over the pieces with
 *                      melodic notes (NAN when none)
 *   pitch_min/max      over melodic notes (-1 when none); span = max - min
 *   polyphony_mean     MusPy: the number of DISTINCT melodic pitches
 *                      sounding (any instrument), averaged over the steps
 *                      where at least one sounds
 *   polyphony_max      most distinct melodic pitches sounding on one step
 *   polyphony_rate     share of those steps with more than one distinct
 *                      pitch sounding (MusPy divides by all steps and counts
 *                      more than 2; here: > 1, out of the sounding steps)
 *   family_polyphony   polyphony_mean of one melodic instrument family alone
 *                      (over the steps that family sounds); NAN for drums
 *                      and for families without notes
 *   groove_consistency MusPy: 1 - mean over pairs of consecutive bars of the
 *                      Hamming distance between their onset patterns (16
 *                      positions, all notes, drums included) / 16; bars 0 ..
 *                      the bar of the last onset, empty bars included
 *   empty_beat_rate    share of beats 0 .. the beat of the last onset with no
 *                      onset (all notes)
 *   note_len_hist      melodic note lengths in the time bins, normalised
 *   median_note_length melodic notes, seconds on the grid (lower median)
 *   ioi_hist           gaps between consecutive distinct onset steps (all
 *                      notes) in the time bins, normalised
 *   ioi_mean           mean gap between consecutive distinct onset times in
 *                      seconds (all notes, onsets within 1 ms count as one)
 *   drum_share         drum notes / all notes
 *   velocity_mean/std  over all notes (population std)
 * A ratio whose denominator is 0 is NAN (pc_entropy and the histograms: 0). */
#define MUSIC_STATS_N_TIME_BINS 20
#define MUSIC_STATS_MAX_STEPS 1024 /* step histograms: lengths past this count as this */
#define MUSIC_STATS_GRID_PER_BEAT 4
#define MUSIC_STATS_BEATS_PER_BAR 4

typedef struct {
    int n_pieces;
    long n_notes;
    double seconds;
    double notes_per_second;
    double pc_hist[12];
    double pc_entropy;
    double scale_consistency;
    int pitch_min, pitch_max, pitch_span;
    double polyphony_mean;
    int polyphony_max;
    double polyphony_rate;
    long family_notes[SCORE_N_INSTRUMENTS];
    double family_polyphony[SCORE_N_INSTRUMENTS];
    double groove_consistency;
    double empty_beat_rate;
    double note_len_hist[MUSIC_STATS_N_TIME_BINS];
    double median_note_length;
    double ioi_hist[MUSIC_STATS_N_TIME_BINS];
    double ioi_mean;
    double drum_share;
    double velocity_mean, velocity_std;
} music_stats;

/* Running sums over pieces. */
typedef struct {
    int n_pieces;
    long n_notes, n_drums;
    double seconds;
    double pc_count[12];
    int tonal_pieces;       /* pieces with melodic notes */
    double pc_entropy_sum, scale_sum; /* over those pieces */
    int pitch_min, pitch_max;
    long sounding_steps;    /* steps with >= 1 melodic pitch sounding */
    long poly_integral;     /* sum over steps of the distinct pitches sounding */
    long poly_multi_steps;  /* steps with >= 2 */
    int polyphony_max;
    long family_notes[SCORE_N_INSTRUMENTS];
    long family_steps[SCORE_N_INSTRUMENTS], family_integral[SCORE_N_INSTRUMENTS];
    long groove_distance;   /* sum of Hamming distances of consecutive bars */
    long groove_pairs;
    long beats, empty_beats;
    long len_steps[MUSIC_STATS_MAX_STEPS + 1]; /* melodic notes per length in steps */
    long ioi_steps[MUSIC_STATS_MAX_STEPS + 1]; /* onset gaps per length in steps */
    double vel_sum, vel_sq;
    double ioi_sum;
    long n_ioi;
} music_stats_acc;

/* Empty accumulator. */
void music_stats_acc_init(music_stats_acc *a);
/* Add one piece. 0, or -1 when out of memory (a is unchanged then). */
int music_stats_acc_add_score(music_stats_acc *a, const score *s);
/* Decode TOKENS of vocabulary VOCAB (tok_decode_vocab) and add the piece. 0 or -1 (out of memory). */
int music_stats_acc_add_tokens(music_stats_acc *a, const uint16_t *tokens, size_t n, int vocab);
/* The pooled statistics of everything added (zeros when nothing was). */
void music_stats_acc_result(const music_stats_acc *a, music_stats *out);

/* Statistics of one score (acc_init + add + result). 0 or -1 (out of memory). */
int music_stats_of_score(const score *s, music_stats *out);

/* Pooled statistics of N_SEQS token sequences (acc_init + add_tokens of
 * each + result). 0 or -1 (out of memory). */
int music_stats_of_sequences(const dataset_seq *seqs, size_t n_seqs, music_stats *out);

/* The time bin (0 .. MUSIC_STATS_N_TIME_BINS - 1) of a duration of STEPS
 * (negative counts as 0). */
int music_stats_time_bin(long steps);
/* The lower edge in steps of time bin I (0 .. MUSIC_STATS_N_TIME_BINS - 1). */
long music_stats_time_bin_edge(int i);

/* Jensen-Shannon divergence, base 2, between two pitch-class histograms
 * (each normalised here; symmetric, 0 for equal, 1 for disjoint support).
 * NAN when either histogram is all zero. */
double music_stats_pc_distance(const double a[12], const double b[12]);

/* Overlapping area (Yang & Lerch 2020) of two histograms of N bins: the sum
 * over bins of the smaller of the two after normalising each to 1 (negative
 * counts as 0): 1 for equal shapes, 0 for disjoint support. NAN when either
 * is all zero. */
double music_stats_overlap(const double *a, const double *b, int n);
#endif
