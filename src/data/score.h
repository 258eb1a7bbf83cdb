/* score: the in-memory music representation shared by the MIDI reader and
 * writer, the tokenizer and augmentation. Times are in seconds. */
#ifndef AURL_SCORE_H
#define AURL_SCORE_H

#include <stddef.h>
#include <stdint.h>

/* Instrument families: GM program / 8 for 0..14 (family 15, sound effects,
 * folds into 12, synth effects), and 15 = drums (MIDI channel 10). */
#define SCORE_N_INSTRUMENTS 16
#define SCORE_DRUMS 15

typedef struct {
    double onset;       /* seconds from the start */
    double offset;      /* seconds; >= onset */
    uint8_t pitch;      /* MIDI pitch 0..127 */
    uint8_t velocity;   /* 1..127 */
    uint8_t instrument; /* family 0..15, SCORE_DRUMS for drums */
} score_note;

typedef struct {
    double time;
    uint8_t instrument; /* family the pedal applies to */
    uint8_t down;       /* 1 = CC64 >= 64, 0 = released */
} score_sustain;

typedef struct {
    double time;
    double bpm;
} score_tempo;

typedef struct {
    score_note *notes;
    size_t n_notes, cap_notes;
    score_sustain *sustains;
    size_t n_sustains, cap_sustains;
    score_tempo *tempos;
    size_t n_tempos, cap_tempos;
} score;

/* Empty score (all arrays NULL). */
void score_init(score *s);
/* Free the arrays and re-initialise. */
void score_free(score *s);
/* Append; return 0, or -1 when out of memory. */
int score_add_note(score *s, score_note n);
int score_add_sustain(score *s, score_sustain e);
int score_add_tempo(score *s, score_tempo t);
/* Stable sort: notes by (onset, instrument, pitch, offset), sustains and
 * tempos by time (equal times keep their order). */
void score_sort(score *s);
/* End time: the latest note offset (0 for an empty score). */
double score_duration(const score *s);
/* Family of a GM program 0..127 (family 15 folds into 12). */
int score_program_family(int program);

#endif
