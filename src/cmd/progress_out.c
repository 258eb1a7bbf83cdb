/* progress_out: progress lines and the token cache's reports for the command
 * front ends (see progress_out.h). */
#include "cmd/progress_out.h"

#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/log.h"

void progress_out_init(progress_out *p, int quiet)
{
    p->quiet = quiet;
    p->live = !quiet && isatty(STDERR_FILENO);
}

void progress_out_redraw(const progress_out *p, const char *text)
{
    if (!p->live) return;
    struct winsize ws;
    int cols = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 ? ws.ws_col : 80;
    fprintf(stderr, "\r%.*s\033[K", cols - 1, text);
    fflush(stderr);
}

void progress_out_end_line(const progress_out *p)
{
    if (p->live) fputc('\n', stderr);
}

void progress_out_cache(const cache_progress *ev, void *user)
{
    const progress_out *p = user;
    if (p->quiet) return;
    switch (ev->kind) {
    case CACHE_PROGRESS_NOTICE: log_warn("%s", ev->message); break;
    case CACHE_PROGRESS_PARSED:
        if (p->live) {
            char line[96];
            snprintf(line, sizeof line, "parsing MIDI files: %zu/%zu", ev->n_done, ev->n_jobs);
            progress_out_redraw(p, line);
            if (ev->n_done == ev->n_jobs) progress_out_end_line(p);
        } else if (ev->n_done % 100 == 0 || ev->n_done == ev->n_jobs) {
            log_info("parsed %zu/%zu MIDI files", ev->n_done, ev->n_jobs);
        }
        break;
    case CACHE_PROGRESS_DONE: {
        const cache_build_result *r = ev->result;
        printf("cache: %zu files: %zu accepted (%zu train, %zu val), %zu rejected; "
               "%zu tokens, %.2f h of music; parsed %zu, re-used %zu; %.2f s\n",
               r->n_files, r->n_accepted, r->n_accepted - r->n_val, r->n_val, r->n_rejected, r->n_tokens,
               r->seconds_of_music / 3600.0, r->n_parsed, r->n_reused, r->build_seconds);
        break;
    }
    }
}
