/* term: the one module that owns the terminal for the TUI: curses init and
 * teardown (also on fatal signals), colours (or none, with NO_COLOR or
 * has_colors() false), ASCII or Unicode glyphs (locale or --ascii), keys
 * with a short ESCDELAY and letter aliases for F-keys, resize, and capture
 * of stderr while curses is up (library messages go to the log panel). */
#ifndef AURL_TUI_TERM_H
#define AURL_TUI_TERM_H

#include <curses.h>

#include "data/tokenizer.h"
#include "util/fileio.h"

/* Semantic colour roles; term_attr() maps them to attributes (colour pair
 * when colours are on, bold/dim/reverse otherwise). */
typedef enum {
    ROLE_NORMAL = 0,
    ROLE_TITLE,     /* panel titles, header */
    ROLE_DIM,       /* secondary text, raw train loss */
    ROLE_ACCENT,    /* smoothed train loss, selection marks */
    ROLE_VAL,       /* validation points */
    ROLE_GOOD,      /* running, ok */
    ROLE_WARN,      /* paused, warnings */
    ROLE_BAD,       /* failed, errors */
    ROLE_SELECTED,  /* selected list row */
    ROLE_KEYBAR,    /* function-key bar */
    ROLE_PLAYHEAD,  /* piano-roll playhead */
    ROLE_INSTR0,    /* ROLE_INSTR0 + family (0..14) for instruments, ... */
    ROLE_DRUMS = ROLE_INSTR0 + TOK_DRUM_FAMILY,
    ROLE_COUNT
} term_role;

/* Attribute for a role (A_NORMAL-based when there are no colours). */
attr_t term_attr(term_role role);
/* Instrument family 0..15 (15 = drums) -> role. */
term_role term_instrument_role(int family);
/* 1 when drawing Unicode (UTF-8 locale and no --ascii). */
int term_unicode(void);

/* Set up the terminal: locale, curses, keys, colours, glyph set, fatal
 * signal teardown and stderr capture. FORCE_ASCII: --ascii. 0 or -1 (no
 * usable terminal; the reason in err). */
int term_init(int force_ascii, char err[AURL_ERR_LEN]);
/* Restore the terminal and stderr (safe to call twice). */
void term_end(void);
/* 1 when colours are in use. */
int term_colors(void);
/* Read captured stderr: copies complete lines, one per call, into LINE;
 * 1 if a line was returned, 0 if none is pending. */
int term_stderr_line(char *line, size_t len);
/* Set by SIGINT/SIGTERM/SIGHUP while curses is up: the loop should quit. */
int term_quit_requested(void);
#endif
