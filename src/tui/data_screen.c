/* data_screen: the Dataset screen: totals, a scrollable and searchable list
 * of the cached files (duration, tokens, instruments, split or reject
 * reason); Enter opens a file as a piano roll, Tab toggles its token view. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"
#include "tui/data_list.h"
#include "tui/roll_draw.h"
#include "tui/screen.h"
#include "tui/term.h"

typedef enum { MODE_LIST, MODE_ROLL, MODE_TOKENS } ds_mode;

typedef struct {
    dlist d;
    int loaded;         /* dlist_load was tried */
    size_t sel, top;    /* selection and first visible row of the view */
    int searching;      /* typing into the filter */
    ds_mode mode;
    roll_state roll;
    int list_rows;      /* rows of the list at the last draw (for paging) */
    int dirty;
} ds_state;

#define ESC 27

static void load(ds_state *st, tui_ctx *c)
{
    roll_free(&st->roll); /* it may point at tokens of the old mapping */
    st->mode = MODE_LIST;
    dlist_load(&st->d, c->g->data_dir);
    st->loaded = 1;
    st->sel = st->top = 0;
    st->dirty = 1;
}

static void enter(tui_screen *s, tui_ctx *c)
{
    ds_state *st = s->state;
    if (!st->loaded || !st->d.c) load(st, c);
    st->dirty = 1;
}

static int tick(tui_screen *s, tui_ctx *c)
{
    ds_state *st = s->state;
    int d = st->dirty;
    st->dirty = 0;
    return d;
}

/* 1234 -> "1234", 614767 -> "615k", 2.5e6 -> "2.5M". */
static void human_count(double v, char *buf, size_t len)
{
    if (v < 10000) snprintf(buf, len, "%.0f", v);
    else if (v < 1e6) snprintf(buf, len, "%.0fk", v / 1e3);
    else snprintf(buf, len, "%.1fM", v / 1e6);
}

static void draw_list(ds_state *st, tui_ctx *c, WINDOW *w, int h, int wd)
{
    dlist *d = &st->d;
    char line[512], dur[32];
    if (!d->c) {
        roll_put(w, 1, 2, wd - 4, term_attr(ROLE_WARN), "No dataset yet.");
        /* wrap the message over a few lines */
        const char *m = d->message;
        int y = 3, width = wd - 4 > 10 ? wd - 4 : 10;
        while (*m && y < h - 1) {
            int n = (int)strlen(m);
            if (n > width) {
                n = width;
                while (n > width / 2 && m[n] != ' ') n--;
            }
            snprintf(line, sizeof line, "%.*s", n, m);
            roll_put(w, y++, 2, width, A_NORMAL, line);
            m += n;
            while (*m == ' ') m++;
        }
        roll_put(w, y + 1 < h ? y + 1 : h - 1, 2, wd - 4, term_attr(ROLE_DIM), "Press r to reload.");
        return;
    }
    const dlist_totals *t = &d->totals;
    dlist_format_duration(t->seconds, dur, sizeof dur);
    char toks[32], notes[32];
    human_count((double)t->tokens, toks, sizeof toks);
    human_count((double)t->notes, notes, sizeof notes);
    snprintf(line, sizeof line, "%zu files (%zu ok, %zu val, %zu rejected)  %s tokens  %s notes  %s of music", t->files,
             t->accepted, t->val, t->rejected, toks, notes, dur);
    roll_put(w, 0, 0, wd, term_attr(ROLE_TITLE), line);
    static const char *sorts[] = {"name", "duration", "tokens"};
    if (st->searching || d->filter[0])
        snprintf(line, sizeof line, "Search: %s%s   %zu of %zu shown   sort: %s", d->filter, st->searching ? "_" : "",
                 d->n_view, d->n_rows, sorts[d->sort]);
    else
        snprintf(line, sizeof line, "%zu files   sort: %s   (/ search, o sort, Enter open)", d->n_view, sorts[d->sort]);
    roll_put(w, 1, 0, wd, st->searching ? term_attr(ROLE_ACCENT) : term_attr(ROLE_DIM), line);
    /* columns: name | duration | tokens | instruments | split or reason */
    int name_w = wd - 8 - 8 - 16 - 9 - 4;
    if (name_w < 12) name_w = 12;
    snprintf(line, sizeof line, "%-*.*s %7s %7s  %-16s %s", name_w, name_w, "File", "Dur", "Tokens", "Instruments", "Split");
    roll_put(w, 2, 0, wd, A_UNDERLINE | term_attr(ROLE_TITLE), line);
    int rows = h - 3;
    st->list_rows = rows;
    if (!d->n_view) {
        roll_put(w, 4, 2, wd - 2, term_attr(ROLE_DIM), d->n_rows ? "No file matches the search (Esc clears it)." : d->message);
        return;
    }
    if (st->sel >= d->n_view) st->sel = d->n_view - 1;
    if (st->sel < st->top) st->top = st->sel;
    if (rows > 0 && st->sel >= st->top + (size_t)rows) st->top = st->sel - (size_t)rows + 1;
    for (int i = 0; i < rows && st->top + (size_t)i < d->n_view; i++) {
        size_t k = st->top + (size_t)i;
        const dlist_row *r = dlist_view_row(d, k);
        const char *path = r->e->path;
        int pl = (int)strlen(path);
        char shown[512]; /* keep the end of a long path, the file name */
        if (pl > name_w) snprintf(shown, sizeof shown, "..%s", path + (pl - name_w + 2));
        else snprintf(shown, sizeof shown, "%s", path);
        char fam[64];
        if (r->e->split == CACHE_REJECTED)
            snprintf(line, sizeof line, "%-*.*s %7s %7s  rejected: %s", name_w, name_w, shown, "-", "-", dlist_status(r));
        else {
            dlist_format_duration(r->e->duration, dur, sizeof dur);
            dlist_families_str(r->families, fam, sizeof fam);
            snprintf(line, sizeof line, "%-*.*s %7s %7zu  %-16.16s %s", name_w, name_w, shown, dur, r->e->n_tokens, fam,
                     dlist_status(r));
        }
        int pad = (int)strlen(line);
        if (pad < wd && pad < (int)sizeof line - 1) {
            memset(line + pad, ' ', (size_t)((wd < (int)sizeof line - 1 ? wd : (int)sizeof line - 1) - pad));
            line[wd < (int)sizeof line - 1 ? wd : (int)sizeof line - 1] = 0;
        }
        attr_t a = k == st->sel ? term_attr(ROLE_SELECTED)
                   : r->e->split == CACHE_REJECTED ? term_attr(ROLE_BAD)
                                                  : A_NORMAL;
        roll_put(w, 3 + i, 0, wd, a, line);
    }
}

static void draw(tui_screen *s, tui_ctx *c, WINDOW *body)
{
    ds_state *st = s->state;
    werase(body);
    int h, wd;
    getmaxyx(body, h, wd);
    if (st->mode == MODE_ROLL) roll_draw(&st->roll, body, 0, 0, h, wd, -1);
    else if (st->mode == MODE_TOKENS) roll_draw_tokens(&st->roll, body, 0, 0, h, wd);
    else draw_list(st, c, body, h, wd);
}

static void open_selected(ds_state *st, tui_ctx *c)
{
    const dlist_row *r = dlist_view_row(&st->d, st->sel);
    if (!r) return;
    score sc;
    score_init(&sc);
    char err[AURL_ERR_LEN];
    if (dlist_load_score(&st->d, st->sel, &sc, err) != 0) {
        snprintf(c->message, sizeof c->message, "%s", err);
        c->message_is_error = 1;
        score_free(&sc);
        return;
    }
    roll_set(&st->roll, &sc, r->e->tokens, r->e->n_tokens, r->e->path);
    st->mode = MODE_ROLL;
}

static int is_enter(int ch) { return ch == '\n' || ch == '\r' || ch == KEY_ENTER; }
static int is_backspace(int ch) { return ch == KEY_BACKSPACE || ch == 127 || ch == 8; }

static int key_search(ds_state *st, int ch)
{
    dlist *d = &st->d;
    char q[sizeof d->filter];
    snprintf(q, sizeof q, "%s", d->filter);
    size_t n = strlen(q);
    if (ch == ESC) {
        st->searching = 0;
        q[0] = 0;
    } else if (is_enter(ch)) {
        st->searching = 0;
    } else if (is_backspace(ch)) {
        if (n) q[n - 1] = 0;
    } else if (ch >= 32 && ch < 127) {
        if (n + 1 < sizeof q) q[n] = (char)ch, q[n + 1] = 0;
    } else if (ch == KEY_UP || ch == KEY_DOWN) {
        st->searching = 0; /* leave typing, keep the filter, move */
        return SCREEN_KEY_UNHANDLED;
    } else {
        return (ch >= KEY_F(1) && ch <= KEY_F(12)) || ch == KEY_RESIZE ? SCREEN_KEY_UNHANDLED : SCREEN_KEY_HANDLED;
    }
    dlist_set_filter(d, q);
    st->sel = st->top = 0;
    return SCREEN_KEY_HANDLED;
}

static int key(tui_screen *s, tui_ctx *c, int ch)
{
    ds_state *st = s->state;
    st->dirty = 1;
    if (st->mode == MODE_ROLL || st->mode == MODE_TOKENS) {
        if (ch == ESC || is_backspace(ch)) {
            st->mode = MODE_LIST;
            return SCREEN_KEY_HANDLED;
        }
        if (ch == '\t') {
            st->mode = st->mode == MODE_ROLL ? MODE_TOKENS : MODE_ROLL;
            return SCREEN_KEY_HANDLED;
        }
        int page = st->list_rows > 2 ? st->list_rows : 10;
        int handled = st->mode == MODE_ROLL ? roll_key(&st->roll, ch) : roll_token_key(&st->roll, ch, page);
        if (handled) return SCREEN_KEY_HANDLED;
        st->dirty = 0;
        return SCREEN_KEY_UNHANDLED;
    }
    if (st->searching) {
        int r = key_search(st, ch);
        if (r == SCREEN_KEY_HANDLED) return r;
    }
    dlist *d = &st->d;
    size_t n = d->n_view, page = st->list_rows > 1 ? (size_t)st->list_rows - 1 : 1;
    switch (ch) {
    case KEY_UP: if (st->sel) st->sel--; return SCREEN_KEY_HANDLED;
    case KEY_DOWN: if (st->sel + 1 < n) st->sel++; return SCREEN_KEY_HANDLED;
    case KEY_PPAGE: st->sel = st->sel > page ? st->sel - page : 0; return SCREEN_KEY_HANDLED;
    case KEY_NPAGE: st->sel = st->sel + page < n ? st->sel + page : (n ? n - 1 : 0); return SCREEN_KEY_HANDLED;
    case KEY_HOME: st->sel = 0; return SCREEN_KEY_HANDLED;
    case KEY_END: st->sel = n ? n - 1 : 0; return SCREEN_KEY_HANDLED;
    case '/':
        if (!d->c) break;
        st->searching = 1;
        return SCREEN_KEY_HANDLED;
    case 'o':
        if (!d->c) break;
        dlist_set_sort(d, (dlist_sort)((d->sort + 1) % DLIST_SORT_COUNT));
        st->sel = st->top = 0;
        return SCREEN_KEY_HANDLED;
    case 'r':
        load(st, c);
        snprintf(c->message, sizeof c->message, "%s", d->c ? "dataset reloaded" : "no dataset");
        c->message_is_error = 0;
        return SCREEN_KEY_HANDLED;
    case ESC:
        if (d->filter[0]) {
            dlist_set_filter(d, "");
            st->sel = st->top = 0;
            return SCREEN_KEY_HANDLED;
        }
        break;
    default:
        if (is_enter(ch) && d->c) {
            open_selected(st, c);
            return SCREEN_KEY_HANDLED;
        }
        break;
    }
    st->dirty = 0;
    return SCREEN_KEY_UNHANDLED;
}

static const char *keybar(tui_screen *s)
{
    ds_state *st = s->state;
    if (st->mode == MODE_ROLL) return "<-/-> time  Up/Dn pitch  +/- zoom  Tab tokens  Esc list";
    if (st->mode == MODE_TOKENS) return "Up/Dn PgUp/PgDn scroll  Tab roll  Esc list";
    if (st->searching) return "type to filter  Enter keep  Esc clear";
    return "/ Search  o Sort  Enter Open  r Reload";
}

static void destroy(tui_screen *s)
{
    ds_state *st = s->state;
    roll_free(&st->roll);
    dlist_free(&st->d);
    screen_free(s);
}

static const tui_screen OPS = {.name = "Data", .enter = enter, .tick = tick, .draw = draw, .key = key,
                               .keybar = keybar, .destroy = destroy};

tui_screen *data_screen_create(void)
{
    tui_screen *s = screen_new(&OPS, sizeof(ds_state));
    if (!s) return NULL;
    ds_state *st = s->state;
    dlist_init(&st->d);
    roll_init(&st->roll);
    st->dirty = 1;
    return s;
}
