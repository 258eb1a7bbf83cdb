/* data_cmd: the `aurl data` subcommands — fetch (sample MIDI from Debian
 * packages), cache (build/refresh the token cache), stats (dataset summary,
 * also --json) and show (one file's summary, token dump, --export of the
 * tokenizer round trip). */
#ifndef AURL_DATA_CMD_H
#define AURL_DATA_CMD_H

#include "util/globals.h"

/* argv[0] is "data", argv[1] the subcommand. Returns the exit code: 0 ok,
 * 1 runtime failure, 2 bad usage or bad input. */
int data_cmd_main(int argc, char **argv, const aurl_globals *g);

#endif
