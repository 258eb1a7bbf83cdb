/* chart: braille/block/ASCII canvas, scaling, ticks, EMA and line plots
 * for the dashboard's loss chart. No curses here (unit-tested directly). */
#include "tui/chart.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int chart_canvas_init(chart_canvas *c, int w, int h, chart_mode mode)
{
    memset(c, 0, sizeof *c);
    if (w < 1) w = 1;
    if (h < 1) h = 1;
    c->w = w;
    c->h = h;
    c->mode = mode;
    c->sx = mode == CHART_BRAILLE ? 2 : 1;
    c->sy = mode == CHART_BRAILLE ? 4 : mode == CHART_BLOCK ? 2 : 1;
    c->dots = calloc((size_t)w * h, 1);
    c->style = calloc((size_t)w * h, 1);
    if (!c->dots || !c->style) {
        chart_canvas_free(c);
        return -1;
    }
    return 0;
}

void chart_canvas_free(chart_canvas *c)
{
    free(c->dots);
    free(c->style);
    c->dots = c->style = NULL;
}

void chart_canvas_clear(chart_canvas *c)
{
    if (!c->dots) return;
    memset(c->dots, 0, (size_t)c->w * c->h);
    memset(c->style, 0, (size_t)c->w * c->h);
}

int chart_px_w(const chart_canvas *c) { return c->w * c->sx; }
int chart_px_h(const chart_canvas *c) { return c->h * c->sy; }

/* Braille dot bits by (column, row) inside a cell (Unicode order). */
static const uint8_t BRAILLE_BIT[2][4] = {{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}};

void chart_canvas_set(chart_canvas *c, int px, int py, int style)
{
    if (!c->dots || px < 0 || py < 0 || px >= chart_px_w(c) || py >= chart_px_h(c)) return;
    int cx = px / c->sx, cy = py / c->sy, i = cy * c->w + cx;
    int dx = px % c->sx, dy = py % c->sy;
    uint8_t bit = c->mode == CHART_BRAILLE ? BRAILLE_BIT[dx][dy] : (uint8_t)(1u << dy);
    c->dots[i] |= bit;
    c->style[i] = (uint8_t)style;
}

void chart_canvas_line(chart_canvas *c, int x0, int y0, int x1, int y1, int style)
{
    int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
    int dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
    int e = dx + dy;
    for (int guard = 0; guard < 100000; guard++) {
        chart_canvas_set(c, x0, y0, style);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * e;
        if (e2 >= dy) {
            e += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            e += dx;
            y0 += sy;
        }
    }
}

wchar_t chart_cell_glyph(const chart_canvas *c, int cx, int cy, int *style)
{
    if (!c->dots || cx < 0 || cy < 0 || cx >= c->w || cy >= c->h) return 0;
    int i = cy * c->w + cx;
    uint8_t m = c->dots[i];
    if (style) *style = c->style[i];
    if (!m) return 0;
    switch (c->mode) {
    case CHART_BRAILLE: return (wchar_t)(0x2800 + m);
    case CHART_BLOCK: return m == 3 ? (wchar_t)0x2588 : m == 1 ? (wchar_t)0x2580 : (wchar_t)0x2584;
    default: return L'*';
    }
}

int chart_autoscale(const double *ys, size_t n, const double *ys2, size_t n2, int logy, double *lo, double *hi)
{
    double mn = INFINITY, mx = -INFINITY;
    for (int k = 0; k < 2; k++) {
        const double *v = k ? ys2 : ys;
        size_t m = k ? n2 : n;
        for (size_t i = 0; v && i < m; i++) {
            double y = v[i];
            if (!isfinite(y) || (logy && y <= 0)) continue;
            if (y < mn) mn = y;
            if (y > mx) mx = y;
        }
    }
    if (!(mn <= mx)) {
        *lo = logy ? 0.1 : 0;
        *hi = 1;
        return -1;
    }
    if (logy) {
        double a = log10(mn), b = log10(mx), pad = (b - a) * 0.05;
        if (b - a < 1e-9) pad = 0.05;
        *lo = pow(10, a - pad);
        *hi = pow(10, b + pad);
    } else {
        double pad = (mx - mn) * 0.05;
        if (mx - mn < 1e-12) pad = fabs(mx) * 0.05 + 1e-3;
        *lo = mn - pad;
        *hi = mx + pad;
    }
    return 0;
}

int chart_nice_ticks(double lo, double hi, int logy, double *ticks, int max)
{
    int n = 0;
    if (max <= 0 || !isfinite(lo) || !isfinite(hi) || hi <= lo) return 0;
    if (logy) {
        if (lo <= 0) return 0;
        double step = 1;
        int span = (int)ceil(log10(hi) - log10(lo));
        if (span > max) step = ceil((double)span / max);
        for (double e = floor(log10(lo)); e <= ceil(log10(hi)) && n < max; e += step) {
            double v = pow(10, e);
            if (v >= lo && v <= hi) ticks[n++] = v;
        }
        if (n >= 2 || max < 2) return n;
        /* less than a decade: fall through to linear ticks */
        n = 0;
    }
    double raw = (hi - lo) / (max > 1 ? max - 1 : 1);
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag, step = f <= 1 ? mag : f <= 2 ? 2 * mag : f <= 5 ? 5 * mag : 10 * mag;
    for (double v = ceil(lo / step) * step; v <= hi + step * 1e-9 && n < max; v += step)
        ticks[n++] = fabs(v) < step * 1e-9 ? 0 : v;
    return n;
}

void chart_format_tick(double v, char *out, size_t len)
{
    double a = fabs(v);
    if (a == 0) snprintf(out, len, "0");
    else if (a >= 1e5 || a < 1e-3) snprintf(out, len, "%.1e", v);
    else if (a >= 100) snprintf(out, len, "%.0f", v);
    else if (a >= 10) snprintf(out, len, "%.1f", v);
    else if (a >= 1) snprintf(out, len, "%.2f", v);
    else snprintf(out, len, "%.3f", v);
}

void chart_ema(const double *in, double *out, size_t n, double alpha)
{
    if (!(alpha > 0) || alpha > 1) alpha = 1;
    double acc = NAN;
    for (size_t i = 0; i < n; i++) {
        double v = in[i];
        if (isfinite(v)) acc = isnan(acc) ? v : acc + alpha * (v - acc);
        out[i] = acc;
    }
}

int chart_y_to_px(const chart_canvas *c, const chart_axes *a, double y)
{
    double lo = a->y0, hi = a->y1, v = y;
    if (!isfinite(y)) return -1;
    if (a->logy) {
        if (y <= 0 || lo <= 0 || hi <= 0) return -1;
        v = log10(y);
        lo = log10(lo);
        hi = log10(hi);
    }
    if (!(hi > lo)) return -1;
    int h = chart_px_h(c);
    double f = (v - lo) / (hi - lo);
    if (f < 0) f = 0;
    if (f > 1) f = 1;
    return (int)lround((1 - f) * (h - 1));
}

int chart_x_to_px(const chart_canvas *c, const chart_axes *a, double x)
{
    int w = chart_px_w(c);
    if (!(a->x1 > a->x0) || !isfinite(x)) return 0;
    double f = (x - a->x0) / (a->x1 - a->x0);
    if (f < 0) f = 0;
    if (f > 1) f = 1;
    return (int)lround(f * (w - 1));
}

void chart_plot_line(chart_canvas *c, const chart_axes *a, const double *xs, const double *ys, size_t n, int style)
{
    int w = chart_px_w(c);
    if (!c->dots || n == 0 || w <= 0) return;
    double *sum = calloc((size_t)w, sizeof *sum);
    int *cnt = calloc((size_t)w, sizeof *cnt);
    if (!sum || !cnt) {
        free(sum);
        free(cnt);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        double y = ys[i];
        if (!isfinite(y) || !isfinite(xs[i]) || (a->logy && y <= 0)) continue;
        int px = chart_x_to_px(c, a, xs[i]);
        sum[px] += a->logy ? log10(y) : y;
        cnt[px]++;
    }
    int prev_x = -1, prev_y = -1;
    for (int px = 0; px < w; px++) {
        if (!cnt[px]) continue;
        double m = sum[px] / cnt[px];
        int py = chart_y_to_px(c, a, a->logy ? pow(10, m) : m);
        if (py < 0) continue;
        if (prev_x >= 0) chart_canvas_line(c, prev_x, prev_y, px, py, style);
        else chart_canvas_set(c, px, py, style);
        prev_x = px;
        prev_y = py;
    }
    free(sum);
    free(cnt);
}

void chart_plot_points(chart_canvas *c, const chart_axes *a, const double *xs, const double *ys, size_t n, int style)
{
    for (size_t i = 0; i < n; i++) {
        int py = chart_y_to_px(c, a, ys[i]);
        if (py < 0 || !isfinite(xs[i])) continue;
        chart_canvas_set(c, chart_x_to_px(c, a, xs[i]), py, style);
    }
}
