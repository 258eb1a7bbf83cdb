/* isolate: run jobs in child processes with a timeout and a memory limit,
 * up to `jobs` at once, so that a crash, abort(), hang or runaway allocation
 * inside a job (for example libsmf on a hostile MIDI file) costs that one job
 * and never the calling process. Results come back as byte blobs over a pipe. */
#ifndef AURL_ISOLATE_H
#define AURL_ISOLATE_H

#include <stddef.h>
#include <stdint.h>

#include "util/fileio.h"

/* Runs in the child. Produce a malloc'd blob in *out (may be empty), or
 * return -1 with a one-line reason in err. */
typedef int (*isolate_fn)(void *arg, size_t index, uint8_t **out, size_t *out_len,
                          char err[AURL_ERR_LEN]);

typedef enum {
    ISOLATE_OK = 0,
    ISOLATE_FAILED,   /* the job returned -1; err holds its reason */
    ISOLATE_CRASHED,  /* killed by a signal (err names it, e.g. "SIGABRT") */
    ISOLATE_TIMEOUT,  /* exceeded timeout_s */
    ISOLATE_NOMEM,    /* hit the memory limit */
    ISOLATE_SYSERR    /* fork/pipe failed in the parent */
} isolate_status;

/* Runs in the parent, once per index, in completion order. out is only
 * valid during the call. */
typedef void (*isolate_done_fn)(void *arg, size_t index, isolate_status status,
                                const uint8_t *out, size_t out_len, const char *err);

typedef struct {
    double timeout_s;       /* wall-clock limit per job; <= 0: none */
    size_t mem_limit_bytes; /* RLIMIT_AS of each child; 0: none */
    int jobs;               /* concurrent children, >= 1 */
} isolate_limits;

/* Run fn for index 0..n-1 in children and call done for each. Returns 0, or
 * -1 if the pool itself could not run (every unfinished index is then
 * reported with ISOLATE_SYSERR). */
int isolate_map(size_t n, isolate_fn fn, isolate_done_fn done, void *arg,
                const isolate_limits *limits);

/* Human-readable status ("ok", "crashed", "timed out", ...). */
const char *isolate_status_name(isolate_status status);

#endif
