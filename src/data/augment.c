/* augment: per-window data augmentation on token windows (docs/DESIGN.md §7).
 *
 * Randomness: one splitmix64 stream seeded from (seed, epoch, window index)
 * only. Parameters are drawn in a fixed order whether or not an operation
 * fires, so each operation's draw does not depend on the others' settings.
 *
 * If no operation fires the window is copied verbatim. Otherwise the window
 * is parsed into timed events and re-emitted in the tokenizer's canonical
 * form (so a canonical window with "do nothing" parameters comes back
 * unchanged):
 *  - the window is split at START tokens (a new piece: time restarts at 0,
 *    instrument piano); tokens after an END up to the next START are copied
 *    verbatim;
 *  - time 0 is the window (or piece) start; times are in 1/64 s steps;
 *  - INSTRUMENT and VELOCITY tokens become state attached to the events
 *    after them and are re-emitted only where the state changes (a trailing
 *    state change with no event after it is emitted at the end). Notes before
 *    the window's first VELOCITY token have an unknown velocity: velocity
 *    scaling cannot reach them;
 *  - at equal times: TEMPO, NOTE_OFF, SUSTAIN, NOTE_ON, zero-length NOTE_OFF,
 *    anything else (PAD/UNK), as tok_encode orders them.
 *
 * Operations (each with its own probability):
 *  - transpose: one shift in +-transpose_max (never 0) for every melodic
 *    NOTE_ON/NOTE_OFF, folded into 21..108 by octaves; drums untouched. The
 *    map depends on the pitch only, so every OFF matches its ON;
 *  - time stretch: absolute times multiplied by a factor, then re-quantised
 *    (no drift); TEMPO tokens become the bin of bpm / factor;
 *  - velocity scale: each VELOCITY token's bin centre times a factor,
 *    rounded, clamped to 1..127, re-binned;
 *  - instrument substitution: a random non-identity permutation inside each
 *    group of interchangeable families, the same for the whole window:
 *    {piano, chromatic percussion, organ}, {strings, ensemble},
 *    {brass, reed, pipe}, {synth lead, synth pad}; guitar, bass, synth
 *    effects, ethnic, percussive and drums are never changed. The family in
 *    effect at the window start is mapped too (an INSTRUMENT token is
 *    inserted before the first event that needs it);
 *  - rhythm: swing, then humanise. Swing warps time piecewise-linearly on an
 *    eighth-note grid starting at the window start (120 BPM, or the tempo of
 *    the TEMPO token current in the window): on-beat eighths stay, off-beat
 *    eighths move later by s * eighth (s drawn in 0..swing_max), everything
 *    between is interpolated, so order is kept. Humanise then moves every
 *    NOTE_ON by a uniform jitter in +-humanize_ms, clamped between the
 *    previous event of the same (instrument, pitch) (or the window start)
 *    and the note's NOTE_OFF (or the next event of that key, or the window
 *    end): durations stay >= 0 and notes of one key never cross.
 * After rounding, a zero-length note whose key is struck again in the same
 * step (only possible after compression or jitter) has its NOTE_OFF placed
 * right after its own NOTE_ON, before the new strike, so no note is lost.
 *
 * Vocabulary v2 (augment_window_vocab): a DURATION right after a melodic
 * NOTE_ON belongs to that note and is re-emitted right after it; time
 * stretch scales it (re-binned), swing and humanise leave it as it is; a
 * DURATION with no NOTE_ON before it in the window (the window starts
 * between the two) is dropped when the window is augmented. */
#include "data/augment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/score.h"
#include "data/tokenizer.h"
#include "util/rng.h"

#define AUG_N_PITCHES (TOK_PITCH_MAX - TOK_PITCH_MIN + 1)
#define AUG_N_KEYS (SCORE_N_INSTRUMENTS * AUG_N_PITCHES)
#define AUG_DEFAULT_BPM 120.0

void augment_config_none(augment_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->stretch_min = cfg->stretch_max = 1.0f;
    cfg->velocity_min = cfg->velocity_max = 1.0f;
}

/* ---- randomness and parameters ------------------------------------------ */

/* Uniform in [0, 1). */
static double unit(uint64_t *s) { return (double)(rng_splitmix64(s) >> 11) * 0x1.0p-53; }

/* Uniform in [lo, hi] (order-insensitive); DEF if either bound is not finite. */
static double uniform(uint64_t *s, double lo, double hi, double def)
{
    double u = unit(s);
    if (!isfinite(lo) || !isfinite(hi)) return def;
    return lo + u * (hi - lo);
}

/* Groups of families that may stand in for each other. */
static const uint8_t aug_groups[][3] = {{0, 1, 2}, {5, 6}, {7, 8, 9}, {10, 11}};
static const int aug_group_size[] = {3, 2, 3, 2};
#define AUG_N_GROUPS (int)(sizeof aug_group_size / sizeof aug_group_size[0])

typedef struct {
    int active;            /* any operation fired */
    int transpose;         /* semitones, 0 = off */
    int stretch_on;
    double stretch;
    int velocity_on;
    double velocity;
    int instrument_on;
    int inst_map[SCORE_N_INSTRUMENTS];
    int rhythm_on;
    double swing;          /* fraction of an eighth, 0..0.95 */
    double jitter_steps;   /* humanise amplitude in steps */
    uint64_t rng;          /* continues for per-note jitter */
} aug_params;

static int fires(uint64_t *s, float p) { return unit(s) < (double)p; }

static void draw_params(const augment_config *cfg, uint64_t seed, uint64_t epoch, uint64_t index,
                        aug_params *pr)
{
    memset(pr, 0, sizeof *pr);
    uint64_t st = seed;
    st = rng_splitmix64(&st) ^ (epoch * 0xD1B54A32D192ED03ull);
    st = rng_splitmix64(&st) ^ (index * 0x8CB92BA72F3D8DD7ull);
    rng_splitmix64(&st);

    int f = fires(&st, cfg->transpose_p);
    int tmax = cfg->transpose_max < 0 ? 0 : cfg->transpose_max > 127 ? 127 : cfg->transpose_max;
    int k = (int)(unit(&st) * 2 * tmax); /* 0 .. 2*tmax-1 -> -tmax..-1, 1..tmax */
    if (f && tmax > 0) pr->transpose = k < tmax ? k - tmax : k - tmax + 1;

    f = fires(&st, cfg->stretch_p);
    double x = uniform(&st, cfg->stretch_min, cfg->stretch_max, 1.0);
    if (f) {
        pr->stretch_on = 1;
        pr->stretch = x < 0.25 ? 0.25 : x > 4.0 ? 4.0 : x;
    }

    f = fires(&st, cfg->velocity_p);
    x = uniform(&st, cfg->velocity_min, cfg->velocity_max, 1.0);
    if (f) {
        pr->velocity_on = 1;
        pr->velocity = x < 0 ? 0 : x > 16 ? 16 : x;
    }

    f = fires(&st, cfg->instrument_p);
    for (int i = 0; i < SCORE_N_INSTRUMENTS; i++) pr->inst_map[i] = i;
    for (int g = 0; g < AUG_N_GROUPS; g++) {
        int n = aug_group_size[g], fact = n == 3 ? 6 : 2;
        int r = 1 + (int)(unit(&st) * (fact - 1)); /* non-identity permutation */
        if (!f) continue;
        int avail[3] = {0, 1, 2}, left = n;
        for (int i = 0, div = fact / n; i < n; i++) {
            int pick = r / div;
            r %= div;
            if (left > 1) div /= left - 1;
            pr->inst_map[aug_groups[g][i]] = aug_groups[g][avail[pick]];
            for (int j = pick; j + 1 < left; j++) avail[j] = avail[j + 1];
            left--;
        }
    }
    pr->instrument_on = f;

    f = fires(&st, cfg->rhythm_p);
    double sw = uniform(&st, 0, cfg->swing_max, 0);
    if (f) {
        pr->rhythm_on = 1;
        pr->swing = sw < 0 ? 0 : sw > 0.95 ? 0.95 : sw;
        double h = isfinite(cfg->humanize_ms) && cfg->humanize_ms > 0 ? cfg->humanize_ms : 0;
        if (h > 1000) h = 1000;
        pr->jitter_steps = h * TOK_STEPS_PER_SECOND / 1000.0;
    }
    pr->active = pr->transpose || pr->stretch_on || pr->velocity_on || pr->instrument_on || pr->rhythm_on;
    pr->rng = st;
}

/* ---- events ------------------------------------------------------------- */

enum { CL_TEMPO, CL_OFF, CL_SUSTAIN, CL_ON, CL_ZERO_OFF, CL_OTHER };

typedef struct {
    double t;        /* time in steps, transformed */
    int64_t step;    /* final grid step */
    int32_t prev;    /* previous / next event of the same key (notes), -1 none */
    int32_t next;
    int32_t idx;     /* position in the window: order among equals */
    uint16_t tok;    /* output token (pitch transposed, tempo re-binned, ...) */
    uint8_t cls;
    uint8_t inst;    /* (mapped) family in effect */
    uint8_t pitch;   /* notes: output pitch */
    int8_t vel;      /* NOTE_ON: velocity bin, -1 unknown */
    double dur;      /* v2 NOTE_ON: its DURATION in steps, transformed; -1 none */
} aug_event;

typedef struct {
    double t0;       /* start, in original steps */
    double x0;       /* start, in eighth notes */
    double rate;     /* eighths per step */
} tempo_seg;

typedef struct {
    uint16_t *out;
    size_t n, cap;
} writer;

static void put(writer *w, uint16_t tok)
{
    if (w->n < w->cap) w->out[w->n] = tok;
    w->n++;
}

static void put_shift(writer *w, int64_t steps)
{
    size_t room = w->n < w->cap ? w->cap - w->n : 0;
    w->n += tok_time_shifts(steps, room ? w->out + w->n : NULL, room);
}

static double eighths_per_step(double bpm) { return bpm * 2.0 / 60.0 / TOK_STEPS_PER_SECOND; }

/* Swing warp of time T (original steps) through the tempo segments. Calls
 * must come with non-decreasing T: CUR[0..1] are segment cursors that only
 * move forward (start them at 0), so a window costs O(events + segments). */
static double swing_time(double t, const tempo_seg *seg, int n_seg, double s, int cur[2])
{
    int k = cur[0];
    while (k + 1 < n_seg && seg[k + 1].t0 <= t) k++;
    cur[0] = k;
    double x = seg[k].x0 + (t - seg[k].t0) * seg[k].rate;
    double pair = floor(x / 2), ph = x - 2 * pair;
    double ph2 = ph < 1 ? ph * (1 + s) : (1 + s) + (ph - 1) * (1 - s);
    double x2 = 2 * pair + ph2;
    k = cur[1];
    while (k + 1 < n_seg && seg[k + 1].x0 <= x2) k++;
    cur[1] = k;
    return seg[k].t0 + (x2 - seg[k].x0) / seg[k].rate;
}

static int cmp_event(const void *a, const void *b)
{
    const aug_event *x = a, *y = b;
    if (x->step != y->step) return x->step < y->step ? -1 : 1;
    if (x->cls != y->cls) return x->cls - y->cls;
    if (x->cls == CL_OFF || x->cls == CL_ON || x->cls == CL_ZERO_OFF) {
        if (x->inst != y->inst) return x->inst - y->inst;
        if (x->pitch != y->pitch) return x->pitch - y->pitch;
    }
    return x->idx - y->idx;
}

/* Sort events: insertion sort for window-sized lists (they are nearly in
 * order: only jitter and same-step reordering move them), qsort beyond. */
static void sort_events(aug_event *ev, int n)
{
    if (n > 1024) {
        qsort(ev, (size_t)n, sizeof *ev, cmp_event);
        return;
    }
    for (int i = 1; i < n; i++) {
        if (cmp_event(&ev[i - 1], &ev[i]) <= 0) continue;
        aug_event x = ev[i];
        int j = i;
        while (j > 0 && cmp_event(&ev[j - 1], &x) > 0) {
            ev[j] = ev[j - 1];
            j--;
        }
        ev[j] = x;
    }
}

/* Scratch memory for one window, sized for its token count: one
 * allocation holding this header, then ev[n_in] and seg[n_in + 1]. */
typedef struct {
    aug_event *ev;
    tempo_seg *seg;
    int32_t last[AUG_N_KEYS];
} scratch;

/* The scratch for a window of N tokens; NULL when out of memory. */
static scratch *scratch_new(size_t n)
{
    scratch *sc = malloc(sizeof *sc + n * sizeof(aug_event) + (n + 1) * sizeof(tempo_seg));
    if (!sc) return NULL;
    sc->ev = (aug_event *)(sc + 1);
    sc->seg = (tempo_seg *)(sc->ev + n);
    return sc;
}

/* Augment the piece segment in[0..n) (no START inside, except possibly at
 * in[0]) into W. Returns the number of input tokens consumed (up to and
 * including an END and the verbatim tail after it). */
static size_t augment_segment(const uint16_t *in, size_t n, int inst0, aug_params *pr, scratch *sc,
                              writer *w, int vocab)
{
    size_t i = 0;
    if (n && in[0] == TOK_START) {
        put(w, TOK_START);
        i = 1;
    }
    aug_event *ev = sc->ev;
    tempo_seg *seg = sc->seg;
    int n_ev = 0, n_seg = 1;
    seg[0] = (tempo_seg){0, 0, eighths_per_step(AUG_DEFAULT_BPM)};
    for (int k = 0; k < AUG_N_KEYS; k++) sc->last[k] = -1;

    int64_t now = 0;
    int inst = pr->inst_map[inst0], vel = -1, has_end = 0;
    for (; i < n; i++) {
        uint16_t t = in[i];
        if (t == TOK_START) break;
        if (t == TOK_END) {
            has_end = 1;
            i++;
            break;
        }
        tok_type ty = tok_type_of_vocab(t, vocab);
        if (ty == TOKT_TIME_SHIFT) {
            now += tok_shift_steps(t);
            continue;
        }
        if (ty == TOKT_DURATION) { /* v2: belongs to the NOTE_ON just before it, if any */
            aug_event *on = n_ev ? &ev[n_ev - 1] : NULL;
            if (on && on->cls == CL_ON && on->idx == (int32_t)i - 1 && on->inst != SCORE_DRUMS)
                on->dur = tok_duration_steps(t - TOK_DURATION);
            continue;
        }
        if (ty == TOKT_INSTRUMENT) {
            inst = pr->inst_map[t - TOK_INSTRUMENT];
            continue;
        }
        if (ty == TOKT_VELOCITY) {
            vel = t - TOK_VELOCITY;
            if (pr->velocity_on) {
                long v = lround(tok_velocity_value(vel) * pr->velocity);
                vel = tok_velocity_bin(v < 1 ? 1 : v > 127 ? 127 : (int)v);
            }
            continue;
        }
        aug_event *e = &ev[n_ev];
        *e = (aug_event){.t = (double)now, .prev = -1, .next = -1, .idx = (int32_t)i, .tok = t,
                         .cls = CL_OTHER, .inst = (uint8_t)inst, .vel = -1, .dur = -1};
        if (ty == TOKT_NOTE_ON || ty == TOKT_NOTE_OFF) {
            int on = ty == TOKT_NOTE_ON;
            int p = t - (on ? TOK_NOTE_ON : TOK_NOTE_OFF) + TOK_PITCH_MIN;
            if (inst != SCORE_DRUMS && pr->transpose) p = tok_fold_pitch(p + pr->transpose);
            e->tok = (uint16_t)((on ? TOK_NOTE_ON : TOK_NOTE_OFF) + p - TOK_PITCH_MIN);
            e->cls = on ? CL_ON : CL_OFF;
            e->pitch = (uint8_t)p;
            e->vel = on ? (int8_t)vel : -1;
            int key = inst * AUG_N_PITCHES + p - TOK_PITCH_MIN;
            e->prev = sc->last[key];
            if (e->prev >= 0) ev[e->prev].next = n_ev;
            sc->last[key] = n_ev;
        } else if (ty == TOKT_SUSTAIN) {
            e->cls = CL_SUSTAIN;
        } else if (ty == TOKT_TEMPO) {
            e->cls = CL_TEMPO;
            double bpm = tok_tempo_bpm(t - TOK_TEMPO);
            const tempo_seg *c = &seg[n_seg - 1];
            seg[n_seg++] = (tempo_seg){(double)now, c->x0 + ((double)now - c->t0) * c->rate,
                                       eighths_per_step(bpm)};
            if (pr->stretch_on) e->tok = (uint16_t)(TOK_TEMPO + tok_tempo_bin(bpm / pr->stretch));
        }
        n_ev++;
    }
    size_t consumed = i;
    if (has_end)
        while (consumed < n && in[consumed] != TOK_START) consumed++;

    /* times: swing, stretch, humanise */
    double end_t = (double)now;
    int swing = pr->rhythm_on && pr->swing > 0;
    double f = pr->stretch_on ? pr->stretch : 1.0;
    int seg_cur[2] = {0, 0};
    for (int k = 0; k < n_ev; k++) { /* events are in time order */
        if (swing) ev[k].t = swing_time(ev[k].t, seg, n_seg, pr->swing, seg_cur);
        ev[k].t *= f;
        if (ev[k].dur >= 0) ev[k].dur *= f;
    }
    if (swing) end_t = swing_time(end_t, seg, n_seg, pr->swing, seg_cur);
    end_t *= f;
    if (pr->rhythm_on && pr->jitter_steps > 0) {
        for (int k = 0; k < n_ev; k++) {
            if (ev[k].cls != CL_ON) continue;
            double d = (2 * unit(&pr->rng) - 1) * pr->jitter_steps;
            double lo = ev[k].prev >= 0 ? ev[ev[k].prev].t : 0;
            double hi = ev[k].next >= 0 ? ev[ev[k].next].t : end_t;
            double t = ev[k].t + d;
            ev[k].t = t < lo ? lo : t > hi ? hi : t;
        }
    }
    int64_t end_step = llround(end_t);
    for (int k = 0; k < n_ev; k++) ev[k].step = llround(ev[k].t);
    /* zero-length notes: OFF after the ONs of the step, or, if the key is
     * struck again in that step, among the ONs right after its own ON */
    for (int k = 0; k < n_ev; k++) {
        aug_event *e = &ev[k];
        if (e->cls != CL_OFF || e->prev < 0) continue;
        const aug_event *on = &ev[e->prev];
        if (tok_type_of(on->tok) != TOKT_NOTE_ON || on->step != e->step) continue;
        int restruck = e->next >= 0 && tok_type_of(ev[e->next].tok) == TOKT_NOTE_ON &&
                       ev[e->next].step == e->step;
        e->cls = restruck ? CL_ON : CL_ZERO_OFF;
    }
    sort_events(ev, n_ev);

    int64_t cur = 0;
    int cur_inst = inst0, cur_vel = -1;
    for (int k = 0; k < n_ev; k++) {
        const aug_event *e = &ev[k];
        put_shift(w, e->step - cur);
        cur = e->step;
        if (e->cls != CL_TEMPO && e->cls != CL_OTHER && e->inst != cur_inst) {
            cur_inst = e->inst;
            put(w, (uint16_t)(TOK_INSTRUMENT + cur_inst));
        }
        if (tok_type_of(e->tok) == TOKT_NOTE_ON && e->vel >= 0 && e->vel != cur_vel) {
            cur_vel = e->vel;
            put(w, (uint16_t)(TOK_VELOCITY + cur_vel));
        }
        put(w, e->tok);
        if (e->dur >= 0) put(w, (uint16_t)(TOK_DURATION + tok_duration_bin(llround(e->dur))));
    }
    put_shift(w, end_step - cur);
    if (inst != cur_inst) put(w, (uint16_t)(TOK_INSTRUMENT + inst));
    if (vel >= 0 && vel != cur_vel) put(w, (uint16_t)(TOK_VELOCITY + vel));
    if (has_end) {
        put(w, TOK_END);
        for (size_t k = i; k < consumed; k++) put(w, in[k]);
    }
    return consumed;
}

void augment_window(const uint16_t *in, size_t n_in, uint16_t *out, size_t n_out,
                    int start_instrument, const augment_config *cfg, uint64_t seed,
                    uint64_t epoch, uint64_t window_index)
{
    augment_window_vocab(in, n_in, out, n_out, start_instrument, cfg, seed, epoch, window_index, TOK_VOCAB_V1);
}

void augment_window_vocab(const uint16_t *in, size_t n_in, uint16_t *out, size_t n_out, int start_instrument,
                          const augment_config *cfg, uint64_t seed, uint64_t epoch, uint64_t window_index,
                          int vocab)
{
    aug_params pr;
    draw_params(cfg, seed, epoch, window_index, &pr);
    scratch *sc = NULL;
    if (n_in > (size_t)INT32_MAX) pr.active = 0; /* event indices are 32-bit: leave as is */
    if (pr.active && n_in) sc = scratch_new(n_in);
    writer w = {out, 0, n_out};
    if (!sc) { /* identity (or out of memory: leave the window as it is) */
        size_t n = n_in < n_out ? n_in : n_out;
        if (n) memcpy(out, in, n * sizeof *out);
        w.n = n;
    } else {
        int inst0 = start_instrument >= 0 && start_instrument < SCORE_N_INSTRUMENTS ? start_instrument : 0;
        size_t pos = 0;
        while (pos < n_in && w.n < n_out) {
            pos += augment_segment(in + pos, n_in - pos, inst0, &pr, sc, &w, vocab);
            inst0 = 0; /* a new piece starts at piano */
        }
        free(sc);
    }
    for (size_t k = w.n; k < n_out; k++) out[k] = TOK_PAD;
}
