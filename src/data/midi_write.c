/* midi_write: score -> Standard MIDI File (format 1, 480 ppqn) via libsmf.
 *
 * Track 1 carries the tempo map (score.tempos; libsmf's default 120 BPM when
 * empty). Seconds become ticks through that same map, quantised exactly as
 * libsmf reads it back (tempo changes sit on whole ticks, microseconds per
 * quarter are integers), so a write -> read round trip moves no event by
 * more than half a tick (about 0.5 ms at 120 BPM).
 * Tempos are snapped to the nearest of the eleven tempos (40..240 BPM) at
 * which one 1/64 s token step is a whole number of ticks (7,500,000 / us per
 * quarter is an integer), so times on the token grid — everything
 * tok_decode produces — are written with no rounding at all, and the token
 * round trip stays within 1/128 s after export. Tempo is informational in
 * the vocabulary (docs/DESIGN.md §5); note times in seconds are what is kept.
 * Then one track per used instrument family: channel = family (skipping 9)
 * for families 0..14, channel 9 for drums; a program change (family*8) at
 * tick 0 on melodic tracks; CC64 127/0 for sustain; note-offs as 0x80.
 * Overlapping notes of one (family, pitch) are cut at the next onset, so
 * every note-off closes the note it belongs to. */
#include "data/midi_write.h"

#include <math.h>
#include <smf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/smf_glue.h"

#define PPQN 480
#define MAX_TICK 0x0FFFFFFF

/* One tempo segment: from TICK (at SEC seconds) on, US microseconds per quarter. */
typedef struct {
    long tick;
    double sec;
    int us;
    int given; /* set by the score (only the implicit 120 BPM start is not) */
} seg;

typedef struct {
    seg *v;
    size_t n;
} tmap;

/* The segment in force at SEC. */
static const seg *seg_at_sec(const tmap *m, double sec)
{
    size_t lo = 0, hi = m->n;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (m->v[mid].sec <= sec) lo = mid;
        else hi = mid;
    }
    return &m->v[lo];
}

static double clean_time(double t)
{
    return (t >= 0 && isfinite(t)) ? t : 0;
}

static long sec_to_tick(const tmap *m, double sec)
{
    sec = clean_time(sec);
    const seg *s = seg_at_sec(m, sec);
    double t = (double)s->tick + (sec - s->sec) * (PPQN * 1e6 / s->us);
    if (t > MAX_TICK) return MAX_TICK;
    return (long)llround(t);
}

/* Microseconds per quarter of the grid-exact tempo nearest BPM (in log
 * space): 7.5e6/us ticks per 1/64 s step at 480 ppqn must be an integer. */
static int grid_exact_us(double bpm)
{
    static const int steps_ticks[] = {5, 6, 8, 10, 12, 15, 16, 20, 24, 25, 30};
    double want = 60e6 / bpm;
    int best = 500000;
    double best_dist = INFINITY;
    for (size_t i = 0; i < sizeof steps_ticks / sizeof steps_ticks[0]; i++) {
        int us = 7500000 / steps_ticks[i];
        double dist = fabs(log(us / want));
        if (dist < best_dist) {
            best_dist = dist;
            best = us;
        }
    }
    return best;
}

/* Quantise the score's tempo list into M (changes on whole ticks, integer
 * microseconds per quarter; several changes on one tick: the last wins). */
static int build_tmap(const score *s, tmap *m)
{
    m->v = malloc((s->n_tempos + 1) * sizeof *m->v);
    if (!m->v) return -1;
    m->v[0] = (seg){ 0, 0.0, 500000, 0 };
    m->n = 1;
    score_tempo *t = NULL;
    if (s->n_tempos) {
        t = malloc(s->n_tempos * sizeof *t);
        if (!t) return -1;
        memcpy(t, s->tempos, s->n_tempos * sizeof *t);
        score tmp;
        score_init(&tmp);
        tmp.tempos = t;
        tmp.n_tempos = s->n_tempos;
        score_sort(&tmp);
    }
    for (size_t i = 0; i < s->n_tempos; i++) {
        if (!(t[i].bpm > 0) || !isfinite(t[i].bpm)) continue;
        int us = grid_exact_us(t[i].bpm);
        long tick = sec_to_tick(m, t[i].time);
        seg *last = &m->v[m->n - 1];
        if (tick == last->tick) {
            last->us = us;
            last->given = 1;
            continue;
        }
        seg nw = { tick, last->sec + (double)(tick - last->tick) * last->us / (PPQN * 1e6), us, 1 };
        m->v[m->n++] = nw;
    }
    free(t);
    return 0;
}

/* One MIDI event to write. ORDER sorts events at one tick: program change,
 * note-offs, sustain, note-ons, then the offs of zero-length notes. */
typedef struct {
    long tick;
    int order;
    size_t seq;
    uint8_t b[3];
    uint8_t len;
} wev;

static int cmp_wev(const void *a, const void *b)
{
    const wev *x = a, *y = b;
    if (x->tick != y->tick) return x->tick < y->tick ? -1 : 1;
    if (x->order != y->order) return x->order - y->order;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* A note in ticks. */
typedef struct {
    long on, off;
    uint8_t pitch, velocity, instrument;
} tnote;

static int cmp_tnote(const void *a, const void *b)
{
    const tnote *x = a, *y = b;
    if (x->instrument != y->instrument) return x->instrument - y->instrument;
    if (x->pitch != y->pitch) return x->pitch - y->pitch;
    if (x->on != y->on) return x->on < y->on ? -1 : 1;
    return (x->off > y->off) - (x->off < y->off); /* longest last: it survives the de-duplication */
}

static int family_channel(int family)
{
    if (family == SCORE_DRUMS) return 9;
    return family < 9 ? family : family + 1;
}

static int add_event(smf_track_t *track, const uint8_t *b, int len, long tick)
{
    smf_event_t *e = smf_event_new_from_pointer((void *)b, len);
    if (!e) return -1;
    smf_track_add_event_pulses(track, e, (int)tick);
    return 0;
}

/* Build the smf_t for S. NULL when out of memory. */
static smf_t *build(const score *s)
{
    smf_t *smf = smf_new();
    if (!smf) return NULL;
    tmap m = { 0 };
    tnote *tn = NULL;
    wev *ev = NULL;
    int ok = 0;
    if (smf_set_ppqn(smf, PPQN) || build_tmap(s, &m)) goto out;

    smf_track_t *tt = smf_track_new();
    if (!tt) goto out;
    smf_add_track(smf, tt);
    long end = 0;
    for (size_t i = m.v[0].given ? 0 : 1; i < m.n; i++) {
        uint8_t b[6] = { 0xFF, 0x51, 0x03, (uint8_t)(m.v[i].us >> 16), (uint8_t)(m.v[i].us >> 8), (uint8_t)m.v[i].us };
        if (add_event(tt, b, 6, m.v[i].tick)) goto out;
        end = m.v[i].tick;
    }

    /* notes in ticks, overlaps of one (family, pitch) resolved */
    tn = malloc((s->n_notes ? s->n_notes : 1) * sizeof *tn);
    ev = malloc((2 * s->n_notes + s->n_sustains + 1) * sizeof *ev);
    if (!tn || !ev) goto out;
    size_t nt = 0;
    for (size_t i = 0; i < s->n_notes; i++) {
        const score_note *n = &s->notes[i];
        tnote x = { sec_to_tick(&m, n->onset), sec_to_tick(&m, n->offset), n->pitch & 0x7F,
                    n->velocity ? (n->velocity > 127 ? 127 : n->velocity) : 1,
                    n->instrument < SCORE_N_INSTRUMENTS ? n->instrument : 0 };
        if (x.off < x.on) x.off = x.on;
        tn[nt++] = x;
    }
    qsort(tn, nt, sizeof *tn, cmp_tnote);
    size_t w = 0;
    for (size_t i = 0; i < nt; i++) {
        int same_next = i + 1 < nt && tn[i + 1].instrument == tn[i].instrument && tn[i + 1].pitch == tn[i].pitch;
        if (same_next && tn[i + 1].on == tn[i].on) continue; /* duplicate onset */
        if (same_next && tn[i].off > tn[i + 1].on) tn[i].off = tn[i + 1].on;
        tn[w++] = tn[i];
    }
    nt = w;

    for (int fam = 0; fam < SCORE_N_INSTRUMENTS; fam++) {
        int ch = family_channel(fam);
        size_t ne = 0;
        for (size_t i = 0; i < nt; i++) {
            if (tn[i].instrument != fam) continue;
            ev[ne] = (wev){ tn[i].on, 3, ne, { (uint8_t)(0x90 | ch), tn[i].pitch, tn[i].velocity }, 3 };
            ne++;
            ev[ne] = (wev){ tn[i].off, tn[i].off == tn[i].on ? 4 : 1, ne, { (uint8_t)(0x80 | ch), tn[i].pitch, 64 }, 3 };
            ne++;
        }
        for (size_t i = 0; i < s->n_sustains; i++) {
            if (s->sustains[i].instrument != fam) continue;
            ev[ne] = (wev){ sec_to_tick(&m, s->sustains[i].time), 2, ne,
                            { (uint8_t)(0xB0 | ch), 64, s->sustains[i].down ? 127 : 0 }, 3 };
            ne++;
        }
        if (!ne) continue;
        qsort(ev, ne, sizeof *ev, cmp_wev);
        smf_track_t *tr = smf_track_new();
        if (!tr) goto out;
        smf_add_track(smf, tr);
        if (fam != SCORE_DRUMS) {
            uint8_t pc[2] = { (uint8_t)(0xC0 | ch), (uint8_t)(fam * 8) };
            if (add_event(tr, pc, 2, 0)) goto out;
        }
        for (size_t i = 0; i < ne; i++) {
            if (add_event(tr, ev[i].b, ev[i].len, ev[i].tick)) goto out;
            if (ev[i].tick > end) end = ev[i].tick;
        }
    }
    /* every track ends together */
    for (int i = 1; i <= smf->number_of_tracks; i++)
        if (smf_track_add_eot_pulses(smf_get_track_by_number(smf, i), (int)end)) goto out;
    ok = 1;
out:
    free(m.v);
    free(tn);
    free(ev);
    if (!ok) {
        smf_glue_delete(smf);
        return NULL;
    }
    return smf;
}

int midi_write_file(const char *path, const score *s, char err[AURL_ERR_LEN])
{
    smf_glue_route_logs();
    smf_t *smf = build(s);
    if (!smf) {
        snprintf(err, AURL_ERR_LEN, "%s: out of memory while building the MIDI file", path);
        return -1;
    }
    atomic_file af;
    if (file_atomic_open(&af, path, err)) {
        smf_glue_delete(smf);
        return -1;
    }
    int rc = smf_save(smf, af.tmp);
    smf_glue_delete(smf);
    if (rc) {
        file_atomic_abort(&af);
        snprintf(err, AURL_ERR_LEN, "%s: libsmf could not write the file", path);
        return -1;
    }
    return file_atomic_commit(&af, err);
}
