/* grammar: token-stream state and the generation mask (see grammar.h):
 * vocabulary v1 (NOTE_OFFs) first, then v2 (DURATIONs), each with its feed,
 * mask, close and error kinds; the order, gap and END rules are shared. */
#include "engine/sample/grammar.h"

#include <stdint.h>
#include <string.h>

static void set_dur_bins(grammar_state *g);

void grammar_init(grammar_state *g, int min_tokens, double max_note_seconds)
{
    memset(g, 0, sizeof *g);
    for (int i = 0; i < SCORE_N_INSTRUMENTS; i++)
        for (int p = 0; p < GRAMMAR_N_PITCHES; p++) g->onset[i][p] = g->empty_at[i][p] = -1;
    g->min_tokens = min_tokens;
    double steps = max_note_seconds > 0 ? max_note_seconds * TOK_STEPS_PER_SECOND : 8.0 * TOK_STEPS_PER_SECOND;
    if (steps > 1e12) steps = 1e12;
    for (int i = 0; i < SCORE_N_INSTRUMENTS; i++) g->max_note_steps[i] = steps < 1 ? 1 : (int64_t)steps;
    g->last = -1;
    g->last_onset = -1;
    g->vocab = TOK_VOCAB_V1;
    set_dur_bins(g);
}

void grammar_set_vocab(grammar_state *g, int vocab) { g->vocab = vocab == TOK_VOCAB_V2 ? vocab : TOK_VOCAB_V1; }

/* The DURATION bins inside each family's min..max note length (the bin
 * nearest the longest when none falls inside). */
static void set_dur_bins(grammar_state *g)
{
    for (int i = 0; i < SCORE_N_INSTRUMENTS; i++) {
        int lo = -1, hi = -1;
        for (int b = 0; b < TOK_N_DURATIONS; b++) {
            int64_t st = tok_duration_steps(b);
            if (st < g->min_note_steps[i] || st > g->max_note_steps[i]) continue;
            if (lo < 0) lo = b;
            hi = b;
        }
        if (lo < 0) lo = hi = tok_duration_bin(g->max_note_steps[i]);
        g->dur_bins[i][0] = (uint8_t)lo;
        g->dur_bins[i][1] = (uint8_t)hi;
    }
}

void grammar_set_limits(grammar_state *g, const grammar_limits *L)
{
    for (int i = 0; i < SCORE_N_INSTRUMENTS; i++) {
        g->max_note_steps[i] = L->max_note_steps[i] < 1 ? 1 : L->max_note_steps[i];
        g->min_note_steps[i] = L->min_note_steps[i] < 0 ? 0 : L->min_note_steps[i];
        if (g->min_note_steps[i] >= g->max_note_steps[i]) g->min_note_steps[i] = g->max_note_steps[i] - 1;
        g->max_poly[i] = L->max_poly[i] < 0 ? 0 : L->max_poly[i];
    }
    g->max_gap_steps = L->max_gap_steps < 0 ? 0 : L->max_gap_steps;
    set_dur_bins(g);
}

/* v2: the note of key (I, P) sounds now. */
static int v2_sounding(const grammar_state *g, int i, int p) { return g->onset[i][p] >= 0 && g->end_at[i][p] > g->now; }

int64_t grammar_note_age(const grammar_state *g, int i, int p)
{
    if (i < 0 || i >= SCORE_N_INSTRUMENTS || p < 0 || p >= GRAMMAR_N_PITCHES || g->onset[i][p] < 0) return -1;
    if (g->vocab == TOK_VOCAB_V2 && !v2_sounding(g, i, p)) return -1;
    return g->now - g->onset[i][p];
}

/* What the mask needs to know about the sounding notes. */
typedef struct {
    int64_t shift_room;   /* longest TIME_SHIFT in steps that expires no note */
    int expired;          /* some note has sounded max_note_steps */
    int expired_here;     /* ... on the current instrument */
    uint16_t expired_inst; /* bit i: instrument i holds an expired note */
} summary;

static summary summarise(const grammar_state *g)
{
    summary s = {TOK_MAX_SHIFT_STEPS, 0, 0, 0};
    if (g->n_sounding == 0) return s;
    for (int i = 0; i < SCORE_N_INSTRUMENTS; i++)
        for (int p = 0; p < GRAMMAR_N_PITCHES; p++) {
            int64_t on = g->onset[i][p];
            if (on < 0) continue;
            int64_t room = g->max_note_steps[i] - (g->now - on);
            if (room < s.shift_room) s.shift_room = room;
            if (room <= 0) {
                s.expired = 1;
                s.expired_inst |= (uint16_t)(1u << i);
                if (i == g->instrument) s.expired_here = 1;
            }
        }
    return s;
}

/* A NOTE_ON may start on the current instrument (polyphony limit). */
static int poly_room(const grammar_state *g)
{
    return g->max_poly[g->instrument] == 0 || g->sounding_on[g->instrument] < g->max_poly[g->instrument];
}

/* TOK may follow the last token: after a VELOCITY its NOTE_ON (when one
 * may start), after an INSTRUMENT an event of that instrument (no
 * TIME_SHIFT, TEMPO, INSTRUMENT or END), after a TEMPO no TEMPO. */
static int in_context(const grammar_state *g, int32_t tok)
{
    if (g->last >= TOK_VELOCITY && g->last < TOK_SUSTAIN_ON && poly_room(g))
        return tok >= TOK_NOTE_ON && tok < TOK_NOTE_OFF;
    if (g->last >= TOK_INSTRUMENT)
        return tok != TOK_END && (tok < TOK_TIME_SHIFT || (tok >= TOK_VELOCITY && tok < TOK_TEMPO));
    if (g->last >= TOK_TEMPO && g->last < TOK_INSTRUMENT) return tok < TOK_TEMPO || tok >= TOK_INSTRUMENT;
    return 1;
}

/* TIME_SHIFT TOK takes the time since the last onset past the gap limit. */
static int past_gap(const grammar_state *g, int32_t tok)
{
    if (g->max_gap_steps <= 0) return 0;
    int64_t since = g->last_onset >= 0 ? g->last_onset : 0;
    return g->now + tok_shift_steps((uint16_t)tok) - since > g->max_gap_steps;
}

/* v2: DURATION TOK suits the note waiting for it. */
static int v2_duration_ok(const grammar_state *g, int32_t tok)
{
    if (!g->await_dur || tok < TOK_DURATION || tok >= TOK_DURATION + TOK_N_DURATIONS) return 0;
    int i = (g->await_dur - 1) / GRAMMAR_N_PITCHES, b = tok - TOK_DURATION;
    return b >= g->dur_bins[i][0] && b <= g->dur_bins[i][1];
}

/* v2 mask (specials and END-fed already refused). */
static int v2_allowed(const grammar_state *g, int32_t tok)
{
    if (g->await_dur) return v2_duration_ok(g, tok);
    if (!in_context(g, tok)) return 0;
    if (tok == TOK_END) return g->generated >= g->min_tokens && g->now >= g->min_end_steps;
    if (tok < TOK_DURATION) { /* NOTE_ON: a re-strike replaces the key's note */
        int p = tok - TOK_NOTE_ON, i = g->instrument;
        if (g->onset[i][p] == g->now) return 0;
        return g->max_poly[i] == 0 || g->sounding_on[i] - v2_sounding(g, i, p) < g->max_poly[i];
    }
    if (tok < TOK_TIME_SHIFT) return 0; /* a DURATION with no NOTE_ON before it */
    if (tok < TOK_VELOCITY) return !past_gap(g, tok);
    return 1;
}

static int allowed_with(const grammar_state *g, const summary *s, int32_t tok)
{
    if (tok < 0 || tok >= TOK_VOCAB_SIZE || tok == TOK_START || tok == TOK_PAD || tok == TOK_UNK) return 0;
    if (g->ended) return 0;
    if (g->vocab == TOK_VOCAB_V2) return v2_allowed(g, tok);
    if (s->expired) { /* force-close mode */
        if (s->expired_here)
            return tok >= TOK_NOTE_OFF && tok < TOK_TIME_SHIFT &&
                   g->onset[g->instrument][tok - TOK_NOTE_OFF] >= 0 &&
                   g->now - g->onset[g->instrument][tok - TOK_NOTE_OFF] >= g->max_note_steps[g->instrument];
        return tok >= TOK_INSTRUMENT && ((s->expired_inst >> (tok - TOK_INSTRUMENT)) & 1u);
    }
    if (!in_context(g, tok)) return 0;
    if (tok == TOK_END) return g->generated >= g->min_tokens && g->now >= g->min_end_steps;
    if (tok < TOK_NOTE_OFF)
        return poly_room(g) && g->onset[g->instrument][tok - TOK_NOTE_ON] < 0 &&
               g->empty_at[g->instrument][tok - TOK_NOTE_ON] != g->now;
    if (tok < TOK_TIME_SHIFT) {
        /* a note that started at this very step may end here too: a
         * zero-length note, as the tokenizer writes short drum hits */
        int64_t on = g->onset[g->instrument][tok - TOK_NOTE_OFF];
        return on >= 0 && g->now - on >= g->min_note_steps[g->instrument];
    }
    if (tok < TOK_VELOCITY) return tok_shift_steps((uint16_t)tok) <= s->shift_room && !past_gap(g, tok);
    return 1;
}

int grammar_allows(const grammar_state *g, int32_t tok)
{
    summary s = {TOK_MAX_SHIFT_STEPS, 0, 0, 0};
    if (g->vocab != TOK_VOCAB_V2) s = summarise(g);
    return allowed_with(g, &s, tok);
}

int grammar_mask(const grammar_state *g, uint8_t *allowed)
{
    summary s = {TOK_MAX_SHIFT_STEPS, 0, 0, 0};
    if (g->vocab != TOK_VOCAB_V2) s = summarise(g);
    int n = 0;
    for (int t = 0; t < TOK_VOCAB_SIZE; t++) {
        allowed[t] = (uint8_t)allowed_with(g, &s, t);
        n += allowed[t];
    }
    if (n == 0) { /* only after END: let END repeat rather than allow nothing */
        allowed[TOK_END] = 1;
        n = 1;
    }
    return n;
}

/* v2: advance over TOK (in the vocabulary, not after END). */
static void v2_feed(grammar_state *g, int32_t tok)
{
    int await = g->await_dur;
    g->await_dur = 0;
    if (await) { /* the note waiting for its DURATION: this one, or the decoder's default */
        int i = (await - 1) / GRAMMAR_N_PITCHES, p = (await - 1) % GRAMMAR_N_PITCHES;
        int is_dur = tok >= TOK_DURATION && tok < TOK_DURATION + TOK_N_DURATIONS;
        g->end_at[i][p] = g->onset[i][p] + (is_dur ? tok_duration_steps(tok - TOK_DURATION) : TOK_DRUM_STEPS);
    }
    if (tok == TOK_END) {
        g->ended = 1;
    } else if (tok >= TOK_NOTE_ON && tok < TOK_DURATION) {
        int i = g->instrument, p = tok - TOK_NOTE_ON;
        g->last_onset = g->onset[i][p] = g->now;
        g->end_at[i][p] = i == SCORE_DRUMS ? g->now + TOK_DRUM_STEPS : INT64_MAX;
        if (i != SCORE_DRUMS) g->await_dur = 1 + i * GRAMMAR_N_PITCHES + p;
    } else if (tok >= TOK_TIME_SHIFT && tok < TOK_VELOCITY) {
        g->now += tok_shift_steps((uint16_t)tok);
    } else if (tok == TOK_SUSTAIN_ON || tok == TOK_SUSTAIN_OFF) {
        g->sustain[g->instrument] = tok == TOK_SUSTAIN_ON;
    } else if (tok >= TOK_INSTRUMENT) {
        g->instrument = tok - TOK_INSTRUMENT;
    }
    g->n_sounding = 0;
    for (int i = 0; i < SCORE_N_INSTRUMENTS; i++) {
        int n = 0;
        for (int p = 0; p < GRAMMAR_N_PITCHES; p++) n += v2_sounding(g, i, p);
        g->sounding_on[i] = n;
        g->n_sounding += n;
    }
}

void grammar_feed(grammar_state *g, int32_t tok, int generated)
{
    if (generated) {
        if (!grammar_allows(g, tok)) g->errors++;
        g->generated++;
    }
    if (tok < 0 || tok >= TOK_VOCAB_SIZE || g->ended) return;
    if (g->vocab == TOK_VOCAB_V2) {
        if (tok >= TOK_NOTE_ON || tok == TOK_END) g->last = tok;
        if (tok >= TOK_NOTE_ON || tok == TOK_END) v2_feed(g, tok);
        return;
    }
    g->last = tok;
    if (tok == TOK_END) {
        g->ended = 1;
    } else if (tok < TOK_NOTE_ON) {
        return;
    } else if (tok < TOK_NOTE_OFF) {
        int64_t *on = &g->onset[g->instrument][tok - TOK_NOTE_ON];
        g->last_onset = g->now;
        if (*on < 0) {
            g->n_sounding++;
            g->sounding_on[g->instrument]++;
        }
        *on = g->now;
    } else if (tok < TOK_TIME_SHIFT) {
        int64_t *on = &g->onset[g->instrument][tok - TOK_NOTE_OFF];
        if (*on >= 0) {
            g->n_sounding--;
            g->sounding_on[g->instrument]--;
            if (*on == g->now) g->empty_at[g->instrument][tok - TOK_NOTE_OFF] = g->now;
        }
        *on = -1;
    } else if (tok < TOK_VELOCITY) {
        g->now += tok_shift_steps((uint16_t)tok);
    } else if (tok == TOK_SUSTAIN_ON || tok == TOK_SUSTAIN_OFF) {
        g->sustain[g->instrument] = tok == TOK_SUSTAIN_ON;
    } else if (tok >= TOK_INSTRUMENT) {
        g->instrument = tok - TOK_INSTRUMENT;
    }
}

/* Append TOK to out if there is room; count it either way. */
static void put(int32_t *out, int max, int *n, int32_t tok)
{
    if (*n < max) out[*n] = tok;
    (*n)++;
}

/* Steps the note of instrument I, pitch P must still sound before its
 * NOTE_OFF may close it: to its family's shortest length, and at least one
 * step for a note that started now (so that no note is empty); 0 if ready
 * (or silent). */
static int64_t close_wait(const grammar_state *g, int i, int p)
{
    if (g->onset[i][p] < 0) return 0;
    int64_t need = g->min_note_steps[i] > 0 ? g->min_note_steps[i] : 1;
    int64_t age = g->now - g->onset[i][p];
    return age < need ? need - age : 0;
}

/* NOTE_OFFs of the sounding notes that are ready (YOUNG = 0) or not yet
 * ready (YOUNG = 1) to close (close_wait), and SUSTAIN_OFFs if PEDALS,
 * grouped by instrument, current instrument first; *inst tracks the
 * instrument. */
static void close_group(const grammar_state *g, int young, int pedals, int *inst, int32_t *out, int max, int *n)
{
    for (int k = 0; k < SCORE_N_INSTRUMENTS; k++) {
        int i = (g->instrument + k) % SCORE_N_INSTRUMENTS;
        int need = pedals && g->sustain[i];
        for (int p = 0; p < GRAMMAR_N_PITCHES && !need; p++)
            need = g->onset[i][p] >= 0 && (close_wait(g, i, p) > 0) == young;
        if (!need) continue;
        if (*inst != i) {
            put(out, max, n, TOK_INSTRUMENT + i);
            *inst = i;
        }
        for (int p = 0; p < GRAMMAR_N_PITCHES; p++)
            if (g->onset[i][p] >= 0 && (close_wait(g, i, p) > 0) == young) put(out, max, n, TOK_NOTE_OFF + p);
        if (pedals && g->sustain[i]) put(out, max, n, TOK_SUSTAIN_OFF);
    }
}

/* v2: the DURATION due (the family's shortest allowed), pedals up, END. */
static int v2_close(const grammar_state *g, int32_t *out, int max)
{
    int n = 0, inst = g->instrument;
    if (!g->ended) {
        if (g->await_dur) put(out, max, &n, TOK_DURATION + g->dur_bins[(g->await_dur - 1) / GRAMMAR_N_PITCHES][0]);
        for (int k = 0; k < SCORE_N_INSTRUMENTS; k++) {
            int i = (g->instrument + k) % SCORE_N_INSTRUMENTS;
            if (!g->sustain[i]) continue;
            if (inst != i) put(out, max, &n, TOK_INSTRUMENT + i);
            inst = i;
            put(out, max, &n, TOK_SUSTAIN_OFF);
        }
    }
    put(out, max, &n, TOK_END);
    return n;
}

int grammar_close(const grammar_state *g, int32_t *out, int max)
{
    if (g->vocab == TOK_VOCAB_V2) return v2_close(g, out, max);
    int n = 0, inst = g->instrument;
    if (!g->ended) {
        int64_t wait = 0;
        for (int i = 0; i < SCORE_N_INSTRUMENTS; i++)
            for (int p = 0; p < GRAMMAR_N_PITCHES; p++) {
                int64_t w = close_wait(g, i, p);
                if (w > wait) wait = w;
            }
        close_group(g, 0, wait == 0, &inst, out, max, &n);
        if (wait > TOK_MAX_SHIFT_STEPS) wait = TOK_MAX_SHIFT_STEPS;
        if (wait > 0) {
            /* the young notes sound on to their shortest length (< the
             * longest, so the shift takes no note past its limit) */
            put(out, max, &n, TOK_TIME_SHIFT + (int32_t)wait - 1);
            close_group(g, 1, 1, &inst, out, max, &n);
        }
    }
    put(out, max, &n, TOK_END);
    return n;
}

int grammar_route_of(const grammar_state *g, int p)
{
    if (g->vocab == TOK_VOCAB_V2) return -1;
    if (p < 0 || p >= GRAMMAR_N_PITCHES || g->onset[g->instrument][p] >= 0) return -1;
    int best = -1;
    for (int i = 0; i < SCORE_N_INSTRUMENTS; i++)
        if (g->onset[i][p] >= 0 && (best < 0 || g->onset[i][p] > g->onset[best][p])) best = i;
    if (best < 0 || !grammar_allows(g, TOK_INSTRUMENT + best)) return -1;
    /* after the switch the NOTE_OFF is allowed unless force-close mode
     * (no TIME_SHIFT allowed) wants only expired notes and this is not one */
    int64_t age = g->now - g->onset[best][p];
    if (age >= g->max_note_steps[best]) return best;
    return age >= g->min_note_steps[best] && grammar_allows(g, TOK_TIME_SHIFT) ? best : -1;
}

static int64_t close_wait(const grammar_state *g, int i, int p);

int grammar_steal_of(const grammar_state *g, int p)
{
    int i = g->instrument;
    if (g->vocab == TOK_VOCAB_V2) return -1;
    if (p < 0 || p >= GRAMMAR_N_PITCHES || g->max_poly[i] == 0 || g->sounding_on[i] < g->max_poly[i]) return -1;
    if (g->onset[i][p] >= 0 || g->empty_at[i][p] == g->now || !grammar_allows(g, TOK_TIME_SHIFT)) return -1;
    int victim = -1;
    for (int q = 0; q < GRAMMAR_N_PITCHES; q++)
        if (g->onset[i][q] >= 0 && (victim < 0 || g->onset[i][q] < g->onset[i][victim])) victim = q;
    /* with more than max_poly notes sounding (the prefix), one steal is not enough */
    return victim >= 0 && close_wait(g, i, victim) == 0 && g->sounding_on[i] == g->max_poly[i] ? victim : -1;
}

int grammar_restrike_ok(const grammar_state *g, int p)
{
    if (g->vocab == TOK_VOCAB_V2) return 0;
    if (p < 0 || p >= GRAMMAR_N_PITCHES || g->onset[g->instrument][p] < 0 || g->now <= g->onset[g->instrument][p])
        return 0;
    if (!grammar_allows(g, TOK_NOTE_OFF + p)) return 0;
    grammar_state after = *g; /* and the NOTE_ON is allowed after it (not in force-close mode, ...) */
    grammar_feed(&after, TOK_NOTE_OFF + p, 0);
    return grammar_allows(&after, TOK_NOTE_ON + p);
}

double grammar_seconds(const grammar_state *g) { return (double)g->now / TOK_STEPS_PER_SECOND; }

int grammar_count_errors(const int32_t *tokens, int n, int vocab)
{
    grammar_state g;
    grammar_init(&g, 0, 8.0);
    grammar_set_vocab(&g, vocab);
    int i = n > 0 && tokens[0] == TOK_START ? 1 : 0;
    for (; i < n && !g.ended; i++) grammar_feed(&g, tokens[i], 1);
    return g.errors;
}

/* ---- error kinds (built on grammar_allows and the state alone) ---- */

/* v2 kinds of a forbidden, in-vocabulary TOK before END. */
static grammar_error_kind v2_classify(const grammar_state *g, int32_t tok)
{
    int is_dur = tok >= TOK_DURATION && tok < TOK_DURATION + TOK_N_DURATIONS;
    if (g->await_dur) return is_dur ? GRAMMAR_ERR_DURATION : GRAMMAR_ERR_NO_DURATION;
    if (!in_context(g, tok)) return GRAMMAR_ERR_STATE;
    if (is_dur) return GRAMMAR_ERR_DURATION;
    if (tok == TOK_END) return GRAMMAR_ERR_END_EARLY;
    if (tok >= TOK_TIME_SHIFT && tok < TOK_VELOCITY) return GRAMMAR_ERR_GAP;
    if (tok >= TOK_NOTE_ON && tok < TOK_DURATION && g->onset[g->instrument][tok - TOK_NOTE_ON] != g->now)
        return GRAMMAR_ERR_POLY_LIMIT;
    return GRAMMAR_ERR_OTHER;
}

grammar_error_kind grammar_classify(const grammar_state *g, int32_t tok)
{
    if (grammar_allows(g, tok)) return GRAMMAR_OK;
    if (tok < 0 || tok >= TOK_VOCAB_SIZE || tok == TOK_START || tok == TOK_PAD || tok == TOK_UNK)
        return GRAMMAR_ERR_SPECIAL;
    if (g->ended) return GRAMMAR_ERR_OTHER;
    if (g->vocab == TOK_VOCAB_V2) return v2_classify(g, tok);
    int is_off = tok >= TOK_NOTE_OFF && tok < TOK_TIME_SHIFT, is_on = tok >= TOK_NOTE_ON && tok < TOK_NOTE_OFF;
    if (is_off && g->onset[g->instrument][tok - TOK_NOTE_OFF] < 0) {
        for (int i = 0; i < SCORE_N_INSTRUMENTS; i++)
            if (g->onset[i][tok - TOK_NOTE_OFF] >= 0) return GRAMMAR_ERR_OFF_OTHER_INSTRUMENT;
        return GRAMMAR_ERR_OFF_SILENT;
    }
    if (is_on && g->onset[g->instrument][tok - TOK_NOTE_ON] >= 0) return GRAMMAR_ERR_ON_SOUNDING;
    summary s = summarise(g);
    if (s.expired) return tok >= TOK_TIME_SHIFT && tok < TOK_VELOCITY ? GRAMMAR_ERR_SHIFT_PAST_LIMIT : GRAMMAR_ERR_LIMIT_OPEN;
    if (!in_context(g, tok)) return GRAMMAR_ERR_STATE;
    if (is_off) return GRAMMAR_ERR_OFF_TOO_SHORT; /* sounding here, not forced, in context: too young */
    if (tok >= TOK_TIME_SHIFT && tok < TOK_VELOCITY)
        return tok_shift_steps((uint16_t)tok) > s.shift_room ? GRAMMAR_ERR_SHIFT_PAST_LIMIT : GRAMMAR_ERR_GAP;
    if (tok == TOK_END) return GRAMMAR_ERR_END_EARLY;
    if (is_on && !poly_room(g)) return GRAMMAR_ERR_POLY_LIMIT;
    return GRAMMAR_ERR_OTHER;
}

static const char *const error_keys[GRAMMAR_N_KINDS] = {
    "ok", "special", "note_off_other_instrument", "note_off_silent", "note_off_too_short", "note_on_sounding",
    "time_shift_past_limit", "limit_note_open", "end_early", "poly_limit", "state_token", "gap", "no_duration", "duration", "other",
};

static const char *const error_labels[GRAMMAR_N_KINDS] = {
    "allowed",
    "START/PAD/UNK",
    "NOTE_OFF of a note sounding on another instrument",
    "NOTE_OFF of a note sounding nowhere",
    "NOTE_OFF of a note shorter than its family's shortest",
    "NOTE_ON of a sounding note",
    "TIME_SHIFT past the note-length limit",
    "note at the length limit left open",
    "END too early",
    "NOTE_ON past the polyphony limit",
    "VELOCITY/TEMPO/INSTRUMENT out of place",
    "TIME_SHIFT past the longest gap between onsets",
    "NOTE_ON without its DURATION",
    "DURATION out of range or out of place",
    "other",
};

int grammar_kind_applies(grammar_error_kind k, int vocab)
{
    int v1_only = k >= GRAMMAR_ERR_OFF_OTHER_INSTRUMENT && k <= GRAMMAR_ERR_LIMIT_OPEN;
    int v2_only = k == GRAMMAR_ERR_NO_DURATION || k == GRAMMAR_ERR_DURATION;
    return vocab == TOK_VOCAB_V2 ? !v1_only : !v2_only;
}

const char *grammar_error_key(grammar_error_kind k)
{
    return (unsigned)k < GRAMMAR_N_KINDS ? error_keys[k] : "?";
}

const char *grammar_error_label(grammar_error_kind k)
{
    return (unsigned)k < GRAMMAR_N_KINDS ? error_labels[k] : "?";
}
