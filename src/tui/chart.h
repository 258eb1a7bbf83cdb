/* chart: curses-free line charts for the TUI — a canvas of cells drawn as
 * braille (2x4 dots per cell), half blocks (1x2) or ASCII (1x1), with
 * auto-scaled y (optionally log), nice tick labels, x by step, EMA
 * smoothing and downsampling of many points to the canvas width. The
 * caller turns each cell into a glyph with chart_cell_glyph(). */
#ifndef AURL_TUI_CHART_H
#define AURL_TUI_CHART_H

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

typedef enum { CHART_BRAILLE = 0, CHART_BLOCK, CHART_ASCII } chart_mode;

typedef struct {
    int w, h;          /* size in cells */
    int sx, sy;        /* sub-pixels per cell (2x4, 1x2, 1x1) */
    chart_mode mode;
    uint8_t *dots;     /* w*h dot masks */
    uint8_t *style;    /* w*h style of the last series that drew into the cell */
} chart_canvas;

/* The data-to-pixel mapping of one chart. */
typedef struct {
    double x0, x1;     /* x range (steps) */
    double y0, y1;     /* y range, in data units (both > 0 when logy) */
    int logy;
} chart_axes;

/* Allocate a W x H cell canvas (w, h >= 1). 0 or -1 (out of memory). */
int chart_canvas_init(chart_canvas *c, int w, int h, chart_mode mode);
void chart_canvas_free(chart_canvas *c);
void chart_canvas_clear(chart_canvas *c);
/* Pixel size of the canvas. */
int chart_px_w(const chart_canvas *c);
int chart_px_h(const chart_canvas *c);
/* Set pixel (px, py), py = 0 at the top; out-of-range pixels are ignored. */
void chart_canvas_set(chart_canvas *c, int px, int py, int style);
/* Straight line between two pixels (Bresenham). */
void chart_canvas_line(chart_canvas *c, int x0, int y0, int x1, int y1, int style);
/* The glyph of cell (cx, cy): a braille char, a block, or an ASCII char;
 * 0 when the cell is empty. *style gets the cell's style. */
wchar_t chart_cell_glyph(const chart_canvas *c, int cx, int cy, int *style);

/* y range [lo, hi] covering the finite values of ys (and of ys2 if not
 * NULL), padded by 5% and never empty; with logy only positive values
 * count. Returns 0, or -1 if there is no usable value (lo/hi set to 0..1). */
int chart_autoscale(const double *ys, size_t n, const double *ys2, size_t n2, int logy, double *lo, double *hi);
/* Up to max "nice" tick values (1, 2, 5 x 10^k steps; decades for logy)
 * inside [lo, hi]. Returns how many. */
int chart_nice_ticks(double lo, double hi, int logy, double *ticks, int max);
/* Short label of a tick value ("3.5", "0.012", "1.2e4") in at most 7 chars. */
void chart_format_tick(double v, char *out, size_t len);

/* Exponential moving average of in (NaN/inf values are skipped: out keeps
 * the previous average, NaN before the first finite value). alpha in
 * (0,1]: weight of the newest point. in and out may alias. */
void chart_ema(const double *in, double *out, size_t n, double alpha);

/* Pixel row of y (0 top), or -1 if y is not finite / not positive with logy. */
int chart_y_to_px(const chart_canvas *c, const chart_axes *a, double y);
/* Pixel column of x. */
int chart_x_to_px(const chart_canvas *c, const chart_axes *a, double x);

/* Line plot of (xs, ys): points are averaged per pixel column (so any
 * number of points downsamples to the width) and consecutive columns are
 * joined; non-finite values break nothing (they are skipped). */
void chart_plot_line(chart_canvas *c, const chart_axes *a, const double *xs, const double *ys, size_t n, int style);
/* Scatter plot: each finite point sets one pixel (validation points). */
void chart_plot_points(chart_canvas *c, const chart_axes *a, const double *xs, const double *ys, size_t n, int style);
#endif
