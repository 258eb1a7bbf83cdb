/* tokenizer: the 774-token event vocabulary, versions 1 and 2 (docs/DESIGN.md §5).
 * tok_encode turns a score into START ... END; tok_decode turns ANY token
 * string back into a score, tolerating malformed input.
 *
 * Version 1 ends every note with a NOTE_OFF p. Version 2 keeps the 774 ids
 * but gives ids 92..179 to DURATION d: a melodic NOTE_ON is followed at
 * once by the DURATION of its note (88 bins, 1/64 s .. 8 s: one step each up
 * to 48 steps, then log-spaced), so a note cannot be forgotten; drum notes
 * have no DURATION (they last TOK_DRUM_STEPS). The cache keeps version 1
 * (lossless within 1/128 s); version 2 sequences are transcoded from it
 * (tok_transcode). A model records which version it was trained on. */
#ifndef AURL_TOKENIZER_H
#define AURL_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "data/score.h"

#define TOK_VERSION 1        /* the cache's vocabulary */
#define TOK_VOCAB_V1 1
#define TOK_VOCAB_V2 2
#define TOK_VOCAB_MAX 2      /* newest vocabulary this build knows */
#define TOK_VOCAB_SIZE 774
#define TOK_START 0
#define TOK_END 1
#define TOK_PAD 2
#define TOK_UNK 3
#define TOK_NOTE_ON 4       /* + (pitch - 21), pitch 21..108 */
#define TOK_NOTE_OFF 92     /* v1: + (pitch - 21) */
#define TOK_DURATION 92     /* v2: + bin 0..87 */
#define TOK_N_DURATIONS 88
#define TOK_DRUM_STEPS 8    /* v2: length of a drum note (1/8 s) */
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
    TOKT_SUSTAIN, TOKT_TEMPO, TOKT_INSTRUMENT, TOKT_DURATION, TOKT_COUNT
} tok_type;

/* Apply the representational rules to S in place: fold melodic pitches into
 * 21..108 by octaves, drop drum notes outside it, resolve overlapping notes
 * of the same (instrument, pitch) (a re-strike ends the sounding note),
 * sort. What tok_decode(tok_encode(s)) should equal within 1/128 s.
 * Works in place without allocating; returns the number of notes dropped. */
int tok_normalize(score *s);

/* Encode S as START ... END (vocabulary v1) into a malloc'd array. 0 or -1
 * (out of memory). */
int tok_encode(const score *s, uint16_t **tokens, size_t *n_tokens);
/* The same in vocabulary VOCAB (TOK_VOCAB_V1 or TOK_VOCAB_V2). */
int tok_encode_vocab(const score *s, int vocab, uint16_t **tokens, size_t *n_tokens);

/* Decode any v1 token string (ids >= TOK_VOCAB_SIZE count as UNK). Notes
 * left sounding end 8 s after onset or at END, whichever is first. 0 or -1
 * (OOM). */
int tok_decode(const uint16_t *tokens, size_t n_tokens, score *out);
/* The same for vocabulary VOCAB. v2: a note lasts its DURATION (also past
 * END), until the next NOTE_ON of its key at the latest; a melodic NOTE_ON
 * without a DURATION right after it, and a drum note, last TOK_DRUM_STEPS;
 * a DURATION anywhere else is ignored. */
int tok_decode_vocab(const uint16_t *tokens, size_t n_tokens, int vocab, score *out);

/* A v1 sequence IN[0..n) re-encoded in VOCAB (decode, then encode) into a
 * malloc'd array. 0 or -1 (OOM). */
int tok_transcode(const uint16_t *in, size_t n, int vocab, uint16_t **out, size_t *n_out);

/* Steps of 1/64 s DURATION bin B stands for (B clamped to 0..87). */
int tok_duration_steps(int bin);
/* The bin nearest to a length of STEPS (in ratio; <= 1 step: bin 0,
 * >= 512: bin 87). */
int tok_duration_bin(int64_t steps);

/* Type of v1 token ID (ids >= TOK_VOCAB_SIZE are TOKT_SPECIAL). */
tok_type tok_type_of(uint16_t id);
/* Type of ID in vocabulary VOCAB (v2: ids 92..179 are TOKT_DURATION). */
tok_type tok_type_of_vocab(uint16_t id, int vocab);
/* "NOTE_ON", "TIME_SHIFT", ... ("?" for an invalid type). */
const char *tok_type_name(tok_type t);
/* Human-readable name, e.g. "NOTE_ON C4", "TIME_SHIFT 3 (46.9 ms)",
 * "VELOCITY 20 (v=84)", "INSTRUMENT 15 (drums)". */
void tok_name(uint16_t id, char *buf, size_t len);
/* The same in vocabulary VOCAB, e.g. v2 "DURATION 40 (0.625 s)". */
void tok_name_vocab(uint16_t id, int vocab, char *buf, size_t len);
/* "v1" / "v2" for a vocabulary version; 1 or 2 for such a name, -1 else. */
const char *tok_vocab_name(int vocab);
int tok_vocab_parse(const char *name);
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
