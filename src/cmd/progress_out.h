/* progress_out: how the command front ends show a long job on stderr — one
 * line redrawn in place (\r, cut to the terminal's width) when stderr is a
 * terminal, log lines otherwise, nothing but errors under -q — and the
 * token cache's reports (progress, notices, summary), which `aurl data
 * cache` and `aurl train` show alike. The library only reports; this is
 * where it is printed. */
#ifndef AURL_CMD_PROGRESS_OUT_H
#define AURL_CMD_PROGRESS_OUT_H

#include "data/cache.h"

typedef struct {
    int quiet; /* -q: no progress, notices or summaries */
    int live;  /* redraw a progress line in place: stderr is a terminal and not quiet */
} progress_out;

/* Set P up for QUIET; live when stderr is a terminal. */
void progress_out_init(progress_out *p, int quiet);
/* Redraw the in-place progress line on stderr with TEXT, cut to fit the
 * terminal's width so \r can redraw it. Only when P is live. */
void progress_out_redraw(const progress_out *p, const char *text);
/* End the in-place line (a newline) so what follows starts on its own
 * line. Only when P is live. */
void progress_out_end_line(const progress_out *p);
/* A cache_progress_fn; USER is a progress_out. Parse progress as a live
 * line or a log line every 100 files, notices as warnings, the summary on
 * stdout; nothing under -q. */
void progress_out_cache(const cache_progress *ev, void *user);

#endif
