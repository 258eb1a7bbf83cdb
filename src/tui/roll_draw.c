/* roll_draw: piano-roll and token views for the TUI screens (see roll_draw.h). */
#include "tui/roll_draw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"
#include "tui/term.h"

#define GUTTER 4 /* pitch labels left of the grid */

void roll_init(roll_state *r)
{
    memset(r, 0, sizeof *r);
    score_init(&r->s);
}

void roll_free(roll_state *r)
{
    score_free(&r->s);
    proll_grid_free(&r->g);
    free(r->tok_time);
    roll_init(r);
}

void roll_set(roll_state *r, score *s, const uint16_t *tokens, size_t n_tokens, const char *title)
{
    roll_free(r);
    r->s = *s;
    score_init(s);
    r->duration = score_duration(&r->s);
    snprintf(r->title, sizeof r->title, "%s", title ? title : "");
    proll_view_init(&r->v, &r->s, 10, 60, term_unicode());
    r->tokens = tokens;
    r->n_tokens = tokens ? n_tokens : 0;
    if (r->n_tokens) {
        r->tok_time = malloc(r->n_tokens * sizeof *r->tok_time);
        if (!r->tok_time) r->n_tokens = 0;
        double t = 0;
        for (size_t i = 0; i < r->n_tokens; i++) {
            r->tok_time[i] = t;
            uint16_t id = tokens[i];
            if (id >= TOK_TIME_SHIFT && id < TOK_VELOCITY) t += (double)tok_shift_steps(id) / TOK_STEPS_PER_SECOND;
        }
    }
}

void roll_put(WINDOW *win, int y, int x, int n, attr_t attr, const char *str)
{
    if (n <= 0) return;
    int bytes = 0, cols = 0;
    while (str[bytes] && cols < n) {
        bytes++;
        while ((str[bytes] & 0xC0) == 0x80) bytes++; /* UTF-8 continuation */
        cols++;
    }
    wattrset(win, attr);
    mvwaddnstr(win, y, x, str, bytes);
    wattrset(win, A_NORMAL);
}

void roll_draw(roll_state *r, WINDOW *win, int y, int x, int h, int w, double playhead)
{
    int rows = h - 2, cols = w - GUTTER;
    if (rows < 1 || cols < 1) return;
    int uni = term_unicode();
    if (r->v.rows != rows || r->v.cols != cols || r->v.two_per_row != uni) {
        r->v.rows = rows, r->v.cols = cols, r->v.two_per_row = uni;
        proll_fit_pitch(&r->v, &r->s);
        r->fitted = 1;
    }
    char line[512], lo[8], hi[8];
    proll_pitch_name(proll_row_pitch(&r->v, rows - 1, 0), lo, sizeof lo);
    proll_pitch_name(proll_row_pitch(&r->v, 0, r->v.two_per_row), hi, sizeof hi);
    char info[160];
    snprintf(info, sizeof info, "  %.1f-%.1fs of %.1fs  %.3gs/col  %s-%s  %zu notes", r->v.t0, r->v.t0 + cols * r->v.spc,
             r->duration, r->v.spc, lo, hi, r->s.n_notes);
    /* the numbers always fit: a long title loses its start ("..." + tail) */
    int room = w - (int)strlen(info);
    int tl = (int)strlen(r->title);
    if (room >= 8 && tl > room) snprintf(line, sizeof line, "...%s%s", r->title + tl - (room - 3), info);
    else snprintf(line, sizeof line, "%s%s", r->title, info);
    roll_put(win, y, x, w, term_attr(ROLE_TITLE), line);
    if (proll_render(&r->s, &r->v, playhead, &r->g) != 0) {
        roll_put(win, y + 1, x, w, term_attr(ROLE_BAD), "out of memory");
        return;
    }
    for (int row = 0; row < rows; row++) {
        /* pitch label on rows holding a C */
        line[0] = 0;
        for (int half = 0; half <= r->v.two_per_row; half++) {
            int p = proll_row_pitch(&r->v, row, half);
            if (p >= 0 && p % 12 == 0) proll_pitch_name(p, line, 8);
        }
        char lab[GUTTER + 1];
        snprintf(lab, sizeof lab, "%-*s", GUTTER, line);
        roll_put(win, y + 1 + row, x, GUTTER, term_attr(ROLE_DIM), lab);
        wmove(win, y + 1 + row, x + GUTTER);
        for (int col = 0; col < cols; col++) {
            const proll_cell *c = proll_at(&r->g, row, col);
            int fam = proll_cell_family(c);
            attr_t a = fam >= 0 ? term_attr(term_instrument_role(fam)) : A_NORMAL;
            if (c->half[0] == PROLL_ONSET || c->half[1] == PROLL_ONSET) a |= A_BOLD;
            if (c->playhead) a = term_attr(ROLE_PLAYHEAD) | (fam >= 0 ? A_REVERSE : 0);
            wattrset(win, a);
            waddstr(win, proll_glyph(c, uni, r->v.two_per_row));
        }
        wattrset(win, A_NORMAL);
    }
    /* time axis: a label every 10 columns */
    memset(line, ' ', sizeof line);
    int n = cols < (int)sizeof line - 16 ? cols : (int)sizeof line - 16;
    for (int col = 0; col < n; col += 10) {
        char t[16];
        int k = snprintf(t, sizeof t, "|%.4gs", r->v.t0 + col * r->v.spc);
        if (col + k <= n) memcpy(line + col, t, (size_t)k);
    }
    line[n] = 0;
    roll_put(win, y + h - 1, x + GUTTER, cols, term_attr(ROLE_DIM), line);
}

void roll_draw_tokens(roll_state *r, WINDOW *win, int y, int x, int h, int w)
{
    char line[256];
    snprintf(line, sizeof line, "%s  tokens %zu  (Tab: piano roll)", r->title, r->n_tokens);
    roll_put(win, y, x, w, term_attr(ROLE_TITLE), line);
    if (!r->n_tokens) {
        roll_put(win, y + 2, x + 2, w - 2, A_NORMAL, "No tokens for this piece.");
        return;
    }
    int rows = h - 1;
    if (r->tok_top >= r->n_tokens) r->tok_top = r->n_tokens - 1;
    for (int i = 0; i < rows && r->tok_top + (size_t)i < r->n_tokens; i++) {
        size_t k = r->tok_top + (size_t)i;
        char name[96];
        tok_name(r->tokens[k], name, sizeof name);
        snprintf(line, sizeof line, "%7zu  %8.3fs  %4u  %s", k, r->tok_time[k], (unsigned)r->tokens[k], name);
        tok_type t = tok_type_of(r->tokens[k]);
        attr_t a = t == TOKT_NOTE_ON ? A_BOLD : t == TOKT_TIME_SHIFT ? term_attr(ROLE_DIM) : A_NORMAL;
        roll_put(win, y + 1 + i, x, w, a, line);
    }
}

int roll_key(roll_state *r, int ch)
{
    proll_view *v = &r->v;
    int step = v->cols / 8 > 0 ? v->cols / 8 : 1;
    switch (ch) {
    case KEY_LEFT: proll_scroll_time(v, -step, r->duration); return 1;
    case KEY_RIGHT: proll_scroll_time(v, step, r->duration); return 1;
    case KEY_PPAGE: proll_scroll_time(v, -v->cols, r->duration); return 1;
    case KEY_NPAGE: proll_scroll_time(v, v->cols, r->duration); return 1;
    case KEY_HOME: v->t0 = 0; return 1;
    case KEY_END: proll_scroll_time(v, (int)(r->duration / v->spc) + 1, r->duration); return 1;
    case KEY_UP: proll_scroll_pitch(v, v->two_per_row ? 2 : 1); return 1;
    case KEY_DOWN: proll_scroll_pitch(v, v->two_per_row ? -2 : -1); return 1;
    case '+': case '=': proll_zoom(v, 0.5, v->cols / 2); return 1;
    case '-': case '_': proll_zoom(v, 2.0, v->cols / 2); return 1;
    default: return 0;
    }
}

int roll_token_key(roll_state *r, int ch, int page)
{
    size_t n = r->n_tokens, p = page > 1 ? (size_t)page : 1;
    switch (ch) {
    case KEY_UP: if (r->tok_top) r->tok_top--; return 1;
    case KEY_DOWN: if (r->tok_top + 1 < n) r->tok_top++; return 1;
    case KEY_PPAGE: r->tok_top = r->tok_top > p ? r->tok_top - p : 0; return 1;
    case KEY_NPAGE: r->tok_top = r->tok_top + p < n ? r->tok_top + p : (n ? n - 1 : 0); return 1;
    case KEY_HOME: r->tok_top = 0; return 1;
    case KEY_END: r->tok_top = n > p ? n - p : 0; return 1;
    default: return 0;
    }
}

int roll_follow(roll_state *r, double playhead)
{
    return proll_follow(&r->v, playhead);
}
