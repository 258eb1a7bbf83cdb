/* generate_cmd: aurl generate: sample a piece from a checkpoint. */
#ifndef AURL_GENERATE_CMD_H
#define AURL_GENERATE_CMD_H

#include "util/globals.h"

/* Subcommand entry point (see util/globals.h for the contract). */
int generate_cmd_main(int argc, char **argv, const aurl_globals *g);
#endif
