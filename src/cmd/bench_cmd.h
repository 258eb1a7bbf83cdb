/* bench: `aurl bench [--config FILE] [--steps N] [--json]` — times training
 * steps (forward + backward + AdamW) of a model config on random tokens and
 * reports tokens/s, GFLOP/s (transformer_flops_per_token), step time and
 * peak RSS, plus greedy sampling speed without a KV cache; --json ends the
 * output with one JSON object. */
#ifndef AURL_BENCH_H
#define AURL_BENCH_H

#include "util/globals.h"

/* The `aurl bench` subcommand (see aurl_cmd_fn for the exit codes). */
int bench_cmd_main(int argc, char **argv, const aurl_globals *g);
#endif
