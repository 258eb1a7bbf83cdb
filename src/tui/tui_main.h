/* tui_main: aurl tui: the ncurses workbench. */
#ifndef AURL_TUI_MAIN_H
#define AURL_TUI_MAIN_H

#include "util/globals.h"

/* Subcommand entry point (see util/globals.h for the contract). */
int tui_main(int argc, char **argv, const aurl_globals *g);
#endif
