/* widgets: small drawing helpers shared by the TUI screens — clipped text,
 * boxes with titles, progress bars, sparklines and centred dialogs, in
 * Unicode or ASCII glyphs as term_unicode() says. They only draw into a
 * window; they never refresh. */
#ifndef AURL_TUI_WIDGETS_H
#define AURL_TUI_WIDGETS_H

#include <curses.h>
#include <stddef.h>

/* Text at (y, x) clipped to MAXW columns (and to the window), with ATTR. */
void widget_text(WINDOW *w, int y, int x, int maxw, attr_t attr, const char *s);
/* printf variant of widget_text. */
void widget_textf(WINDOW *w, int y, int x, int maxw, attr_t attr, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Frame of H x W at (y, x) with TITLE (may be NULL) in its top edge. */
void widget_box(WINDOW *w, int y, int x, int h, int wd, const char *title);
/* Horizontal progress bar of WD columns filled to FRAC (0..1). */
void widget_bar(WINDOW *w, int y, int x, int wd, double frac, attr_t attr);
/* Sparkline of the last WD values of V (scaled to their min..max). */
void widget_sparkline(WINDOW *w, int y, int x, int wd, const double *v, int n, attr_t attr);
/* Centred dialog over W: TITLE, N lines of text, and, if INPUT is not
 * NULL, an input field showing it. */
void widget_dialog(WINDOW *w, const char *title, const char *const *lines, int n, const char *input);
/* Human size: "512 B", "3.4 MB", "1.2 GB". */
void widget_human_bytes(long long bytes, char *out, size_t len);
#endif
