/* eval_cmd: aurl eval: held-out loss, accuracy, grammar errors and music statistics. */
#ifndef AURL_EVAL_CMD_H
#define AURL_EVAL_CMD_H

#include "util/globals.h"

/* Subcommand entry point (see util/globals.h for the contract). */
int eval_cmd_main(int argc, char **argv, const aurl_globals *g);
#endif
