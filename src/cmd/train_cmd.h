/* train_cmd: the `aurl train`, `aurl status` and `aurl clear` commands —
 * option parsing, detaching, and the headless views of training state. */
#ifndef AURL_TRAIN_CMD_H
#define AURL_TRAIN_CMD_H

#include "util/globals.h"

/* aurl train [--stage N] [--profile NAME|--config FILE] [--detach] [--epochs N] [--max-steps N] */
int train_cmd_main(int argc, char **argv, const aurl_globals *g);
/* aurl status [--json] */
int status_cmd_main(int argc, char **argv, const aurl_globals *g);
/* aurl clear [--yes] */
int clear_cmd_main(int argc, char **argv, const aurl_globals *g);
#endif
