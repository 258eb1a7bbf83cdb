/* widgets: shared drawing helpers for the TUI screens (see widgets.h). */
#include "tui/widgets.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tui/term.h"

void widget_text(WINDOW *w, int y, int x, int maxw, attr_t attr, const char *s)
{
    int H, W;
    getmaxyx(w, H, W);
    if (y < 0 || y >= H || x < 0 || x >= W || maxw <= 0) return;
    if (maxw > W - x) maxw = W - x;
    wattron(w, attr);
    /* columns, not bytes: non-ASCII bytes of UTF-8 count only on lead bytes */
    int cols = 0;
    size_t i = 0;
    for (; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xC0) != 0x80) {
            if (cols == maxw) break;
            cols++;
        }
    }
    mvwaddnstr(w, y, x, s, (int)i);
    wattroff(w, attr);
}

void widget_textf(WINDOW *w, int y, int x, int maxw, attr_t attr, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    widget_text(w, y, x, maxw, attr, buf);
}

void widget_box(WINDOW *w, int y, int x, int h, int wd, const char *title)
{
    if (h < 2 || wd < 2) return;
    int uni = term_unicode();
    chtype hz = uni ? ACS_HLINE : '-', vt = uni ? ACS_VLINE : '|';
    chtype tl = uni ? ACS_ULCORNER : '+', tr = uni ? ACS_URCORNER : '+';
    chtype bl = uni ? ACS_LLCORNER : '+', br = uni ? ACS_LRCORNER : '+';
    attr_t dim = term_attr(ROLE_DIM);
    mvwhline(w, y, x + 1, hz | dim, wd - 2);
    mvwhline(w, y + h - 1, x + 1, hz | dim, wd - 2);
    mvwvline(w, y + 1, x, vt | dim, h - 2);
    mvwvline(w, y + 1, x + wd - 1, vt | dim, h - 2);
    mvwaddch(w, y, x, tl | dim);
    mvwaddch(w, y, x + wd - 1, tr | dim);
    mvwaddch(w, y + h - 1, x, bl | dim);
    mvwaddch(w, y + h - 1, x + wd - 1, br | dim);
    if (title && *title) {
        char t[128];
        snprintf(t, sizeof t, " %s ", title);
        widget_text(w, y, x + 2, wd - 4, term_attr(ROLE_TITLE), t);
    }
}

void widget_bar(WINDOW *w, int y, int x, int wd, double frac, attr_t attr)
{
    if (wd <= 0) return;
    if (!(frac >= 0)) frac = 0;
    if (frac > 1) frac = 1;
    int uni = term_unicode();
    double cells = frac * wd;
    int full = (int)cells;
    int eighths = (int)((cells - full) * 8);
    static const wchar_t part[8] = {L' ', 0x258F, 0x258E, 0x258D, 0x258C, 0x258B, 0x258A, 0x2589};
    wmove(w, y, x);
    for (int i = 0; i < wd; i++) {
        if (i < full) {
            if (uni) {
                wchar_t s[2] = {0x2588, 0};
                wattron(w, attr);
                waddwstr(w, s);
                wattroff(w, attr);
            } else waddch(w, '#' | attr);
        } else if (i == full && eighths > 0 && uni) {
            wchar_t s[2] = {part[eighths], 0};
            wattron(w, attr);
            waddwstr(w, s);
            wattroff(w, attr);
        } else {
            if (uni) {
                wchar_t s[2] = {0x2591, 0};
                wattron(w, term_attr(ROLE_DIM));
                waddwstr(w, s);
                wattroff(w, term_attr(ROLE_DIM));
            } else waddch(w, '.' | term_attr(ROLE_DIM));
        }
    }
}

void widget_sparkline(WINDOW *w, int y, int x, int wd, const double *v, int n, attr_t attr)
{
    if (wd <= 0 || n <= 0) return;
    int start = n > wd ? n - wd : 0;
    double mn = INFINITY, mx = -INFINITY;
    for (int i = start; i < n; i++) {
        if (v[i] < mn) mn = v[i];
        if (v[i] > mx) mx = v[i];
    }
    static const char asc[] = "_.-=^";
    wmove(w, y, x);
    wattron(w, attr);
    for (int i = start; i < n; i++) {
        double f = mx > mn ? (v[i] - mn) / (mx - mn) : 0.5;
        if (term_unicode()) {
            wchar_t s[2] = {(wchar_t)(0x2581 + (int)lround(f * 7)), 0};
            waddwstr(w, s);
        } else waddch(w, (chtype)asc[(int)lround(f * 4)]);
    }
    wattroff(w, attr);
}

void widget_dialog(WINDOW *w, const char *title, const char *const *lines, int n, const char *input)
{
    int H, W;
    getmaxyx(w, H, W);
    int wd = 20;
    for (int i = 0; i < n; i++)
        if ((int)strlen(lines[i]) + 4 > wd) wd = (int)strlen(lines[i]) + 4;
    if (title && (int)strlen(title) + 6 > wd) wd = (int)strlen(title) + 6;
    if (wd > W) wd = W;
    int h = n + 2 + (input ? 2 : 0);
    if (h > H) h = H;
    int y = (H - h) / 2, x = (W - wd) / 2;
    for (int r = 0; r < h; r++) mvwhline(w, y + r, x, ' ', wd);
    widget_box(w, y, x, h, wd, title);
    for (int i = 0; i < n && 1 + i < h - 1; i++) widget_text(w, y + 1 + i, x + 2, wd - 4, A_NORMAL, lines[i]);
    if (input && h >= 4) {
        char buf[64];
        snprintf(buf, sizeof buf, "> %s_", input);
        widget_text(w, y + h - 2, x + 2, wd - 4, term_attr(ROLE_ACCENT), buf);
    }
}

void widget_human_bytes(long long b, char *out, size_t len)
{
    const char *u[] = {"B", "KB", "MB", "GB", "TB"};
    double v = (double)b;
    int i = 0;
    while (v >= 1024 && i < 4) v /= 1024, i++;
    if (i == 0) snprintf(out, len, "%lld B", b);
    else snprintf(out, len, "%.1f %s", v, u[i]);
}
