/* tui_cmd: `aurl tui` (also plain `aurl`): the command front end of the
 * terminal workbench (tui/tui_main.h). */
#ifndef AURL_TUI_CMD_H
#define AURL_TUI_CMD_H

#include "util/globals.h"

/* Subcommand entry point (see util/globals.h for the contract). */
int tui_cmd_main(int argc, char **argv, const aurl_globals *g);
#endif
