/* screen: the interface each TUI screen implements (dashboard, data,
 * generate, stages, help). app.c owns the loop: it polls keys, calls
 * tick() every frame (screens refresh their data at their own rate and
 * say whether they changed), draws only screens that changed into the body
 * window between the header line and the function-key bar, and does one
 * doupdate() per frame. Screens never call refresh()/doupdate() themselves. */
#ifndef AURL_TUI_SCREEN_H
#define AURL_TUI_SCREEN_H

#include <curses.h>
#include <stddef.h>

#include "util/globals.h"

/* State shared by all screens. */
typedef struct tui_ctx {
    const aurl_globals *g;  /* --data, --outputs */
    const char *self_exe;   /* path of the running aurl binary (to spawn `aurl train --detach`, `aurl generate`) */
    double now;             /* monotonic seconds, set by the loop each frame */
    char message[256];      /* one-line status/notice shown above the key bar; screens may set it */
    int message_is_error;
    int quit;               /* set to 1 to leave the TUI */
    int switch_to;          /* screen index to switch to, or -1 */
} tui_ctx;

/* Set the status-line message of C (printf-style); IS_ERROR shows it as an error. */
void tui_message(tui_ctx *c, int is_error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Screen indices for tui_ctx.switch_to. */
enum { SCREEN_DASHBOARD = 0, SCREEN_DATA, SCREEN_GENERATE, SCREEN_STAGES, SCREEN_HELP, SCREEN_COUNT };

/* Return values of key(). */
enum { SCREEN_KEY_UNHANDLED = 0, SCREEN_KEY_HANDLED = 1 };

typedef struct tui_screen {
    const char *name;                       /* "Dashboard", "Data", ... */
    void (*enter)(struct tui_screen *s, tui_ctx *c);   /* became visible (may be NULL) */
    void (*leave)(struct tui_screen *s, tui_ctx *c);   /* hidden (may be NULL) */
    int (*tick)(struct tui_screen *s, tui_ctx *c);     /* refresh data; 1 = needs redraw */
    void (*draw)(struct tui_screen *s, tui_ctx *c, WINDOW *body);  /* draw the whole body (werase first) */
    int (*key)(struct tui_screen *s, tui_ctx *c, int ch);          /* SCREEN_KEY_* */
    const char *(*keybar)(struct tui_screen *s);  /* screen-specific key hints, e.g. "/ Search  Enter Open" (may be NULL) */
    void *state;                            /* the screen's own data */
    void (*destroy)(struct tui_screen *s);  /* free state (may be NULL) */
} tui_screen;

/* A screen with OPS's name and functions and a zeroed state of STATE_SIZE
 * bytes (none if 0); NULL when out of memory. */
tui_screen *screen_new(const tui_screen *ops, size_t state_size);
/* Free a screen made by screen_new and its state (NULL is fine); a
 * screen's destroy() frees what its state owns, then calls this. */
void screen_free(tui_screen *s);

/* Constructors of the screens (each in its own module). */
tui_screen *dashboard_screen_create(void);
tui_screen *data_screen_create(void);
tui_screen *generate_screen_create(void);
tui_screen *stages_screen_create(void);
tui_screen *help_screen_create(void);
#endif
