/* music_panel: curses-free model of the dashboard's Music panel — the
 * "music" records of metrics.jsonl (engine/train/train_sample: one per
 * training sample) in, the latest sample's rows (metric, value, the data's
 * value, ratio and a bar fraction) and the summary distance over the
 * samples out. The data column comes from <outputs>/samples/data_stats.json.
 * Also the list of all training samples on disk (the Samples view). */
#ifndef AURL_TUI_MUSIC_PANEL_H
#define AURL_TUI_MUSIC_PANEL_H

#include <stddef.h>
#include <stdint.h>

#include "util/errmsg.h"

#define MPANEL_KEYS 8     /* metrics the panel shows */
#define MPANEL_HIST 512   /* distances kept (oldest dropped) */

/* One row of the panel. */
typedef struct {
    const char *key;      /* metrics key, e.g. "notes_per_second" */
    const char *label;    /* short label, e.g. "notes/s" */
    int decimals;
    double gen, data;     /* NAN when unknown */
    double ratio;         /* gen / data; NAN when either is unknown (overlaps: NAN) */
    double bar;           /* 0..1: ratio / 2 (1 = the middle), or an overlap's value */
} mpanel_row;

typedef struct {
    int have;             /* a music record was seen */
    int stage;
    int64_t step;         /* of the latest sample */
    double gen[MPANEL_KEYS], data[MPANEL_KEYS];
    double distance, cost, duration, notes;
    int have_data;
    char data_source[256];
    double hx[MPANEL_HIST], hy[MPANEL_HIST]; /* sample index, distance */
    int hstage[MPANEL_HIST];
    int n_hist;
    long n_samples;       /* music records seen */
    double cost_sum;      /* seconds the samples took */
} mpanel;

void mpanel_init(mpanel *p);
/* Feed one metrics.jsonl line: 1 when it was a music record (taken), 0 for
 * any other (valid or not) line. */
int mpanel_feed_line(mpanel *p, const char *line);
/* Read the data column from PATH (data_stats.json: {"values": {key: v}}).
 * 0, or -1 with err "<path>: <reason>" (have_data stays 0). */
int mpanel_load_data(mpanel *p, const char *path, char err[AURL_ERR_LEN]);
/* The rows of the latest sample (MPANEL_KEYS of them) into rows. Returns
 * how many (0 before the first sample). */
int mpanel_rows(const mpanel *p, mpanel_row *rows);
/* The latest sample's .mid below OUTPUTS_DIR ("" before the first). */
void mpanel_latest_mid(const mpanel *p, const char *outputs_dir, char *out, size_t len);

/* ---- the training samples on disk ---- */
typedef struct {
    int stage;
    long long step;
    char mid_path[4200];
    int have_mid;          /* the .mid exists */
    double distance, notes_per_second, polyphony, pc_entropy; /* from .music.json; NAN unknown */
    char error[160];       /* why the metrics are unknown ("" when read) */
} msample;

typedef struct {
    msample *items;        /* stage, then step ascending */
    size_t n;
} msample_list;

/* Scan <outputs>/samples/stage1..3 for step_XXXXXXX.mid / .music.json. A
 * missing directory is an empty list; a damaged .music.json is an item
 * with its error. 0, or -1 (out of memory). */
int msample_scan(msample_list *l, const char *outputs_dir);
void msample_list_free(msample_list *l);
/* Read the metrics of one sample's .music.json at PATH into IT. 0, or -1
 * with it->error set. */
int msample_read_metrics(msample *it, const char *path);
/* One line for IT: "stage 1 step     256  notes/s 30.3 poly 3.86 H 3.32 dist 1.17". */
void msample_format(const msample *it, char *out, size_t len);
#endif
