/* play_cmd: aurl play: audition a MIDI file through fluidsynth. */
#ifndef AURL_PLAY_CMD_H
#define AURL_PLAY_CMD_H

#include "util/globals.h"

/* Subcommand entry point (see util/globals.h for the contract). */
int play_cmd_main(int argc, char **argv, const aurl_globals *g);
#endif
