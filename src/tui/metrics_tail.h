/* metrics_tail: incremental reader of <outputs>/logs/metrics.jsonl and
 * logs/train.log for the TUI. Each poll reads only what was appended;
 * a file that shrank or was replaced (new inode) is reread from the start;
 * a partial last line waits for its newline; garbage lines are skipped and
 * counted. Keeps per-stage train/val loss series for the chart, the latest
 * rates, a tokens/s history for the sparkline and a ring of recent events
 * (stage/epoch events, NaN skips, stops, checkpoints, warnings, errors),
 * and the training samples' music records (tui/music_panel).
 * Curses-free. */
#ifndef AURL_TUI_METRICS_TAIL_H
#define AURL_TUI_METRICS_TAIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tui/music_panel.h"

#define MTAIL_STAGES 3
#define MTAIL_EVENTS 64
#define MTAIL_TPS 120

typedef struct {
    double *x, *y;  /* step, value */
    size_t n, cap;
} mtail_series;

typedef struct {
    char text[200];
    int level;       /* 0 info, 1 warning, 2 error */
} mtail_event;

/* One followed file. */
typedef struct {
    char path[4200];
    off_t pos;
    ino_t ino;
    dev_t dev;
    char partial[4096];
    size_t plen;
    int dropping;    /* inside an over-long line: skip to its newline */
} mtail_file;

typedef struct {
    mtail_file metrics, log;
    mtail_series train[MTAIL_STAGES], val[MTAIL_STAGES];
    /* latest train record of any stage */
    int last_stage;
    int64_t last_step;
    double last_loss, last_tokens_per_s, last_steps_per_s, last_lr;
    double last_epoch;       /* fractional epochs of the latest train record, -1 if none */
    int have_train;
    double tps[MTAIL_TPS];   /* tokens/s history, oldest first */
    int n_tps;
    double new_rates[64];    /* steps/s samples since the caller last took them */
    int n_new_rates;
    mtail_event events[MTAIL_EVENTS]; /* ring */
    int n_events, ev_head;   /* ev_head: index of the oldest */
    long records, garbage;   /* metrics lines parsed / skipped */
    int failed;              /* train.log: an ERROR after the last stage start */
    char fail_msg[200];
    mpanel music;            /* the training samples' music records (Music panel) */
    unsigned generation;     /* bumped on every change (reset or new data) */
} mtail;

/* Follow OUTPUTS_DIR/logs/{metrics.jsonl,train.log} (files may not exist yet). */
void mtail_init(mtail *t, const char *outputs_dir);
void mtail_free(mtail *t);
/* Read what was appended (at most ~4 MB per call). Returns 1 if anything
 * changed (new records, events, or a reset), else 0. */
int mtail_poll(mtail *t);
/* Event I (0 = oldest of the ring); NULL if out of range. */
const mtail_event *mtail_event_at(const mtail *t, int i);
/* Add an event line (also used for captured stderr). */
void mtail_add_event(mtail *t, int level, const char *text);
/* Feed one metrics.jsonl line (without newline); exposed for tests. 0, or
 * -1 if it was not a valid record (counted in garbage). */
int mtail_feed_metrics_line(mtail *t, const char *line);
/* Feed one train.log line; exposed for tests. */
void mtail_feed_log_line(mtail *t, const char *line);
#endif
