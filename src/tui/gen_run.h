/* gen_run: run `aurl generate` (or any argv) as a child process for the
 * TUI: fork+exec (the TUI itself never runs the model), stdin from
 * /dev/null, stdout and stderr through non-blocking pipes read each tick,
 * `progress <done> <total>` lines parsed from stderr, the last other
 * stderr line kept for error messages, cancel with SIGTERM. Curses-free. */
#ifndef AURL_GEN_RUN_H
#define AURL_GEN_RUN_H

#include <stddef.h>
#include <sys/types.h>

#include "util/errmsg.h"

typedef struct {
    pid_t pid;            /* > 0 while the child has not been reaped */
    int fd_out, fd_err;   /* -1 when closed */
    char line[1024];      /* partial stderr line */
    size_t line_len;
    char *out;            /* everything the child wrote to stdout (NUL-terminated) */
    size_t out_len, out_cap;
    long done, total;     /* last progress line (0 0 before the first) */
    char last_error[256]; /* last stderr line that was not a progress line */
    int finished;         /* 1 once reaped */
    int exit_code;        /* exit status, or 128 + signal */
    int cancelled;        /* gen_run_cancel was called */
} gen_run;

/* Zeroed, not running. */
void gen_run_init(gen_run *r);
/* Start ARGV (argv[0] is the program path). Returns 0, or -1 with err set. */
int gen_run_start(gen_run *r, char *const argv[], char err[AURL_ERR_LEN]);
/* Read what is available without blocking and reap the child when it has
 * exited. Returns 1 when anything changed (progress, output, finished). */
int gen_run_poll(gen_run *r);
/* 1 while the child runs (started and not yet reaped). */
int gen_run_active(const gen_run *r);
/* Ask the child to stop (SIGTERM). */
void gen_run_cancel(gen_run *r);
/* Stop the child if it still runs (SIGTERM, then SIGKILL after a grace
 * period of ~2 s), reap it and free the buffers. */
void gen_run_free(gen_run *r);
#endif
