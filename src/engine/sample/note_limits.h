/* note_limits: decoding limits that follow the data (docs/DESIGN.md §8).
 * From the training split's token sequences, per instrument family: the
 * note-length limit (the 99th percentile of its notes' lengths), a typical
 * length (the median, where the sampler starts to favour a note's NOTE_OFF)
 * and shortest length (the 5th percentile; not for drums, whose hits are
 * zero-length) and the polyphony limit (the 99th percentile of how many notes sound on
 * the family when one starts). A family with too few notes in the data
 * takes the pooled melodic figures. And for the piece: the gap limit, the
 * 90th percentile of the time between consecutive onsets, a minimum note
 * density for greedy and beam decoding, whose likeliest continuation is
 * otherwise silence. These replace a flat 8 s force-close,
 * which let a model that forgets its notes hold them for 8 s each. */
#ifndef AURL_NOTE_LIMITS_H
#define AURL_NOTE_LIMITS_H

#include <stddef.h>

#include "data/dataset.h"
#include "engine/sample/grammar.h"
#include "util/errmsg.h"

/* Fewest notes of a family for its own figures. */
#define NOTE_LIMITS_MIN_NOTES 200
/* Quantiles of the note lengths for the limits. */
#define NOTE_LIMITS_SHORT_Q 0.05
/* Quantile of the gaps between onsets for the gap limit (floor: 1/8 s). */
#define NOTE_LIMITS_GAP_Q 0.9
/* Floors: no family's limit is below these (1/8 s; one note). */
#define NOTE_LIMITS_MIN_LEN_STEPS 8
#define NOTE_LIMITS_MIN_POLY 1

/* What the limits were computed from (for the sidecar and messages). */
typedef struct {
    grammar_limits limits;
    long notes[SCORE_N_INSTRUMENTS]; /* notes of each family in the data */
    long total_notes;
} note_limits;

/* Limits from the N token sequences SEQS (START ... END each; malformed
 * streams are tolerated as the decoder tolerates them). Returns 0, or -1
 * with err set when the sequences hold no melodic note at all. */
int note_limits_from_seqs(const dataset_seq *seqs, size_t n, note_limits *out, char err[AURL_ERR_LEN]);
/* Limits from the training split of the token cache under DATA_DIR.
 * Returns 0, or -1 with err set (no cache, or no notes in it). */
int note_limits_from_cache(const char *data_dir, note_limits *out, char err[AURL_ERR_LEN]);
/* Seconds of a limit in steps. */
double note_limits_seconds(long long steps);
#endif
