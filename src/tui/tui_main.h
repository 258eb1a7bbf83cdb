/* tui_main: the ncurses workbench (dashboard, data, generate, stages and
 * help screens; starts, pauses and stops the detached trainer). The command
 * front end, `aurl [tui]`, is cmd/tui_cmd.c. */
#ifndef AURL_TUI_MAIN_H
#define AURL_TUI_MAIN_H

#include "util/fileio.h"
#include "util/globals.h"

/* How to run the workbench. */
typedef struct {
    int ascii; /* 1: ASCII glyphs only (--ascii) */
} tui_options;

/* What the caller reports once the workbench has closed. */
typedef struct {
    int trainer_pid;    /* > 0: a trainer still runs in the background */
    int trainer_paused; /* 1: that trainer is paused (SIGSTOP) */
    char err[AURL_ERR_LEN]; /* why tui_run failed */
} tui_result;

/* Run the workbench on the terminal until the user quits (training in the
 * background is never stopped by quitting). 0 with *res filled, or -1 with
 * res->err set (no usable terminal, out of memory). */
int tui_run(const tui_options *opt, const aurl_globals *g, tui_result *res);
#endif
