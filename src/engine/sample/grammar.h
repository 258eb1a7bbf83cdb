/* grammar: the token grammar of generation (docs/DESIGN.md §5, §8), tracked
 * from the token stream: which (instrument, pitch) notes sound and since
 * when, the current time and instrument, sustain pedals, and how many
 * tokens were generated. grammar_mask tells which next tokens are allowed:
 *   - never START, PAD, UNK;
 *   - no NOTE_OFF of a note that is not sounding on the current instrument
 *     (one that started at the current step may end there: the tokenizer
 *     writes notes shorter than a step that way, so the data has them);
 *   - no NOTE_ON of a note that is already sounding (the tokenizer always
 *     emits a NOTE_OFF first), nor of one that was a zero-length note at the
 *     current step (two such notes at one instant cannot both be written
 *     to MIDI);
 *   - no END before min_tokens generated tokens;
 *   - force-close: a TIME_SHIFT may not take any sounding note past its
 *     instrument family's note-length limit (max_note_steps[family]: a flat
 *     max_note_seconds, or the data's own limits, grammar_set_limits); once
 *     a note has sounded that long, the only tokens allowed are the
 *     NOTE_OFFs of such expired notes on the current instrument or, if none
 *     is there, the INSTRUMENT tokens that select an instrument holding one.
 *     So no note ever sounds longer than its family's limit;
 *   - shortest note: with a limit min_note_steps[family] > 0, no NOTE_OFF of a
 *     note younger than that (the data's limits give melodic families one);
 *   - the tokenizer's order (data/tokenizer.c): a VELOCITY is followed by
 *     its NOTE_ON (when one may start), an INSTRUMENT by an event of that
 *     instrument (no TIME_SHIFT, TEMPO, INSTRUMENT or END), a TEMPO by no
 *     TEMPO. The data never breaks these; a model looping on such tokens
 *     makes no music (greedy decoding did). (Repeating a current value is
 *     not forbidden: under the TYPED mask that mass would move to another
 *     value and force an event the model did not mean.)
 *   - gaps: with max_gap_steps > 0, no TIME_SHIFT taking the time since the
 *     last NOTE_ON past it (the data's longest usual gap);
 *   - no END before min_end_steps of music (the length a user asked for);
 *   - polyphony: with a limit max_poly[family] > 0, no NOTE_ON while that
 *     many notes already sound on the current instrument.
 * Vocabulary v2 (grammar_set_vocab): notes end by their DURATION, so there
 * are no NOTE_OFFs and no force-close. Its rules instead:
 *   - a melodic NOTE_ON is followed by its DURATION and nothing else, a
 *     DURATION only follows a melodic NOTE_ON; the DURATION keeps to the
 *     family's length limits (min_note_steps .. max_note_steps, the bins
 *     that fall inside; the nearest bin when none does);
 *   - a note sounds from its onset until onset + DURATION (drums:
 *     TOK_DRUM_STEPS), or until the next NOTE_ON of its key (a re-strike,
 *     allowed); no second NOTE_ON of a key at the step it was struck;
 *   - polyphony counts the notes sounding on the current instrument (a
 *     re-strike replaces one); the order, gap and END rules as above.
 * grammar_close lists the tokens that end a piece cleanly: the NOTE_OFFs of
 * every sounding note (with INSTRUMENT switches), SUSTAIN_OFF for pedals
 * still down, then END; notes not yet at their family's shortest length (or
 * started now: no note is empty) are closed after one TIME_SHIFT that
 * takes them there. */
#ifndef AURL_GRAMMAR_H
#define AURL_GRAMMAR_H

#include <stdint.h>

#include "data/tokenizer.h"

#define GRAMMAR_N_PITCHES (TOK_PITCH_MAX - TOK_PITCH_MIN + 1)

typedef struct {
    int64_t onset[SCORE_N_INSTRUMENTS][GRAMMAR_N_PITCHES]; /* step the note started, -1 silent */
    int64_t empty_at[SCORE_N_INSTRUMENTS][GRAMMAR_N_PITCHES]; /* step of the last zero-length such note, -1 none */
    int n_sounding;         /* notes sounding, all instruments */
    int sounding_on[SCORE_N_INSTRUMENTS]; /* ... per instrument */
    uint8_t sustain[SCORE_N_INSTRUMENTS];
    int64_t now;            /* current time in 1/64 s steps */
    int instrument;         /* current instrument family */
    int generated;          /* tokens fed with grammar_feed(..., 1) */
    int errors;             /* fed tokens the mask forbade */
    int ended;              /* END was fed */
    int min_tokens;
    int64_t max_note_steps[SCORE_N_INSTRUMENTS]; /* note-length limit per family, > 0 */
    int64_t min_note_steps[SCORE_N_INSTRUMENTS]; /* shortest note per family, 0 = none */
    int max_poly[SCORE_N_INSTRUMENTS];            /* polyphony limit per family, 0 = none */
    int32_t last;           /* last token fed, -1 none */
    int64_t last_onset;     /* step of the last NOTE_ON, -1 none */
    int64_t max_gap_steps;  /* longest time without a NOTE_ON, 0 = no limit */
    int64_t min_end_steps;  /* no END before this time, 0 = none */
    int vocab;              /* token vocabulary, TOK_VOCAB_V1 (default) or TOK_VOCAB_V2 */
    int64_t end_at[SCORE_N_INSTRUMENTS][GRAMMAR_N_PITCHES]; /* v2: step the key's last note ends
                                                             * (INT64_MAX while its DURATION is due) */
    int await_dur;          /* v2: 1 + instrument * 88 + pitch index of the NOTE_ON whose DURATION
                             * is next, 0 none */
    uint8_t dur_bins[SCORE_N_INSTRUMENTS][2]; /* v2: DURATION bins a family's notes may take, lo..hi */
} grammar_state;

/* Decoding limits per instrument family (engine/sample/note_limits derives
 * them from the data). */
typedef struct {
    int64_t max_note_steps[SCORE_N_INSTRUMENTS];     /* force-close length, steps (> 0) */
    int64_t min_note_steps[SCORE_N_INSTRUMENTS];     /* shortest note, steps (>= 0) */
    int64_t typical_note_steps[SCORE_N_INSTRUMENTS]; /* a typical length, steps (> 0): where the
                                                      * sampler's NOTE_OFF ageing bias starts */
    int max_poly[SCORE_N_INSTRUMENTS];               /* notes sounding at once (> 0) */
    int64_t max_gap_steps;                           /* longest time between onsets, steps (0 none) */
} grammar_limits;

/* Fresh state (time 0, piano, nothing sounding), every family limited to
 * max_note_seconds (<= 0 means the decoder's 8 s), no polyphony limit. */
void grammar_init(grammar_state *g, int min_tokens, double max_note_seconds);
/* Read tokens of vocabulary VOCAB (TOK_VOCAB_V1 or _V2; before the first token). */
void grammar_set_vocab(grammar_state *g, int vocab);
/* Take L's note-length, polyphony and gap limits (before the first token). */
void grammar_set_limits(grammar_state *g, const grammar_limits *L);
/* Steps the note of pitch index P on instrument I has sounded; -1 if silent. */
int64_t grammar_note_age(const grammar_state *g, int i, int p);
/* Advance over token TOK; generated = 1 counts it as generated (and its
 * legality in errors), 0 for prefix tokens (tracked, not judged). */
void grammar_feed(grammar_state *g, int32_t tok, int generated);
/* allowed[0..TOK_VOCAB_SIZE) = 1 where the next token may be TOK. Returns
 * how many are allowed (always >= 1). */
int grammar_mask(const grammar_state *g, uint8_t *allowed);
/* 1 if TOK is allowed next (as grammar_mask would say). */
int grammar_allows(const grammar_state *g, int32_t tok);
/* Most tokens grammar_close can need. */
#define GRAMMAR_CLOSE_MAX (2 + SCORE_N_INSTRUMENTS * (GRAMMAR_N_PITCHES + 3))
/* Tokens that close the piece (see above), END last, into out (up to max;
 * returns the number needed, at most GRAMMAR_CLOSE_MAX). */
int grammar_close(const grammar_state *g, int32_t *out, int max);
/* Where a NOTE_OFF of pitch index P (pitch - TOK_PITCH_MIN) meant for a
 * note on another instrument should go: the instrument whose sounding note
 * of that pitch started last, when the current instrument has none sounding,
 * switching to it is allowed now and the NOTE_OFF is allowed after the
 * switch; else -1. (The sampler's TYPED mask writes INSTRUMENT j, NOTE_OFF.) */
int grammar_route_of(const grammar_state *g, int p);
/* Voice stealing for a NOTE_ON of pitch index P that only the polyphony
 * limit forbids: the pitch index of the note to release first (the oldest
 * sounding on the current instrument, lowest pitch among equals) when it
 * has reached its shortest length (and started before now) and the NOTE_ON
 * is allowed after its NOTE_OFF; else
 * -1. (The sampler's TYPED mask writes NOTE_OFF victim, NOTE_ON P.) */
int grammar_steal_of(const grammar_state *g, int p);
/* 1 if a NOTE_ON of pitch index P, which sounds on the current instrument,
 * may be written as a re-strike: its NOTE_OFF now (allowed: the note has
 * its shortest length, no VELOCITY waits for its NOTE_ON), then the NOTE_ON
 * (the tokenizer writes a re-struck note that way). The sampler's TYPED
 * mask does so instead of moving the onset to another pitch. */
int grammar_restrike_ok(const grammar_state *g, int p);
/* Music time in seconds. */
double grammar_seconds(const grammar_state *g);
/* Generated-token grammar errors of a whole START..END sequence of
 * vocabulary VOCAB, as eval reports them (all tokens judged, min_tokens 0,
 * the 8 s limit). */
int grammar_count_errors(const int32_t *tokens, int n, int vocab);

/* Why the mask forbids a token (grammar_classify); GRAMMAR_OK when it does
 * not. Where several reasons hold, the first of this list wins. */
typedef enum {
    GRAMMAR_OK = 0,
    GRAMMAR_ERR_SPECIAL,          /* START, PAD, UNK or an id outside the vocabulary */
    GRAMMAR_ERR_OFF_OTHER_INSTRUMENT, /* NOTE_OFF of a pitch silent on the current instrument
                                   * but sounding on another: wrong instrument context */
    GRAMMAR_ERR_OFF_SILENT,       /* NOTE_OFF of a pitch sounding on no instrument */
    GRAMMAR_ERR_OFF_TOO_SHORT,    /* NOTE_OFF of a note younger than the family's shortest length */
    GRAMMAR_ERR_ON_SOUNDING,      /* NOTE_ON of a note already sounding */
    GRAMMAR_ERR_SHIFT_PAST_LIMIT, /* TIME_SHIFT taking a sounding note past the note-length limit */
    GRAMMAR_ERR_LIMIT_OPEN,       /* a note is at the limit: anything but closing it (force-close) */
    GRAMMAR_ERR_END_EARLY,        /* END before min_tokens generated tokens */
    GRAMMAR_ERR_POLY_LIMIT,       /* NOTE_ON while the family's polyphony limit is reached */
    GRAMMAR_ERR_STATE,            /* VELOCITY/TEMPO/INSTRUMENT out of place (see the order above) */
    GRAMMAR_ERR_GAP,              /* TIME_SHIFT past the longest gap between onsets */
    GRAMMAR_ERR_NO_DURATION,      /* v2: anything but a DURATION right after a melodic NOTE_ON */
    GRAMMAR_ERR_DURATION,         /* v2: a DURATION outside the family's length limits, or not after a NOTE_ON */
    GRAMMAR_ERR_OTHER,            /* the rest: a re-struck zero-length note, a token after END */
    GRAMMAR_N_KINDS
} grammar_error_kind;

/* What the mask would say of TOK next: GRAMMAR_OK exactly when
 * grammar_allows(g, tok), else the reason. */
grammar_error_kind grammar_classify(const grammar_state *g, int32_t tok);
/* 1 if kind K can occur in vocabulary VOCAB (the NOTE_OFF and force-close
 * kinds are v1's, the DURATION kinds v2's). */
int grammar_kind_applies(grammar_error_kind k, int vocab);
/* Short key of kind K for JSON, e.g. "note_off_silent" ("?" outside). */
const char *grammar_error_key(grammar_error_kind k);
/* Human label of kind K, e.g. "NOTE_OFF of a note sounding nowhere" ("?" outside). */
const char *grammar_error_label(grammar_error_kind k);
#endif
