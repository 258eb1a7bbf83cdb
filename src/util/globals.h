/* globals: the global command-line options of DESIGN.md §4, parsed once by
 * main.c and handed to every subcommand. */
#ifndef AURL_GLOBALS_H
#define AURL_GLOBALS_H

typedef struct {
    const char *data_dir;    /* --data, default "data" */
    const char *outputs_dir; /* --outputs / AURL_OUTPUTS, default "outputs" */
    int threads;             /* --threads, 0 = all cores */
    int quiet;               /* -q */
} aurl_globals;

/* Every subcommand has this shape: argv[0] is the subcommand name, options
 * follow. Returns the process exit code (0 ok, 1 runtime failure, 2 bad
 * usage/config/input). */
typedef int (*aurl_cmd_fn)(int argc, char **argv, const aurl_globals *g);

#endif
