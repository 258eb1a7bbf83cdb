/* music_view: the dashboard's Music page (see the header). */
#include "tui/music_view.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/midi_worker.h"
#include "tui/app.h"
#include "tui/chart.h"
#include "tui/term.h"
#include "tui/widgets.h"

#define ESC 27
#define RESCAN_SECONDS 2.0


void music_view_init(music_view *v)
{
    memset(v, 0, sizeof *v);
    roll_init(&v->roll);
}

static void stop_play(music_view *v)
{
    audition_stop(v->play);
    v->play = NULL;
    v->play_path[0] = 0;
}

void music_view_free(music_view *v)
{
    stop_play(v);
    roll_free(&v->roll);
    msample_list_free(&v->samples);
}

int music_view_tick(music_view *v, tui_ctx *c)
{
    int changed = 0;
    if (v->list && c->now >= v->next_scan) { /* only the list needs the files */
        v->next_scan = c->now + RESCAN_SECONDS;
        size_t before = v->samples.n;
        msample_list_free(&v->samples);
        msample_scan(&v->samples, c->g->outputs_dir);
        if (v->sel >= v->samples.n) v->sel = v->samples.n ? v->samples.n - 1 : 0;
        changed = v->list && before != v->samples.n;
    }
    if (v->play) {
        if (!audition_playing(v->play)) stop_play(v);
        changed = 1;
    }
    if (v->render_pending > 0 && --v->render_pending == 0) {
        char err[AURL_ERR_LEN];
        double peak = 0;
        if (audition_render_wav(v->render_mid, v->render_wav, NULL, &peak, err) != 0)
            tui_message(c, 1, "cannot render a WAV: %s", err);
        else tui_message(c, 0, "WAV: %s (no audio device; peak %.2f)", v->render_wav, peak);
        changed = 1;
    }
    return changed;
}

/* V with D decimals into BUF, "-" when not finite. */
static const char *fmtv(char *buf, size_t len, double x, int d)
{
    if (isfinite(x)) snprintf(buf, len, "%.*f", d, x);
    else snprintf(buf, len, "-");
    return buf;
}

/* The ratio bar: WD cells filled to FRAC, with the middle (ratio 1) marked. */
static void ratio_bar(WINDOW *w, int y, int x, int wd, double frac, int mark_mid)
{
    if (wd < 3) return;
    if (!isfinite(frac)) return;
    widget_bar(w, y, x, wd, frac, term_attr(ROLE_ACCENT));
    if (mark_mid) mvwaddch(w, y, x + wd / 2, '|' | term_attr(ROLE_DIM));
}

/* The distance over the samples as a chart in (y, x, h, wd). */
static void draw_distance(const mpanel *p, WINDOW *w, int y, int x, int h, int wd)
{
    widget_box(w, y, x, h, wd, "distance to data");
    int labw = 5, cw = wd - 3 - labw, ch = h - 2;
    if (cw < 4 || ch < 2 || p->n_hist == 0) return;
    chart_axes ax = {.x0 = 0, .x1 = p->n_hist > 1 ? p->hx[p->n_hist - 1] : 1};
    ax.x0 = p->hx[0];
    if (ax.x1 <= ax.x0) ax.x1 = ax.x0 + 1;
    chart_autoscale(p->hy, (size_t)p->n_hist, NULL, 0, 0, &ax.y0, &ax.y1);
    chart_canvas cv;
    chart_mode mode = term_unicode() ? CHART_BRAILLE : CHART_ASCII;
    if (chart_canvas_init(&cv, cw, ch, mode) != 0) return;
    chart_plot_line(&cv, &ax, p->hx, p->hy, (size_t)p->n_hist, 1);
    chart_plot_points(&cv, &ax, p->hx, p->hy, (size_t)p->n_hist, 2);
    int cx0 = x + 2 + labw, cy0 = y + 1;
    for (int r = 0; r < ch; r++)
        for (int cc = 0; cc < cw; cc++) {
            int style = 0;
            wchar_t g = chart_cell_glyph(&cv, cc, r, &style);
            if (!g) continue;
            attr_t at = style == 2 ? term_attr(ROLE_VAL) : term_attr(ROLE_ACCENT);
            if (mode == CHART_ASCII) mvwaddch(w, cy0 + r, cx0 + cc, (chtype)(style == 2 ? 'o' : '*') | at);
            else {
                wchar_t s2[2] = {g, 0};
                wattron(w, at);
                mvwaddwstr(w, cy0 + r, cx0 + cc, s2);
                wattroff(w, at);
            }
        }
    char lo[16], hi[16];
    chart_format_tick(ax.y1, hi, sizeof hi);
    chart_format_tick(ax.y0, lo, sizeof lo);
    widget_textf(w, cy0, x + 1, labw, term_attr(ROLE_DIM), "%*s", labw, hi);
    widget_textf(w, cy0 + ch - 1, x + 1, labw, term_attr(ROLE_DIM), "%*s", labw, lo);
    chart_canvas_free(&cv);
}

/* The latest sample's rows (metric, value, data, ratio, bar). */
static void draw_panel(const mpanel *p, WINDOW *w, int y, int x, int h, int wd)
{
    char title[160], a[32], b[32], r[32];
    if (p->have)
        snprintf(title, sizeof title, "Music: s%d step %lld, %s s, %.0f notes, dist %s", p->stage,
                 (long long)p->step, fmtv(a, sizeof a, p->duration, 1), isfinite(p->notes) ? p->notes : 0,
                 fmtv(b, sizeof b, p->distance, 2));
    else snprintf(title, sizeof title, "Music");
    widget_box(w, y, x, h, wd, title);
    if (!p->have) {
        widget_text(w, y + 1, x + 2, wd - 4, term_attr(ROLE_DIM),
                    "no training samples yet: one comes at each validation");
        widget_text(w, y + 2, x + 2, wd - 4, term_attr(ROLE_DIM), "(training.sample_every; v lists them)");
        return;
    }
    mpanel_row rows[MPANEL_KEYS];
    int n = mpanel_rows(p, rows);
    int barw = wd - 2 - 12 - 8 - 8 - 7 - 2;
    if (barw > 24) barw = 24;
    int row = y + 1;
    widget_textf(w, row++, x + 2, wd - 3, term_attr(ROLE_DIM), "%-11s %7s %7s %6s", "metric", "sample",
                 p->have_data ? "data" : "(data?)", "ratio");
    for (int i = 0; i < n && row < y + h - 1; i++, row++) {
        const mpanel_row *q = &rows[i];
        widget_textf(w, row, x + 2, wd - 3, A_NORMAL, "%-11s %7s %7s %6s", q->label, fmtv(a, sizeof a, q->gen, q->decimals),
                     fmtv(b, sizeof b, q->data, q->decimals), fmtv(r, sizeof r, q->ratio, 2));
        ratio_bar(w, row, x + 2 + 11 + 8 + 8 + 7 + 1, barw, q->bar, isfinite(q->ratio));
    }
    if (row < y + h - 1 && isfinite(p->cost))
        widget_textf(w, row, x + 2, wd - 3, term_attr(ROLE_DIM), "o roll  p play  v list   last sample took %.2f s",
                     p->cost);
}

/* The training samples by stage and step. */
static void draw_list(music_view *v, WINDOW *w, int y, int x, int h, int wd)
{
    char title[96];
    snprintf(title, sizeof title, "Samples (%zu): Enter roll, p play, Esc back", v->samples.n);
    widget_box(w, y, x, h, wd, title);
    int lines = h - 2;
    if (v->samples.n == 0) {
        widget_text(w, y + 1, x + 2, wd - 4, term_attr(ROLE_DIM), "no training samples yet");
        return;
    }
    if (v->sel < v->top) v->top = v->sel;
    if (lines > 0 && v->sel >= v->top + (size_t)lines) v->top = v->sel - (size_t)lines + 1;
    for (int i = 0; i < lines && v->top + (size_t)i < v->samples.n; i++) {
        size_t k = v->top + (size_t)i;
        const msample *it = &v->samples.items[k];
        char line[320];
        msample_format(it, line, sizeof line);
        attr_t at = k == v->sel ? term_attr(ROLE_SELECTED) : it->error[0] ? term_attr(ROLE_BAD) : A_NORMAL;
        int playing = v->play && !strcmp(v->play_path, it->mid_path);
        widget_text(w, y + 1 + i, x + 1, 2, term_attr(ROLE_PLAYHEAD), playing ? ">" : " ");
        widget_text(w, y + 1 + i, x + 3, wd - 4, at, line);
    }
}

void music_view_draw(music_view *v, WINDOW *w, int y, int x, int h, int wd)
{
    const mpanel *p = &app_get()->tail.music;
    if (v->list) {
        draw_list(v, w, y, x, h, wd);
        return;
    }
    int pw = wd >= 76 ? 52 : wd;
    if (wd - pw < 20) pw = wd;
    draw_panel(p, w, y, x, h, pw);
    if (pw < wd) draw_distance(p, w, y, x + pw, h, wd - pw);
}

void music_view_draw_roll(music_view *v, WINDOW *w)
{
    int h, wd;
    getmaxyx(w, h, wd);
    double ph = v->play && !strcmp(v->play_path, v->roll_path) ? audition_position(v->play) : -1;
    if (ph >= 0) roll_follow(&v->roll, ph);
    roll_draw(&v->roll, w, 0, 0, h, wd, ph);
}

/* Open MID as a piano roll; a missing or damaged file is a message. */
static void open_roll(music_view *v, tui_ctx *c, const char *mid)
{
    if (!mid || !mid[0]) {
        tui_message(c, 1, "no training sample yet");
        return;
    }
    score sc;
    score_init(&sc);
    char err[AURL_ERR_LEN];
    if (midi_read_isolated(mid, &sc, err) != 0) {
        tui_message(c, 1, "cannot open the sample: %s", err);
        score_free(&sc);
        return;
    }
    const char *name = strrchr(mid, '/');
    roll_set(&v->roll, &sc, NULL, 0, name ? name + 1 : mid);
    snprintf(v->roll_path, sizeof v->roll_path, "%s", mid);
    v->roll_open = 1;
    tui_message(c, 0, "%s: p plays, Esc closes", mid);
}

/* Play MID (or stop what plays); without audio, render a WAV beside it. */
static void toggle_play(music_view *v, tui_ctx *c, const char *mid)
{
    if (v->play) {
        int same = mid && !strcmp(v->play_path, mid);
        stop_play(v);
        tui_message(c, 0, "stopped");
        if (same) return;
    }
    if (!mid || !mid[0]) {
        tui_message(c, 1, "no training sample yet");
        return;
    }
    char err[AURL_ERR_LEN];
    if (audition_play(&v->play, mid, NULL, err) == 0) {
        snprintf(v->play_path, sizeof v->play_path, "%s", mid);
        tui_message(c, 0, "playing %s (p stops)", mid);
        return;
    }
    v->play = NULL;
    size_t n = strlen(mid);
    snprintf(v->render_mid, sizeof v->render_mid, "%s", mid);
    snprintf(v->render_wav, sizeof v->render_wav, "%.*s.wav", (int)(n > 4 ? n - 4 : n), mid);
    v->render_pending = 2; /* show the notice first, render on a later tick */
    tui_message(c, 0, "rendering a WAV... (%s)", err);
}

static int is_enter(int ch) { return ch == '\n' || ch == '\r' || ch == KEY_ENTER; }

int music_view_key(music_view *v, tui_ctx *c, int ch)
{
    char latest[4200];
    mpanel_latest_mid(&app_get()->tail.music, c->g->outputs_dir, latest, sizeof latest);
    const msample *sel = v->sel < v->samples.n ? &v->samples.items[v->sel] : NULL;
    if (v->roll_open) {
        if (ch == ESC || ch == KEY_BACKSPACE || ch == 127) v->roll_open = 0;
        else if (ch == 'p') toggle_play(v, c, v->roll_path);
        else if (!roll_key(&v->roll, ch)) return SCREEN_KEY_UNHANDLED;
        return SCREEN_KEY_HANDLED;
    }
    if (v->list) {
        if (ch == ESC || ch == 'v') v->list = 0;
        else if (ch == KEY_UP && v->sel > 0) v->sel--;
        else if (ch == KEY_DOWN && v->sel + 1 < v->samples.n) v->sel++;
        else if (ch == KEY_HOME) v->sel = 0;
        else if (ch == KEY_END && v->samples.n) v->sel = v->samples.n - 1;
        else if (is_enter(ch) || ch == 'o') open_roll(v, c, sel ? sel->mid_path : NULL);
        else if (ch == 'p') toggle_play(v, c, sel ? sel->mid_path : NULL);
        else if (ch != KEY_UP && ch != KEY_DOWN) return SCREEN_KEY_UNHANDLED;
        return SCREEN_KEY_HANDLED;
    }
    switch (ch) {
    case 'o': open_roll(v, c, latest); return SCREEN_KEY_HANDLED;
    case 'p': toggle_play(v, c, latest); return SCREEN_KEY_HANDLED;
    case 'v':
        v->list = 1;
        v->next_scan = 0;
        music_view_tick(v, c);
        if (v->samples.n) v->sel = v->samples.n - 1;
        return SCREEN_KEY_HANDLED;
    default: return SCREEN_KEY_UNHANDLED;
    }
}
