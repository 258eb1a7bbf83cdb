/* roll_draw: the piano-roll and token views shared by the Data and
 * Generate screens: owns a score, its view (pianoroll.h) and a grid, draws
 * them into a window region with pitch labels and a time axis, and handles
 * the roll's keys (scroll time and pitch, zoom). Also the token list view
 * with readable names (tok_name). */
#ifndef AURL_ROLL_DRAW_H
#define AURL_ROLL_DRAW_H

#include <curses.h>
#include <stddef.h>
#include <stdint.h>

#include "data/score.h"
#include "tui/pianoroll.h"

typedef struct {
    score s;
    proll_view v;
    proll_grid g;
    int fitted;          /* the pitch range was fitted to the window */
    double duration;     /* of the score */
    char title[256];
    /* token view */
    const uint16_t *tokens;  /* not owned; NULL when there are none */
    size_t n_tokens;
    double *tok_time;        /* onset time of each token (owned) */
    size_t tok_top;
} roll_state;

void roll_init(roll_state *r);
/* Free the score, grid and token times (the state can be re-used). */
void roll_free(roll_state *r);
/* Take ownership of *S (left empty) and show it from the start; TOKENS (may
 * be NULL, not copied, must outlive the state) feed the token view. */
void roll_set(roll_state *r, score *s, const uint16_t *tokens, size_t n_tokens, const char *title);
/* Draw the roll into W's region (y, x, h, w) with PLAYHEAD seconds (< 0: none). */
void roll_draw(roll_state *r, WINDOW *win, int y, int x, int h, int w, double playhead);
/* Draw the token view into the region. */
void roll_draw_tokens(roll_state *r, WINDOW *win, int y, int x, int h, int w);
/* Roll keys: arrows scroll time/pitch, PgUp/PgDn page time, Home/End,
 * + / - zoom. Returns 1 when handled. */
int roll_key(roll_state *r, int ch);
/* Token view keys: arrows, PgUp/PgDn, Home/End. Returns 1 when handled. */
int roll_token_key(roll_state *r, int ch, int page);
/* Keep PLAYHEAD visible; 1 when the view moved. */
int roll_follow(roll_state *r, double playhead);
/* Draw STR clipped to N columns at (y, x) with ATTR (helper for screens). */
void roll_put(WINDOW *win, int y, int x, int n, attr_t attr, const char *str);
#endif
