/* pianoroll: curses-free rasteriser of a score into character cells (see
 * pianoroll.h). */
#include "tui/pianoroll.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int clampi(int x, int lo, int hi) { return x < lo ? lo : x > hi ? hi : x; }

int proll_pitch_span(const proll_view *v)
{
    return v->two_per_row ? 2 * v->rows : v->rows;
}

static void clamp_pitch(proll_view *v)
{
    int span = proll_pitch_span(v);
    int hi = 128 - span;
    if (hi < 0) hi = 0;
    v->pitch_lo = clampi(v->pitch_lo, 0, hi);
}

void proll_fit_pitch(proll_view *v, const score *s)
{
    int lo = 128, hi = -1;
    for (size_t i = 0; s && i < s->n_notes; i++) {
        int p = s->notes[i].pitch;
        if (p < lo) lo = p;
        if (p > hi) hi = p;
    }
    if (hi < 0) lo = hi = 60;
    int span = proll_pitch_span(v);
    int range = hi - lo + 1;
    if (range >= span) v->pitch_lo = lo;
    else v->pitch_lo = lo - (span - range) / 2;
    /* keep lower halves on even offsets so a pitch stays in its half when fitting again */
    clamp_pitch(v);
}

void proll_view_init(proll_view *v, const score *s, int rows, int cols, int two_per_row)
{
    memset(v, 0, sizeof *v);
    v->rows = rows > 0 ? rows : 1;
    v->cols = cols > 0 ? cols : 1;
    v->two_per_row = two_per_row ? 1 : 0;
    v->spc = PROLL_DEFAULT_SPC;
    v->t0 = 0;
    proll_fit_pitch(v, s);
}

void proll_zoom(proll_view *v, double factor, int anchor_col)
{
    if (!(factor > 0)) return;
    double anchor_t = v->t0 + anchor_col * v->spc;
    double spc = v->spc * factor;
    if (spc < PROLL_MIN_SPC) spc = PROLL_MIN_SPC;
    if (spc > PROLL_MAX_SPC) spc = PROLL_MAX_SPC;
    v->spc = spc;
    v->t0 = anchor_t - anchor_col * spc;
    if (v->t0 < 0) v->t0 = 0;
}

void proll_scroll_time(proll_view *v, int cols, double duration)
{
    double t = v->t0 + cols * v->spc;
    double max = duration - v->spc; /* keep at least the last column of music visible */
    if (t > max) t = max;
    if (t < 0) t = 0;
    v->t0 = t;
}

void proll_scroll_pitch(proll_view *v, int pitches)
{
    v->pitch_lo += pitches;
    clamp_pitch(v);
}

int proll_follow(proll_view *v, double t)
{
    double end = v->t0 + v->cols * v->spc;
    if (t >= v->t0 && t < end) return 0;
    double t0 = t - v->cols * v->spc / 4.0;
    if (t0 < 0) t0 = 0;
    if (t0 == v->t0) return 0;
    v->t0 = t0;
    return 1;
}

int proll_grid_resize(proll_grid *g, int rows, int cols)
{
    if (rows < 1) rows = 1;
    if (cols < 1) cols = 1;
    size_t need = (size_t)rows * (size_t)cols;
    if (!g->cells || need > (size_t)g->rows * (size_t)g->cols) {
        proll_cell *c = realloc(g->cells, need * sizeof *c);
        if (!c) return -1;
        g->cells = c;
    }
    g->rows = rows;
    g->cols = cols;
    return 0;
}

void proll_grid_free(proll_grid *g)
{
    free(g->cells);
    memset(g, 0, sizeof *g);
}

const proll_cell *proll_at(const proll_grid *g, int row, int col)
{
    return &g->cells[(size_t)row * (size_t)g->cols + (size_t)col];
}

int proll_row_pitch(const proll_view *v, int row, int half)
{
    int from_bottom = v->rows - 1 - row;
    int p = v->two_per_row ? v->pitch_lo + 2 * from_bottom + (half ? 1 : 0) : v->pitch_lo + from_bottom;
    return p >= 0 && p <= 127 ? p : -1;
}

/* Column of time T (may be outside the grid). */
static long col_of(const proll_view *v, double t)
{
    double c = floor((t - v->t0) / v->spc + 1e-9);
    if (c < -1e9) return -1000000000L;
    if (c > 1e9) return 1000000000L;
    return (long)c;
}

/* Priority of what a half shows: drums over melodic notes, then onset over hold. */
static int prio(int kind, int family)
{
    return kind == PROLL_NONE ? 0 : kind + (family == SCORE_DRUMS ? 4 : 0);
}

static void mark(proll_cell *c, int half, int kind, int family)
{
    if (prio(kind, family) > prio(c->half[half], c->family[half])) {
        c->half[half] = (uint8_t)kind;
        c->family[half] = (int8_t)family;
    }
}

int proll_render(const score *s, const proll_view *v, double playhead, proll_grid *g)
{
    if (proll_grid_resize(g, v->rows, v->cols) != 0) return -1;
    size_t n = (size_t)g->rows * (size_t)g->cols;
    for (size_t i = 0; i < n; i++) {
        proll_cell *c = &g->cells[i];
        c->half[0] = c->half[1] = PROLL_NONE;
        c->family[0] = c->family[1] = -1;
        c->playhead = 0;
    }
    if (!(v->spc > 0)) return 0;
    for (size_t i = 0; s && i < s->n_notes; i++) {
        const score_note *nt = &s->notes[i];
        int rel = (int)nt->pitch - v->pitch_lo;
        if (rel < 0 || rel >= proll_pitch_span(v)) continue;
        int row, half;
        if (v->two_per_row) row = v->rows - 1 - rel / 2, half = rel % 2;
        else row = v->rows - 1 - rel, half = 0;
        long c0 = col_of(v, nt->onset);
        long c1 = col_of(v, nt->offset);
        /* [onset, offset): an offset exactly on a column boundary does not reach that column */
        if (nt->offset > nt->onset && c1 > c0) {
            double edge = v->t0 + (double)c1 * v->spc;
            if (fabs(nt->offset - edge) < 1e-9) c1--;
        }
        if (c1 < c0) c1 = c0;
        if (c1 < 0 || c0 >= g->cols) continue;
        int fam = nt->instrument < SCORE_N_INSTRUMENTS ? nt->instrument : 0;
        for (long c = c0 < 0 ? 0 : c0; c <= c1 && c < g->cols; c++)
            mark(&g->cells[(size_t)row * (size_t)g->cols + (size_t)c], half, c == c0 ? PROLL_ONSET : PROLL_HOLD, fam);
    }
    if (playhead >= 0) {
        long pc = col_of(v, playhead);
        if (pc >= 0 && pc < g->cols)
            for (int r = 0; r < g->rows; r++) g->cells[(size_t)r * (size_t)g->cols + (size_t)pc].playhead = 1;
    }
    return 0;
}

int proll_cell_family(const proll_cell *c)
{
    if (c->family[0] == SCORE_DRUMS || c->family[1] == SCORE_DRUMS) return SCORE_DRUMS;
    if (c->half[1]) return c->family[1];
    if (c->half[0]) return c->family[0];
    return -1;
}

const char *proll_glyph(const proll_cell *c, int unicode, int two_per_row)
{
    int lo = c->half[0] != PROLL_NONE, hi = c->half[1] != PROLL_NONE;
    int drum = proll_cell_family(c) == SCORE_DRUMS;
    if (!lo && !hi) return c->playhead ? (unicode ? "\u2502" : "|") : " ";
    if (!two_per_row) {
        int onset = c->half[0] == PROLL_ONSET;
        if (drum) return unicode ? (onset ? "\u25aa" : "\u00b7") : (onset ? "x" : "-");
        return unicode ? (onset ? "\u2590" : "\u2588") : (onset ? "#" : "=");
    }
    if (unicode) {
        if (drum) return lo && hi ? "\u258c" : hi ? "\u2598" : "\u2596";
        return lo && hi ? "\u2588" : hi ? "\u2580" : "\u2584";
    }
    if (drum) return lo && hi ? "X" : hi ? "x" : "x";
    return lo && hi ? ":" : hi ? "'" : ".";
}

void proll_pitch_name(int pitch, char *buf, int len)
{
    static const char *names[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};
    if (pitch < 0 || pitch > 127) {
        snprintf(buf, (size_t)len, "?");
        return;
    }
    snprintf(buf, (size_t)len, "%s%d", names[pitch % 12], pitch / 12 - 1);
}
