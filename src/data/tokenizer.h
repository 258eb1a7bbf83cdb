/* tokenizer: the 774-token event vocabulary, version 1 (docs/DESIGN.md §5).
 * tok_encode turns a score into START ... END; tok_decode turns ANY token
 * string back into a score, tolerating malformed input. */
#ifndef AURL_TOKENIZER_H
#define AURL_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "data/score.h"

#define TOK_VERSION 1
#define TOK_VOCAB_SIZE 774
#define TOK_START 0
#define TOK_END 1
#define TOK_PAD 2
#define TOK_UNK 3
#define TOK_NOTE_ON 4       /* + (pitch - 21), pitch 21..108 */
#define TOK_NOTE_OFF 92     /* + (pitch - 21) */
#define TOK_TIME_SHIFT 180  /* + k: advance k+1 steps of 1/64 s, k 0..511 */
#define TOK_VELOCITY 692    /* + bin 0..31 */
#define TOK_SUSTAIN_ON 724
#define TOK_SUSTAIN_OFF 725
#define TOK_TEMPO 726       /* + bin 0..31, log-spaced 40..240 BPM */
#define TOK_INSTRUMENT 758  /* + family 0..15 (15 = drums) */
#define TOK_N_FAMILIES 16
#define TOK_DRUM_FAMILY 15
#define TOK_PITCH_MIN 21
#define TOK_PITCH_MAX 108
#define TOK_STEPS_PER_SECOND 64
#define TOK_MAX_SHIFT_STEPS 512

typedef enum {
    TOKT_SPECIAL, TOKT_NOTE_ON, TOKT_NOTE_OFF, TOKT_TIME_SHIFT, TOKT_VELOCITY,
    TOKT_SUSTAIN, TOKT_TEMPO, TOKT_INSTRUMENT, TOKT_COUNT
} tok_type;

/* Apply the representational rules to S in place: fold melodic pitches into
 * 21..108 by octaves, drop drum notes outside it, resolve overlapping notes
 * of the same (instrument, pitch) (a re-strike ends the sounding note),
 * sort. What tok_decode(tok_encode(s)) should equal within 1/128 s.
 * Works in place without allocating; returns the number of notes dropped. */
int tok_normalize(score *s);

/* Encode S as START ... END into a malloc'd array. 0 or -1 (out of memory). */
int tok_encode(const score *s, uint16_t **tokens, size_t *n_tokens);

/* Decode any token string (ids >= TOK_VOCAB_SIZE count as UNK). Notes left
 * sounding end 8 s after onset or at END, whichever is first. 0 or -1 (OOM). */
int tok_decode(const uint16_t *tokens, size_t n_tokens, score *out);

/* Type of token ID (ids >= TOK_VOCAB_SIZE are TOKT_SPECIAL). */
tok_type tok_type_of(uint16_t id);
/* "NOTE_ON", "TIME_SHIFT", ... ("?" for an invalid type). */
const char *tok_type_name(tok_type t);
/* Human-readable name, e.g. "NOTE_ON C4", "TIME_SHIFT 3 (46.9 ms)",
 * "VELOCITY 20 (v=84)", "INSTRUMENT 15 (drums)". */
void tok_name(uint16_t id, char *buf, size_t len);
/* Name of instrument family 0..15, e.g. "piano", "synth lead", "drums" ("?" outside). */
const char *tok_family_name(int family);

/* Bin helpers shared with augmentation and export. */
int tok_velocity_bin(int velocity);     /* 1..127 -> 0..31 */
int tok_velocity_value(int bin);        /* bin centre -> 1..127 */
int tok_tempo_bin(double bpm);          /* clamps to 40..240 */
double tok_tempo_bpm(int bin);          /* bin centre */

/* Steps of 1/64 s a TIME_SHIFT token advances (id must be a TIME_SHIFT). */
static inline int tok_shift_steps(uint16_t id) { return (int)id - TOK_TIME_SHIFT + 1; }

/* Shared grid helpers (also used by augmentation). */
/* Seconds -> nearest 1/64 s step (t must be finite and >= 0). */
int64_t tok_quantize(double seconds);
/* Melodic pitch 0..255 moved by octaves into 21..108. */
int tok_fold_pitch(int pitch);
/* TIME_SHIFT tokens for a gap of STEPS (<= 0: none): repeats of
 * TIME_SHIFT 511 while more than 512 steps remain, then one TIME_SHIFT
 * steps-1. Writes at most MAX into OUT (may be NULL when max is 0) and
 * returns the number the gap needs. */
size_t tok_time_shifts(int64_t steps, uint16_t *out, size_t max);
#endif
