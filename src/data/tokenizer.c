/* tokenizer: score <-> event tokens (vocabularies 1 and 2, docs/DESIGN.md §5).
 *
 * Encoding. The score is first normalised (a copy; see tok_normalize), then
 * every event time is quantised to the 1/64 s grid (round to nearest) and the
 * differences between consecutive event steps are emitted as TIME_SHIFTs, so
 * rounding never drifts. Within one time step the order is:
 *   1. TEMPO (only if its bin differs from the last emitted one; several
 *      tempo changes inside one step: only the last counts),
 *   2. NOTE_OFFs of notes with a non-zero quantised duration,
 *   3. SUSTAIN_ON/OFF (in score order),
 *   4. NOTE_ONs,
 *   5. NOTE_OFFs of zero-length notes (quantised onset == offset): emitted
 *      after the ONs of their step so decoding gives a zero-length note at
 *      the right time instead of losing it.
 * Inside groups 2, 4 and 5 events are ordered by instrument family, then
 * pitch, which keeps INSTRUMENT switches few. INSTRUMENT i precedes an
 * event only when the family differs from the current one (initially 0,
 * piano); VELOCITY b precedes a NOTE_ON only when the bin differs from the
 * last one emitted (initially none, so the first note always has one).
 *
 * Version 2 writes no NOTE_OFFs: groups 2 and 5 go, and each melodic NOTE_ON
 * is followed by the DURATION bin of its quantised length (offset step -
 * onset step; 0 becomes the 1-step bin 0).
 *
 * Decoding accepts any token string (see tok_decode, tok_decode_vocab). */
#include "data/tokenizer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The vocabulary's instrument families are the score's. */
_Static_assert(TOK_N_FAMILIES == SCORE_N_INSTRUMENTS && TOK_DRUM_FAMILY == SCORE_DRUMS,
               "token instrument families must match the score's");

/* Times beyond this (about 11.6 days) are treated as garbage: such notes are
 * dropped, offsets clamped. Bounds the token count of any score. */
#define TOK_MAX_SECONDS 1.0e6
/* A note left sounding ends this many steps after its onset (8 s). */
#define TOK_HANGING_STEPS (8 * TOK_STEPS_PER_SECOND)
#define TOK_N_PITCHES (TOK_PITCH_MAX - TOK_PITCH_MIN + 1)
#define TOK_TEMPO_MIN 40.0
#define TOK_TEMPO_MAX 240.0
#define TOK_N_BINS 32

/* ---- bins and grid ------------------------------------------------------ */

int tok_velocity_bin(int velocity)
{
    if (velocity < 1) velocity = 1;
    if (velocity > 127) velocity = 127;
    return (velocity - 1) * TOK_N_BINS / 127;
}

int tok_velocity_value(int bin)
{
    if (bin < 0) bin = 0;
    if (bin >= TOK_N_BINS) bin = TOK_N_BINS - 1;
    /* v-1 in [ceil(b*127/32), ceil((b+1)*127/32) - 1]; centre of that range */
    int lo = (bin * 127 + TOK_N_BINS - 1) / TOK_N_BINS + 1;
    int hi = ((bin + 1) * 127 + TOK_N_BINS - 1) / TOK_N_BINS;
    return (lo + hi) / 2;
}

int tok_tempo_bin(double bpm)
{
    if (!(bpm > TOK_TEMPO_MIN)) return 0; /* also NaN */
    if (bpm >= TOK_TEMPO_MAX) return TOK_N_BINS - 1;
    int b = (int)floor(TOK_N_BINS * log(bpm / TOK_TEMPO_MIN) / log(TOK_TEMPO_MAX / TOK_TEMPO_MIN));
    return b < 0 ? 0 : b >= TOK_N_BINS ? TOK_N_BINS - 1 : b;
}

double tok_tempo_bpm(int bin)
{
    if (bin < 0) bin = 0;
    if (bin >= TOK_N_BINS) bin = TOK_N_BINS - 1;
    return TOK_TEMPO_MIN * pow(TOK_TEMPO_MAX / TOK_TEMPO_MIN, (bin + 0.5) / TOK_N_BINS);
}

int64_t tok_quantize(double seconds)
{
    if (!(seconds > 0)) return 0;
    if (seconds > TOK_MAX_SECONDS) seconds = TOK_MAX_SECONDS;
    return (int64_t)llround(seconds * TOK_STEPS_PER_SECOND);
}

int tok_fold_pitch(int pitch)
{
    while (pitch < TOK_PITCH_MIN) pitch += 12;
    while (pitch > TOK_PITCH_MAX) pitch -= 12;
    return pitch;
}

size_t tok_time_shifts(int64_t steps, uint16_t *out, size_t max)
{
    size_t n = 0;
    if (steps <= 0) return 0;
    while (steps > TOK_MAX_SHIFT_STEPS) {
        if (n < max) out[n] = TOK_TIME_SHIFT + TOK_MAX_SHIFT_STEPS - 1;
        n++;
        steps -= TOK_MAX_SHIFT_STEPS;
    }
    if (n < max) out[n] = (uint16_t)(TOK_TIME_SHIFT + steps - 1);
    return n + 1;
}

/* DURATION bins: one step each for 1..TOK_DUR_LINEAR steps, then
 * log-spaced up to TOK_MAX_SHIFT_STEPS (8 s), about 6% apart. */
#define TOK_DUR_LINEAR 48

int tok_duration_steps(int bin)
{
    if (bin < 0) bin = 0;
    if (bin >= TOK_N_DURATIONS) bin = TOK_N_DURATIONS - 1;
    if (bin < TOK_DUR_LINEAR) return bin + 1;
    double r = (double)(bin - (TOK_DUR_LINEAR - 1)) / (TOK_N_DURATIONS - TOK_DUR_LINEAR);
    return (int)lround(TOK_DUR_LINEAR * pow((double)TOK_MAX_SHIFT_STEPS / TOK_DUR_LINEAR, r));
}

int tok_duration_bin(int64_t steps)
{
    if (steps <= 1) return 0;
    if (steps <= TOK_DUR_LINEAR) return (int)steps - 1;
    if (steps >= TOK_MAX_SHIFT_STEPS) return TOK_N_DURATIONS - 1;
    int lo = TOK_DUR_LINEAR - 1, hi = TOK_N_DURATIONS - 1; /* steps(lo) < steps < steps(hi)... */
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (tok_duration_steps(mid) <= steps) lo = mid;
        else hi = mid;
    }
    /* nearest in ratio between the two neighbours */
    double a = (double)steps / tok_duration_steps(lo), b = tok_duration_steps(hi) / (double)steps;
    return a <= b ? lo : hi;
}

const char *tok_vocab_name(int vocab) { return vocab == TOK_VOCAB_V2 ? "v2" : vocab == TOK_VOCAB_V1 ? "v1" : "?"; }

int tok_vocab_parse(const char *name)
{
    if (!name) return -1;
    if (!strcmp(name, "v1") || !strcmp(name, "1")) return TOK_VOCAB_V1;
    if (!strcmp(name, "v2") || !strcmp(name, "2")) return TOK_VOCAB_V2;
    return -1;
}

/* ---- normalisation ------------------------------------------------------ */

/* Clamp a time into [0, TOK_MAX_SECONDS]; 0 if it is not finite. */
static int sane_time(double t, double *out)
{
    if (!isfinite(t)) return 0;
    *out = t < 0 ? 0 : t > TOK_MAX_SECONDS ? TOK_MAX_SECONDS : t;
    return 1;
}

/* Order used to resolve overlaps: (instrument, pitch, onset, offset, velocity). */
static int cmp_key_onset(const void *a, const void *b)
{
    const score_note *x = a, *y = b;
    if (x->instrument != y->instrument) return x->instrument - y->instrument;
    if (x->pitch != y->pitch) return x->pitch - y->pitch;
    if (x->onset != y->onset) return x->onset < y->onset ? -1 : 1;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    return x->velocity - y->velocity;
}

/* Rules beyond the header's summary: notes with non-finite times, onsets
 * beyond TOK_MAX_SECONDS or instrument >= 16 are dropped; negative times
 * become 0; offset < onset becomes offset = onset; velocity is clamped to
 * 1..127. Two notes of the same (instrument, pitch) whose onsets fall on the
 * same 1/64 s step are merged into one (first velocity, later offset): the
 * grid cannot tell them apart. Sustains/tempos with bad values are dropped. */
int tok_normalize(score *s)
{
    int dropped = 0;
    size_t k = 0;
    for (size_t i = 0; i < s->n_notes; i++) {
        score_note n = s->notes[i];
        double on, off;
        if (!sane_time(n.onset, &on) || !isfinite(n.offset) || n.onset > TOK_MAX_SECONDS ||
            n.instrument >= SCORE_N_INSTRUMENTS) {
            dropped++;
            continue;
        }
        sane_time(n.offset, &off);
        n.onset = on;
        n.offset = off < on ? on : off;
        if (n.velocity < 1) n.velocity = 1;
        if (n.velocity > 127) n.velocity = 127;
        if (n.instrument == SCORE_DRUMS) {
            if (n.pitch < TOK_PITCH_MIN || n.pitch > TOK_PITCH_MAX) {
                dropped++;
                continue;
            }
        } else {
            n.pitch = (uint8_t)tok_fold_pitch(n.pitch);
        }
        s->notes[k++] = n;
    }
    s->n_notes = k;

    if (k > 1) qsort(s->notes, k, sizeof *s->notes, cmp_key_onset);
    size_t out = 0;
    for (size_t i = 0; i < k; i++) {
        score_note n = s->notes[i];
        score_note *prev = out ? &s->notes[out - 1] : NULL;
        if (prev && prev->instrument == n.instrument && prev->pitch == n.pitch) {
            if (tok_quantize(prev->onset) == tok_quantize(n.onset)) {
                if (n.offset > prev->offset) prev->offset = n.offset;
                dropped++;
                continue;
            }
            if (n.onset < prev->offset) prev->offset = n.onset; /* re-strike */
        }
        s->notes[out++] = n;
    }
    s->n_notes = out;

    k = 0;
    for (size_t i = 0; i < s->n_sustains; i++) {
        score_sustain e = s->sustains[i];
        if (!sane_time(e.time, &e.time) || e.instrument >= SCORE_N_INSTRUMENTS) continue;
        e.down = e.down ? 1 : 0;
        s->sustains[k++] = e;
    }
    s->n_sustains = k;
    k = 0;
    for (size_t i = 0; i < s->n_tempos; i++) {
        score_tempo t = s->tempos[i];
        if (!sane_time(t.time, &t.time) || !isfinite(t.bpm) || t.bpm <= 0) continue;
        s->tempos[k++] = t;
    }
    s->n_tempos = k;
    score_sort(s);
    return dropped;
}

/* ---- encoding ----------------------------------------------------------- */

enum { EV_TEMPO, EV_OFF, EV_SUSTAIN, EV_ON, EV_ZERO_OFF };

typedef struct {
    int64_t step;
    uint32_t seq;  /* index in its score array: keeps score order among equals */
    uint8_t kind;
    uint8_t instrument;
    uint8_t pitch;
    uint8_t value; /* velocity (ON), down (SUSTAIN), tempo bin (TEMPO) */
    int64_t dur;   /* ON: quantised length in steps */
} enc_event;

static int cmp_event(const void *a, const void *b)
{
    const enc_event *x = a, *y = b;
    if (x->step != y->step) return x->step < y->step ? -1 : 1;
    if (x->kind != y->kind) return x->kind - y->kind;
    if (x->kind != EV_TEMPO && x->kind != EV_SUSTAIN) {
        if (x->instrument != y->instrument) return x->instrument - y->instrument;
        if (x->pitch != y->pitch) return x->pitch - y->pitch;
    }
    return (x->seq > y->seq) - (x->seq < y->seq);
}

typedef struct {
    uint16_t *t;
    size_t n, cap;
    int oom;
} tok_buf;

static void buf_reserve(tok_buf *b, size_t more)
{
    if (b->oom || b->n + more <= b->cap) return;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < b->n + more) ncap *= 2;
    uint16_t *p = realloc(b->t, ncap * sizeof *p);
    if (!p) {
        b->oom = 1;
        return;
    }
    b->t = p;
    b->cap = ncap;
}

static void buf_put(tok_buf *b, uint16_t tok)
{
    buf_reserve(b, 1);
    if (!b->oom) b->t[b->n++] = tok;
}

static void buf_shift(tok_buf *b, int64_t steps)
{
    size_t need = tok_time_shifts(steps, NULL, 0);
    if (!need) return;
    buf_reserve(b, need);
    if (!b->oom) b->n += tok_time_shifts(steps, b->t + b->n, need);
}

/* Build the sorted event list of a normalised score (v2: no NOTE_OFFs). */
static enc_event *collect_events(const score *s, int vocab, size_t *n_out)
{
    size_t n = 2 * s->n_notes + s->n_sustains + s->n_tempos, k = 0;
    enc_event *ev = malloc((n ? n : 1) * sizeof *ev);
    if (!ev) return NULL;
    for (size_t i = 0; i < s->n_notes; i++) {
        const score_note *nt = &s->notes[i];
        int64_t on = tok_quantize(nt->onset), off = tok_quantize(nt->offset);
        ev[k++] = (enc_event){on, (uint32_t)i, EV_ON, nt->instrument, nt->pitch, nt->velocity, off - on};
        if (vocab == TOK_VOCAB_V2) continue;
        ev[k++] = (enc_event){off, (uint32_t)i, off > on ? EV_OFF : EV_ZERO_OFF, nt->instrument,
                              nt->pitch, 0, 0};
    }
    for (size_t i = 0; i < s->n_sustains; i++) {
        const score_sustain *e = &s->sustains[i];
        ev[k++] = (enc_event){tok_quantize(e->time), (uint32_t)i, EV_SUSTAIN, e->instrument, 0, e->down, 0};
    }
    for (size_t i = 0; i < s->n_tempos; i++) {
        const score_tempo *t = &s->tempos[i];
        ev[k++] = (enc_event){tok_quantize(t->time), (uint32_t)i, EV_TEMPO, 0, 0,
                              (uint8_t)tok_tempo_bin(t->bpm), 0};
    }
    qsort(ev, k, sizeof *ev, cmp_event);
    *n_out = k;
    return ev;
}

int tok_encode(const score *s, uint16_t **tokens, size_t *n_tokens)
{
    return tok_encode_vocab(s, TOK_VOCAB_V1, tokens, n_tokens);
}

int tok_encode_vocab(const score *s, int vocab, uint16_t **tokens, size_t *n_tokens)
{
    *tokens = NULL;
    *n_tokens = 0;
    score c;
    score_init(&c);
    int oom = 0;
    for (size_t i = 0; i < s->n_notes && !oom; i++) oom = score_add_note(&c, s->notes[i]);
    for (size_t i = 0; i < s->n_sustains && !oom; i++) oom = score_add_sustain(&c, s->sustains[i]);
    for (size_t i = 0; i < s->n_tempos && !oom; i++) oom = score_add_tempo(&c, s->tempos[i]);
    if (oom) {
        score_free(&c);
        return -1;
    }
    tok_normalize(&c);
    size_t n_ev;
    enc_event *ev = collect_events(&c, vocab, &n_ev);
    score_free(&c);
    if (!ev) return -1;

    tok_buf b = {0};
    buf_reserve(&b, 2 + 2 * n_ev);
    buf_put(&b, TOK_START);
    int64_t now = 0;
    int instrument = 0, vel_bin = -1, tempo_bin = -1;
    for (size_t i = 0; i < n_ev && !b.oom; i++) {
        const enc_event *e = &ev[i];
        if (e->kind == EV_TEMPO) {
            /* only the last tempo change of a step counts */
            if (i + 1 < n_ev && ev[i + 1].kind == EV_TEMPO && ev[i + 1].step == e->step) continue;
            if (e->value == tempo_bin) continue;
        }
        buf_shift(&b, e->step - now);
        now = e->step;
        if (e->kind == EV_TEMPO) {
            tempo_bin = e->value;
            buf_put(&b, (uint16_t)(TOK_TEMPO + tempo_bin));
            continue;
        }
        if (e->instrument != instrument) {
            instrument = e->instrument;
            buf_put(&b, (uint16_t)(TOK_INSTRUMENT + instrument));
        }
        switch (e->kind) {
        case EV_SUSTAIN:
            buf_put(&b, e->value ? TOK_SUSTAIN_ON : TOK_SUSTAIN_OFF);
            break;
        case EV_ON: {
            int vb = tok_velocity_bin(e->value);
            if (vb != vel_bin) {
                vel_bin = vb;
                buf_put(&b, (uint16_t)(TOK_VELOCITY + vb));
            }
            buf_put(&b, (uint16_t)(TOK_NOTE_ON + e->pitch - TOK_PITCH_MIN));
            if (vocab == TOK_VOCAB_V2 && e->instrument != SCORE_DRUMS)
                buf_put(&b, (uint16_t)(TOK_DURATION + tok_duration_bin(e->dur)));
            break;
        }
        default: /* EV_OFF, EV_ZERO_OFF */
            buf_put(&b, (uint16_t)(TOK_NOTE_OFF + e->pitch - TOK_PITCH_MIN));
            break;
        }
    }
    buf_put(&b, TOK_END);
    free(ev);
    if (b.oom) {
        free(b.t);
        return -1;
    }
    *tokens = b.t;
    *n_tokens = b.n;
    return 0;
}

/* ---- decoding ----------------------------------------------------------- */

typedef struct {
    int64_t onset; /* step; -1 = silent */
    uint8_t velocity;
} sounding_note;

/* End the sounding note (instrument, pitch index) at step END. */
static int close_note(score *out, sounding_note *sn, int instrument, int pi, int64_t end)
{
    if (sn->onset < 0) return 0;
    score_note n = {
        .onset = (double)sn->onset / TOK_STEPS_PER_SECOND,
        .offset = (double)end / TOK_STEPS_PER_SECOND,
        .pitch = (uint8_t)(pi + TOK_PITCH_MIN),
        .velocity = sn->velocity,
        .instrument = (uint8_t)instrument,
    };
    sn->onset = -1;
    return score_add_note(out, n);
}

/* Any string is accepted: START (anywhere), PAD, UNK and ids >= 774 are
 * ignored; tokens after the first END are ignored; NOTE_OFF of a silent
 * note is ignored; NOTE_ON of a sounding note ends it and starts a new one;
 * velocity before any VELOCITY token is the centre of the bin of v=64;
 * notes still sounding at END (or the end of the string) end there, but at
 * most 8 s after their onset. OUT is initialised here (any previous content
 * is not freed). */
int tok_decode(const uint16_t *tokens, size_t n_tokens, score *out)
{
    score_init(out);
    sounding_note snd[SCORE_N_INSTRUMENTS][TOK_N_PITCHES];
    for (int i = 0; i < SCORE_N_INSTRUMENTS; i++)
        for (int p = 0; p < TOK_N_PITCHES; p++) snd[i][p].onset = -1;
    int64_t now = 0;
    int instrument = 0, err = 0;
    int velocity = tok_velocity_value(tok_velocity_bin(64));
    for (size_t i = 0; i < n_tokens && !err; i++) {
        uint16_t t = tokens[i];
        if (t == TOK_END) break;
        if (t >= TOK_VOCAB_SIZE || t < TOK_NOTE_ON) continue;
        if (t < TOK_NOTE_OFF) {
            sounding_note *sn = &snd[instrument][t - TOK_NOTE_ON];
            err = close_note(out, sn, instrument, t - TOK_NOTE_ON, now);
            sn->onset = now;
            sn->velocity = (uint8_t)velocity;
        } else if (t < TOK_TIME_SHIFT) {
            err = close_note(out, &snd[instrument][t - TOK_NOTE_OFF], instrument, t - TOK_NOTE_OFF, now);
        } else if (t < TOK_VELOCITY) {
            now += tok_shift_steps(t);
        } else if (t < TOK_SUSTAIN_ON) {
            velocity = tok_velocity_value(t - TOK_VELOCITY);
        } else if (t < TOK_TEMPO) {
            score_sustain e = {(double)now / TOK_STEPS_PER_SECOND, (uint8_t)instrument,
                               t == TOK_SUSTAIN_ON};
            err = score_add_sustain(out, e);
        } else if (t < TOK_INSTRUMENT) {
            score_tempo e = {(double)now / TOK_STEPS_PER_SECOND, tok_tempo_bpm(t - TOK_TEMPO)};
            err = score_add_tempo(out, e);
        } else {
            instrument = t - TOK_INSTRUMENT;
        }
    }
    for (int i = 0; i < SCORE_N_INSTRUMENTS && !err; i++)
        for (int p = 0; p < TOK_N_PITCHES && !err; p++) {
            int64_t on = snd[i][p].onset;
            if (on < 0) continue;
            int64_t end = now < on + TOK_HANGING_STEPS ? now : on + TOK_HANGING_STEPS;
            err = close_note(out, &snd[i][p], i, p, end);
        }
    if (err) {
        score_free(out);
        return -1;
    }
    score_sort(out);
    return 0;
}

/* Vocabulary 2 (see tok_decode_vocab). key_note[i][p] is the index in OUT
 * of the last note of key (i, p), -1 none; pending the index of a melodic
 * note whose DURATION may come next, -1 none. */
static int decode_v2(const uint16_t *tokens, size_t n_tokens, score *out)
{
    int32_t key_note[SCORE_N_INSTRUMENTS][TOK_N_PITCHES];
    for (int i = 0; i < SCORE_N_INSTRUMENTS; i++)
        for (int p = 0; p < TOK_N_PITCHES; p++) key_note[i][p] = -1;
    int64_t now = 0;
    int instrument = 0, err = 0;
    long pending = -1;
    int velocity = tok_velocity_value(tok_velocity_bin(64));
    for (size_t i = 0; i < n_tokens && !err; i++) {
        uint16_t t = tokens[i];
        if (t == TOK_END) break;
        tok_type ty = tok_type_of_vocab(t, TOK_VOCAB_V2);
        if (ty == TOKT_DURATION && pending >= 0) {
            score_note *n = &out->notes[pending];
            n->offset = n->onset + (double)tok_duration_steps(t - TOK_DURATION) / TOK_STEPS_PER_SECOND;
        }
        pending = -1;
        if (ty == TOKT_NOTE_ON) {
            int p = t - TOK_NOTE_ON;
            double at = (double)now / TOK_STEPS_PER_SECOND;
            int32_t prev = key_note[instrument][p];
            if (prev >= 0 && out->notes[prev].offset > at) out->notes[prev].offset = at; /* re-strike */
            score_note n = {.onset = at, .offset = at + (double)TOK_DRUM_STEPS / TOK_STEPS_PER_SECOND,
                            .pitch = (uint8_t)(p + TOK_PITCH_MIN), .velocity = (uint8_t)velocity,
                            .instrument = (uint8_t)instrument};
            if (out->n_notes >= INT32_MAX || (err = score_add_note(out, n)) != 0) break;
            key_note[instrument][p] = (int32_t)(out->n_notes - 1);
            if (instrument != SCORE_DRUMS) pending = (long)out->n_notes - 1;
        } else if (ty == TOKT_TIME_SHIFT) {
            now += tok_shift_steps(t);
        } else if (ty == TOKT_VELOCITY) {
            velocity = tok_velocity_value(t - TOK_VELOCITY);
        } else if (ty == TOKT_SUSTAIN) {
            score_sustain e = {(double)now / TOK_STEPS_PER_SECOND, (uint8_t)instrument, t == TOK_SUSTAIN_ON};
            err = score_add_sustain(out, e);
        } else if (ty == TOKT_TEMPO) {
            score_tempo e = {(double)now / TOK_STEPS_PER_SECOND, tok_tempo_bpm(t - TOK_TEMPO)};
            err = score_add_tempo(out, e);
        } else if (ty == TOKT_INSTRUMENT) {
            instrument = t - TOK_INSTRUMENT;
        }
    }
    return err ? -1 : 0;
}

int tok_decode_vocab(const uint16_t *tokens, size_t n_tokens, int vocab, score *out)
{
    if (vocab != TOK_VOCAB_V2) return tok_decode(tokens, n_tokens, out);
    score_init(out);
    if (decode_v2(tokens, n_tokens, out) != 0) {
        score_free(out);
        return -1;
    }
    score_sort(out);
    return 0;
}

int tok_transcode(const uint16_t *in, size_t n, int vocab, uint16_t **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    score s;
    if (tok_decode(in, n, &s) != 0) return -1;
    int rc = tok_encode_vocab(&s, vocab, out, n_out);
    score_free(&s);
    return rc;
}

/* ---- names -------------------------------------------------------------- */

tok_type tok_type_of(uint16_t id)
{
    if (id < TOK_NOTE_ON || id >= TOK_VOCAB_SIZE) return TOKT_SPECIAL;
    if (id < TOK_NOTE_OFF) return TOKT_NOTE_ON;
    if (id < TOK_TIME_SHIFT) return TOKT_NOTE_OFF;
    if (id < TOK_VELOCITY) return TOKT_TIME_SHIFT;
    if (id < TOK_SUSTAIN_ON) return TOKT_VELOCITY;
    if (id < TOK_TEMPO) return TOKT_SUSTAIN;
    if (id < TOK_INSTRUMENT) return TOKT_TEMPO;
    return TOKT_INSTRUMENT;
}

tok_type tok_type_of_vocab(uint16_t id, int vocab)
{
    tok_type t = tok_type_of(id);
    return vocab == TOK_VOCAB_V2 && t == TOKT_NOTE_OFF ? TOKT_DURATION : t;
}

const char *tok_type_name(tok_type t)
{
    static const char *const names[TOKT_COUNT] = {
        "SPECIAL", "NOTE_ON", "NOTE_OFF", "TIME_SHIFT", "VELOCITY", "SUSTAIN", "TEMPO", "INSTRUMENT", "DURATION",
    };
    return (unsigned)t < TOKT_COUNT ? names[t] : "?";
}

static const char *const family_names[SCORE_N_INSTRUMENTS] = {
    "piano", "chromatic percussion", "organ", "guitar", "bass", "strings", "ensemble", "brass",
    "reed", "pipe", "synth lead", "synth pad", "synth effects", "ethnic", "percussive", "drums",
};

/* Pitch name with octave, C4 = 60. */
static void pitch_name(int pitch, char *buf, size_t len)
{
    static const char *const names[12] = {"C", "C#", "D", "D#", "E", "F",
                                          "F#", "G", "G#", "A", "A#", "B"};
    snprintf(buf, len, "%s%d", names[pitch % 12], pitch / 12 - 1);
}

/* TIME_SHIFT names show the number of steps it advances (k+1) and the time,
 * e.g. id 182 -> "TIME_SHIFT 3 (46.9 ms)". */
void tok_name(uint16_t id, char *buf, size_t len) { tok_name_vocab(id, TOK_VOCAB_V1, buf, len); }

void tok_name_vocab(uint16_t id, int vocab, char *buf, size_t len)
{
    if (!buf || !len) return;
    char p[8];
    switch (tok_type_of_vocab(id, vocab)) {
    case TOKT_DURATION: {
        int steps = tok_duration_steps(id - TOK_DURATION);
        snprintf(buf, len, "DURATION %d (%.3f s)", id - TOK_DURATION, (double)steps / TOK_STEPS_PER_SECOND);
        break;
    }
    case TOKT_SPECIAL: {
        static const char *const sp[4] = {"START", "END", "PAD", "UNK"};
        if (id < 4) snprintf(buf, len, "%s", sp[id]);
        else snprintf(buf, len, "UNK (id %u)", (unsigned)id);
        break;
    }
    case TOKT_NOTE_ON:
        pitch_name(id - TOK_NOTE_ON + TOK_PITCH_MIN, p, sizeof p);
        snprintf(buf, len, "NOTE_ON %s", p);
        break;
    case TOKT_NOTE_OFF:
        pitch_name(id - TOK_NOTE_OFF + TOK_PITCH_MIN, p, sizeof p);
        snprintf(buf, len, "NOTE_OFF %s", p);
        break;
    case TOKT_TIME_SHIFT: {
        int steps = tok_shift_steps(id);
        snprintf(buf, len, "TIME_SHIFT %d (%.1f ms)", steps, steps * 1000.0 / TOK_STEPS_PER_SECOND);
        break;
    }
    case TOKT_VELOCITY:
        snprintf(buf, len, "VELOCITY %d (v=%d)", id - TOK_VELOCITY, tok_velocity_value(id - TOK_VELOCITY));
        break;
    case TOKT_SUSTAIN:
        snprintf(buf, len, "%s", id == TOK_SUSTAIN_ON ? "SUSTAIN_ON" : "SUSTAIN_OFF");
        break;
    case TOKT_TEMPO:
        snprintf(buf, len, "TEMPO %d (%.1f BPM)", id - TOK_TEMPO, tok_tempo_bpm(id - TOK_TEMPO));
        break;
    default:
        snprintf(buf, len, "INSTRUMENT %d (%s)", id - TOK_INSTRUMENT, family_names[id - TOK_INSTRUMENT]);
        break;
    }
}

const char *tok_family_name(int family)
{
    return family >= 0 && family < SCORE_N_INSTRUMENTS ? family_names[family] : "?";
}
