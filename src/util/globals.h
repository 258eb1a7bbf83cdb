/* globals: the global command-line options of docs/DESIGN.md §4, parsed once by
 * main.c and handed to every subcommand. */
#ifndef AURL_GLOBALS_H
#define AURL_GLOBALS_H

typedef struct {
    const char *data_dir;    /* --data, default "data" */
    const char *outputs_dir; /* --outputs / AURL_OUTPUTS, default "outputs" */
    int threads;             /* --threads, 0 = all cores */
    int quiet;               /* -q */
} aurl_globals;

/* Process exit codes, the contract of every command (and of the TUI, which
 * reads its children's): */
enum {
    AURL_EXIT_OK = 0,      /* success */
    AURL_EXIT_RUNTIME = 1, /* the work failed: I/O, damaged file, out of memory, a dead child */
    AURL_EXIT_USAGE = 2    /* bad usage, config or input named in the message */
};

/* Every subcommand has this shape: argv[0] is the subcommand name, options
 * follow. Returns the process exit code (AURL_EXIT_*). */
typedef int (*aurl_cmd_fn)(int argc, char **argv, const aurl_globals *g);

#endif
