/* dashboard: the screen `aurl` opens — stage progress with ETA, resources
 * (the machine's CPU% total and per core, memory; the trainer's CPU%, RSS,
 * threads, BLAS kernel and MPI ranks), the loss chart (train raw + EMA,
 * validation points; log-y, smoothing and stage filter toggles) and the log
 * tail; `m` switches the lower part to the Music page (tui/music_view: the
 * latest training sample's metrics vs the data's, the distance chart, the
 * samples list, piano roll and playback). From 200 columns the Music panel
 * sits beside the chart. Lays out from 60x15 up. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/nn/blas_core.h"
#include "tui/app.h"
#include "tui/chart.h"
#include "tui/music_view.h"
#include "tui/screen.h"
#include "tui/term.h"
#include "tui/widgets.h"
#include "util/fileio.h"

static const double ALPHAS[] = {1.0, 0.3, 0.1, 0.03, 0.01};
#define N_ALPHAS 5

typedef struct {
    unsigned seen_version;
    int logy, alpha_i, filter; /* filter 0 = all stages */
    int dirty;
    int no_hint; /* the next-step dialog is shown this frame */
    int music;   /* the Music page instead of the chart and log */
    music_view mv;
} dash;

enum { ST_RAW = 1, ST_EMA = 2, ST_VAL = 3 };

static int tick(tui_screen *s, tui_ctx *c)
{
    dash *d = s->state;
    app_state *a = app_get();
    if (music_view_tick(&d->mv, c)) d->dirty = 1;
    if (a->version != d->seen_version || d->dirty) {
        d->seen_version = a->version;
        d->dirty = 0;
        return 1;
    }
    return 0;
}

static void stage_label(const train_stage_state *ss, int i, char *out, size_t len)
{
    const char *p = strrchr(ss->config_path, '/');
    p = p ? p + 1 : ss->config_path;
    const char *u = strchr(p, '_');
    if (u && *p) {
        const char *dot = strrchr(u, '.');
        int n = dot ? (int)(dot - u - 1) : (int)strlen(u + 1);
        snprintf(out, len, "%d %.*s", i + 1, n > 9 ? 9 : n, u + 1);
    } else snprintf(out, len, "stage %d", i + 1);
}

static void draw_progress(WINDOW *w, int y, int x, int h, int wd)
{
    app_state *a = app_get();
    widget_box(w, y, x, h, wd, "Progress");
    const train_state *st = &a->run.st;
    int64_t done[TRAIN_MAX_STAGES], total[TRAIN_MAX_STAGES], guess = 0, sum_d = 0, sum_t = 0;
    int epoch[TRAIN_MAX_STAGES];
    for (int i = 0; i < TRAIN_MAX_STAGES; i++) {
        const train_stage_state *ss = &st->stages[i];
        app_stage_progress(i + 1, &done[i], &epoch[i]);
        if (ss->status == STAGE_COMPLETE && ss->total_steps <= 0) done[i] = 1;
        total[i] = ss->total_steps;
        if (ss->total_steps > guess) guess = ss->total_steps;
    }
    for (int i = 0; i < TRAIN_MAX_STAGES; i++) {
        sum_d += done[i];
        sum_t += total[i] > 0 ? total[i] : guess;
    }
    int inner = wd - 2, row = y + 1;
    int barw = inner - 13 - 13;
    if (barw < 5) barw = 5;
    for (int i = 0; i < TRAIN_MAX_STAGES && row < y + h - 1; i++, row++) {
        const train_stage_state *ss = &st->stages[i];
        char lab[32], num[32];
        stage_label(ss, i, lab, sizeof lab);
        int cur = a->run.have_state && st->current_stage == i + 1 && ss->status != STAGE_COMPLETE;
        widget_textf(w, row, x + 1, 13, cur ? term_attr(ROLE_ACCENT) : A_NORMAL, "%c%-11.11s ", cur ? '>' : ' ', lab);
        double f = ss->status == STAGE_COMPLETE ? 1 : total[i] > 0 ? (double)done[i] / total[i] : 0;
        widget_bar(w, row, x + 14, barw, f, ss->status == STAGE_COMPLETE ? term_attr(ROLE_GOOD) : term_attr(ROLE_ACCENT));
        if (ss->status == STAGE_COMPLETE) snprintf(num, sizeof num, " done");
        else if (total[i] > 0) snprintf(num, sizeof num, " ep%d %lld/%lld", epoch[i] + 1, (long long)done[i], (long long)total[i]);
        else snprintf(num, sizeof num, " -");
        widget_text(w, row, x + 14 + barw, inner - 13 - barw, A_NORMAL, num);
    }
    if (row < y + h - 1) {
        widget_text(w, row, x + 1, 13, A_BOLD, " overall");
        widget_bar(w, row, x + 14, barw, sum_t > 0 ? (double)sum_d / sum_t : 0, term_attr(ROLE_TITLE));
        widget_textf(w, row, x + 14 + barw, inner - 13 - barw, A_NORMAL, " %3.0f%%", sum_t > 0 ? 100.0 * sum_d / sum_t : 0);
        row++;
    }
    if (row < y + h - 1) {
        char e1[16], e2[16];
        int cur = st->current_stage >= 1 && st->current_stage <= 3 ? st->current_stage - 1 : 0;
        int live = a->run.state == RUN_RUNNING;
        eta_format(live ? eta_seconds(&a->rate, (double)(total[cur] - done[cur])) : -1, e1, sizeof e1);
        eta_format(live ? eta_overall(&a->rate, done, total, TRAIN_MAX_STAGES, guess) : -1, e2, sizeof e2);
        widget_textf(w, row, x + 2, inner - 1, A_NORMAL, "ETA %s  all %s  %.1f step/s", e1, e2, a->rate.rate);
    }
}

static void draw_resources(WINDOW *w, int y, int x, int h, int wd)
{
    app_state *a = app_get();
    widget_box(w, y, x, h, wd, "Resources");
    int row = y + 1, inner = wd - 3;
    char b1[32], b2[32];
    char cores[160] = "";
    for (int i = 0, k = 0; i < a->cpu.n_cpus && k < (int)sizeof cores - 8; i++)
        k += snprintf(cores + k, sizeof cores - (size_t)k, " %.0f", a->cpu.core_pct[i] >= 0 ? a->cpu.core_pct[i] : 0);
    if (a->cpu.total_pct >= 0)
        widget_textf(w, row++, x + 2, inner, A_NORMAL, "CPU %.0f%% [%s ] load %.1f", a->cpu.total_pct, cores + 1,
                     a->load[0]);
    else widget_textf(w, row++, x + 2, inner, A_NORMAL, "CPU ... load %.1f", a->load[0]);
    if (a->run.pid > 0 && a->trainer.pid) {
        widget_human_bytes((long long)a->trainer.rss_kb * 1024, b1, sizeof b1);
        char cpu[16] = "...";
        if (a->trainer.cpu_pct >= 0) snprintf(cpu, sizeof cpu, "%.0f%%", a->trainer.cpu_pct);
        widget_textf(w, row++, x + 2, inner, A_NORMAL, "trainer %d: CPU %s, %d rank%s", a->run.pid, cpu, a->ranks,
                     a->ranks == 1 ? "" : "s");
        if (row < y + h - 1) widget_textf(w, row++, x + 2, inner, A_NORMAL, "RSS %s  threads %d", b1, a->trainer.threads);
    } else widget_text(w, row++, x + 2, inner, term_attr(ROLE_DIM), "no trainer running");
    if (row < y + h - 1) { /* our own kernel choice, which the trainer we start inherits */
        blas_core_info bi;
        blas_core_info_get(&bi);
        widget_textf(w, row++, x + 2, inner, A_NORMAL, "BLAS %s (%s)", bi.core, blas_core_source_name(bi.source));
    }
    if (row < y + h - 1) {
        widget_human_bytes((long long)(a->mem_total_kb - a->mem_avail_kb) * 1024, b1, sizeof b1);
        widget_human_bytes((long long)a->mem_total_kb * 1024, b2, sizeof b2);
        widget_textf(w, row++, x + 2, inner, A_NORMAL, "mem %s / %s", b1, b2);
    }
    if (row < y + h - 1) {
        widget_human_bytes(a->disk_bytes, b1, sizeof b1);
        widget_textf(w, row++, x + 2, inner, A_NORMAL, "outputs %s", b1);
    }
    if (row < y + h - 1 && a->tail.have_train) {
        char lab[32];
        snprintf(lab, sizeof lab, "%.0f tok/s ", a->tail.last_tokens_per_s);
        widget_text(w, row, x + 2, inner, A_NORMAL, lab);
        int lw = (int)strlen(lab);
        widget_sparkline(w, row, x + 2 + lw, inner - lw, a->tail.tps, a->tail.n_tps, term_attr(ROLE_ACCENT));
    }
}

/* Concatenate the stages' series on one x axis (each stage offset by the
 * planned steps of the stages before it), or one stage's. */
static size_t collect(const mtail_series *ser, const train_state *st, int filter, double *xs, double *ys, size_t cap)
{
    size_t k = 0;
    double off = 0;
    for (int s = 0; s < MTAIL_STAGES; s++) {
        const mtail_series *q = &ser[s];
        if (!filter || filter == s + 1)
            for (size_t i = 0; i < q->n && k < cap; i++, k++) {
                xs[k] = q->x[i] + (filter ? 0 : off);
                ys[k] = q->y[i];
            }
        double span = (double)st->stages[s].total_steps;
        if (q->n && q->x[q->n - 1] > span) span = q->x[q->n - 1];
        off += span;
    }
    return k;
}

static void draw_chart(dash *d, WINDOW *w, int y, int x, int h, int wd)
{
    app_state *a = app_get();
    char title[96], which[16], ema[16];
    if (d->filter) snprintf(which, sizeof which, "stage %d", d->filter);
    else snprintf(which, sizeof which, "all stages");
    if (d->alpha_i) snprintf(ema, sizeof ema, "EMA %.2f", ALPHAS[d->alpha_i]);
    else snprintf(ema, sizeof ema, "EMA off");
    snprintf(title, sizeof title, "Loss: %s, %s%s", which, ema, d->logy ? ", log-y" : "");
    widget_box(w, y, x, h, wd, title);
    int labw = 7, cw = wd - 2 - labw - 1, ch = h - 3;
    if (cw < 4 || ch < 2) return;
    size_t ntr = 0, nv = 0;
    for (int s = 0; s < MTAIL_STAGES; s++) ntr += a->tail.train[s].n, nv += a->tail.val[s].n;
    if (ntr + nv == 0) {
        if (d->no_hint) return; /* the next-step dialog covers the chart */
        widget_text(w, y + 1 + ch / 2, x + 3, wd - 4, term_attr(ROLE_DIM),
                    a->run.pid > 0 ? "waiting for the first train record..." : "no metrics yet");
        return;
    }
    double *buf = malloc(sizeof(double) * (3 * ntr + 2 * nv + 4));
    if (!buf) return;
    double *tx = buf, *ty = tx + ntr, *te = ty + ntr, *vx = te + ntr, *vy = vx + nv;
    ntr = collect(a->tail.train, &a->run.st, d->filter, tx, ty, ntr);
    nv = collect(a->tail.val, &a->run.st, d->filter, vx, vy, nv);
    chart_ema(ty, te, ntr, ALPHAS[d->alpha_i]);
    chart_axes ax = {.logy = d->logy};
    ax.x0 = 0;
    ax.x1 = 1;
    for (size_t i = 0; i < ntr; i++) if (tx[i] > ax.x1) ax.x1 = tx[i];
    for (size_t i = 0; i < nv; i++) if (vx[i] > ax.x1) ax.x1 = vx[i];
    chart_autoscale(ty, ntr, vy, nv, d->logy, &ax.y0, &ax.y1);
    chart_canvas cv;
    chart_mode mode = term_unicode() ? CHART_BRAILLE : CHART_ASCII;
    if (chart_canvas_init(&cv, cw, ch, mode) != 0) {
        free(buf);
        return;
    }
    if (d->alpha_i) chart_plot_line(&cv, &ax, tx, ty, ntr, ST_RAW);
    chart_plot_line(&cv, &ax, tx, te, ntr, ST_EMA);
    chart_plot_points(&cv, &ax, vx, vy, nv, ST_VAL);
    int cx0 = x + 1 + labw + 1, cy0 = y + 1;
    for (int r = 0; r < ch; r++)
        for (int cc = 0; cc < cw; cc++) {
            int style = 0;
            wchar_t g = chart_cell_glyph(&cv, cc, r, &style);
            if (!g) continue;
            attr_t at = style == ST_RAW ? term_attr(ROLE_DIM) : style == ST_EMA ? term_attr(ROLE_ACCENT) : term_attr(ROLE_VAL);
            if (mode == CHART_ASCII) g = style == ST_RAW ? '.' : style == ST_EMA ? '*' : 'o';
            if (mode == CHART_ASCII) mvwaddch(w, cy0 + r, cx0 + cc, (chtype)g | at);
            else {
                wchar_t s2[2] = {g, 0};
                wattron(w, at);
                mvwaddwstr(w, cy0 + r, cx0 + cc, s2);
                wattroff(w, at);
            }
        }
    double ticks[8];
    int nt = chart_nice_ticks(ax.y0, ax.y1, d->logy, ticks, ch >= 8 ? 5 : 3);
    for (int i = 0; i < nt; i++) {
        int py = chart_y_to_px(&cv, &ax, ticks[i]);
        char lab[16];
        chart_format_tick(ticks[i], lab, sizeof lab);
        widget_textf(w, cy0 + py / cv.sy, x + 1, labw, term_attr(ROLE_DIM), "%*s", labw, lab);
    }
    char xl[64];
    snprintf(xl, sizeof xl, "step 0 .. %.0f   train %s val %s", ax.x1, mode == CHART_ASCII ? "*" : "line",
             mode == CHART_ASCII ? "o" : "dots");
    widget_text(w, y + h - 2, cx0, cw, term_attr(ROLE_DIM), xl);
    chart_canvas_free(&cv);
    free(buf);
}

static void draw_log(WINDOW *w, int y, int x, int h, int wd)
{
    app_state *a = app_get();
    char title[96] = "Log";
    if (a->tail.garbage)
        snprintf(title, sizeof title, "Log (%ld unreadable line%s of metrics.jsonl skipped)", a->tail.garbage,
                 a->tail.garbage == 1 ? "" : "s");
    widget_box(w, y, x, h, wd, title);
    int lines = h - 2;
    int n = a->tail.n_events, start = n > lines ? n - lines : 0;
    for (int i = start, r = 0; i < n; i++, r++) {
        const mtail_event *e = mtail_event_at(&a->tail, i);
        attr_t at = e->level == 2 ? term_attr(ROLE_BAD) : e->level == 1 ? term_attr(ROLE_WARN) : A_NORMAL;
        widget_text(w, y + 1 + r, x + 2, wd - 4, at, e->text);
    }
    if (n == 0) widget_text(w, y + 1, x + 2, wd - 4, term_attr(ROLE_DIM), "no events yet");
}

static int a_state_damaged(void) { return app_get()->run.state_err[0] && app_get()->run.pid <= 0; }

/* What to do next when nothing has been trained (or the state is damaged). */
static const char *next_step(const tui_ctx *c)
{
    app_state *a = app_get();
    static char msg[AURL_ERR_LEN + 160];
    if (a->run.state_err[0] && a->run.pid <= 0) { /* shown as is: the TUI never touches the file */
        snprintf(msg, sizeof msg, "%s. Left untouched; F2 starts training, which moves it aside and starts fresh.",
                 a->run.state_err);
        return msg;
    }
    if (a->run.pid > 0 || a->run.have_state || a->tail.records) return NULL;
    char p[4200];
    snprintf(p, sizeof p, "%s/midi", c->g->data_dir);
    if (!file_is_dir(p)) return "No MIDI data yet: run `aurl data fetch` (or `make data`), then press F2/s to train.";
    return "No training yet: press F2 (or s) to choose a profile and start training.";
}

static void draw(tui_screen *s, tui_ctx *c, WINDOW *w)
{
    dash *d = s->state;
    werase(w);
    int H, W;
    getmaxyx(w, H, W);
    int toph = H >= 20 ? 8 : 7; /* Resources: 6 rows when there is room */
    int logh = H >= 40 ? 10 : H >= 30 ? 7 : 5;
    int charth = H - toph - logh;
    if (charth < 5) {
        logh = 3;
        charth = H - toph - logh;
    }
    int lw = W * 55 / 100;
    if (W - lw < 28) lw = W - 28;
    const char *ns = next_step(c);
    d->no_hint = ns != NULL;
    draw_progress(w, 0, 0, toph, lw);
    draw_resources(w, 0, lw, toph, W - lw);
    if (d->music) music_view_draw(&d->mv, w, toph, 0, charth + logh, W);
    else if (W >= 200) { /* room for the Music panel beside the chart */
        draw_chart(d, w, toph, 0, charth, W - 100);
        music_view_draw(&d->mv, w, toph, W - 100, charth, 100);
        draw_log(w, toph + charth, 0, logh, W);
    } else {
        draw_chart(d, w, toph, 0, charth, W);
        draw_log(w, toph + charth, 0, logh, W);
    }
    if (d->mv.roll_open) {
        werase(w);
        music_view_draw_roll(&d->mv, w);
        return;
    }
    if (ns) {
        /* wrap the text into lines that fit the body */
        char buf[AURL_ERR_LEN + 200], *lines[8];
        int n = 0, room = W - 6 < 20 ? 20 : W - 6;
        snprintf(buf, sizeof buf, "%s", ns);
        for (char *p = buf; *p && n < 8;) {
            lines[n++] = p;
            size_t len = strlen(p);
            if ((int)len <= room) break;
            char *cut = p + room;
            while (cut > p && *cut != ' ') cut--;
            if (cut == p) cut = p + room;
            *cut = 0;
            p = cut + 1;
        }
        widget_dialog(w, a_state_damaged() ? "Damaged training state" : "Next step", (const char *const *)lines, n, NULL);
    }
}

static int key(tui_screen *s, tui_ctx *c, int ch)
{
    dash *d = s->state;
    if (ch == 'm' && !d->mv.roll_open) {
        d->music = !d->music;
        if (!d->music) d->mv.list = 0;
        d->dirty = 1;
        return SCREEN_KEY_HANDLED;
    }
    if (d->music || d->mv.roll_open || ch == 'o') { /* p stays pause outside the Music page */
        int r = music_view_key(&d->mv, c, ch);
        d->dirty = 1;
        if (r == SCREEN_KEY_HANDLED || d->mv.roll_open) return r;
        if (ch == 27) {
            d->music = 0;
            return SCREEN_KEY_HANDLED;
        }
    }
    switch (ch) {
    case 'l': d->logy = !d->logy; break;
    case 'f': d->filter = (d->filter + 1) % (MTAIL_STAGES + 1); break;
    case '+': case '=': if (d->alpha_i < N_ALPHAS - 1) d->alpha_i++; break;
    case '-': case '_': if (d->alpha_i > 0) d->alpha_i--; break;
    default: return SCREEN_KEY_UNHANDLED;
    }
    snprintf(c->message, sizeof c->message, "chart: %s y, EMA %s, %s", d->logy ? "log" : "linear",
             d->alpha_i ? "on" : "off", d->filter ? "one stage" : "all stages");
    c->message_is_error = 0;
    d->dirty = 1;
    return SCREEN_KEY_HANDLED;
}

static const char *keybar(tui_screen *s)
{
    dash *d = s->state;
    if (d->mv.roll_open) return "arrows scroll  +/- zoom  p play  Esc close";
    if (d->music) return d->mv.list ? "Up/Dn  Enter roll  p play  Esc back  m chart" : "m chart  o roll  p play  v samples";
    return "l log-y  f stage  +/- smooth  m music  o roll";
}

static void destroy(tui_screen *s)
{
    if (s && s->state) music_view_free(&((dash *)s->state)->mv);
    screen_free(s);
}

static void enter(tui_screen *s, tui_ctx *c) { ((dash *)s->state)->dirty = 1; }

static const tui_screen OPS = {.name = "Dashboard", .enter = enter, .tick = tick, .draw = draw, .key = key,
                                .keybar = keybar, .destroy = destroy};

tui_screen *dashboard_screen_create(void)
{
    tui_screen *s = screen_new(&OPS, sizeof(dash));
    if (!s) return NULL;
    dash *d = s->state;
    d->alpha_i = 2;
    music_view_init(&d->mv);
    return s;
}
