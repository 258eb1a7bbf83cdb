/* pianoroll: curses-free rasteriser of a score into a grid of character
 * cells for the TUI's piano roll: pitch rows (two pitches per row with half
 * blocks, or one per row), time columns at a zoom of seconds per column,
 * per-cell instrument family (drums drawn with their own glyphs), note
 * onsets marked, and a playhead column. Also the view helpers (auto-fit of
 * the pitch range, zoom, scrolling, following a playhead). */
#ifndef AURL_PIANOROLL_H
#define AURL_PIANOROLL_H

#include <stdint.h>

#include "data/score.h"

#define PROLL_MIN_SPC (1.0 / 64.0) /* finest zoom: one token step per column */
#define PROLL_MAX_SPC 8.0          /* coarsest zoom */
#define PROLL_DEFAULT_SPC 0.125

/* What the roll shows. */
typedef struct {
    double t0;          /* seconds at the left edge of column 0 */
    double spc;         /* seconds per column (zoom) */
    int pitch_lo;       /* pitch of the lowest half/row (bottom of the grid) */
    int rows, cols;     /* grid size in cells */
    int two_per_row;    /* 1: two pitches per row (lower/upper half of a cell) */
} proll_view;

/* One half of a cell (one pitch at one column). */
enum { PROLL_NONE = 0, PROLL_HOLD = 1, PROLL_ONSET = 2 };

typedef struct {
    uint8_t half[2];     /* [0] lower pitch, [1] upper pitch: PROLL_NONE/HOLD/ONSET */
    int8_t family[2];    /* instrument family of each half, -1 when empty */
    uint8_t playhead;    /* 1 on the playhead column */
} proll_cell;

/* A rows x cols grid, row 0 at the top (highest pitches). */
typedef struct {
    int rows, cols;
    proll_cell *cells;
} proll_grid;

/* Default view of ROWS x COLS cells for S: zoom PROLL_DEFAULT_SPC, time 0,
 * pitch range fitted (proll_fit_pitch). */
void proll_view_init(proll_view *v, const score *s, int rows, int cols, int two_per_row);
/* Number of pitches the view shows (rows, or 2*rows). */
int proll_pitch_span(const proll_view *v);
/* Centre the notes' pitch range in the view (keeps it inside 0..127; when
 * the range is taller than the view, shows its lower part from the lowest
 * note). An empty score centres middle C. */
void proll_fit_pitch(proll_view *v, const score *s);
/* Multiply the seconds per column by FACTOR (clamped to PROLL_MIN_SPC..
 * PROLL_MAX_SPC) keeping the time at column ANCHOR_COL in place. */
void proll_zoom(proll_view *v, double factor, int anchor_col);
/* Scroll by COLS columns (negative = left), clamped to 0..duration. */
void proll_scroll_time(proll_view *v, int cols, double duration);
/* Scroll by PITCHES (positive = up), clamped to 0..127. */
void proll_scroll_pitch(proll_view *v, int pitches);
/* Page the view so time T is visible (put it a quarter from the left
 * when it is outside). Returns 1 when t0 changed. */
int proll_follow(proll_view *v, double t);

/* Allocate G for ROWS x COLS (re-uses its memory when it fits). 0 or -1. */
int proll_grid_resize(proll_grid *g, int rows, int cols);
void proll_grid_free(proll_grid *g);
/* Rasterise S into G (resized to the view) for view V; PLAYHEAD < 0 for
 * none. A note covers every column its [onset, offset) touches (at least
 * its onset column); the onset column is PROLL_ONSET. Where notes overlap
 * in one half, an onset wins over a hold and drums over melodic notes.
 * Returns 0 or -1 (out of memory). */
int proll_render(const score *s, const proll_view *v, double playhead, proll_grid *g);
/* The cell at (row, col). */
const proll_cell *proll_at(const proll_grid *g, int row, int col);
/* Family the cell is drawn in: drums if either half is drums, else the
 * upper half's, else the lower's; -1 for an empty cell. */
int proll_cell_family(const proll_cell *c);
/* The glyph (a NUL-terminated UTF-8 or ASCII string) for C.
 * Unicode, two per row: melodic halves as ▀ ▄ █, drums as ▘ ▖ ▌; one per
 * row: █ (onset ▐). ASCII two per row: ' " . :' style (' upper, . lower,
 * : both; drums x); one per row: onset '#', hold '=', drums 'x'.
 * An empty playhead cell is │ (ASCII '|'). */
const char *proll_glyph(const proll_cell *c, int unicode, int two_per_row);
/* The pitch shown by half HALF of row ROW, or -1 outside 0..127. */
int proll_row_pitch(const proll_view *v, int row, int half);
/* Note name of PITCH, e.g. "C4", "F#3" (MIDI 60 = C4). */
void proll_pitch_name(int pitch, char *buf, int len);
#endif
