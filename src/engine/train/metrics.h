/* metrics: the training run's measurements — one JSON object per line in
 * outputs/logs/metrics.jsonl (read by the TUI and `aurl status`) and the
 * same scalars as TensorBoard event files (TFRecord framing with masked
 * CRC-32C, Event protobufs with simple_value summaries, written by hand) in
 * outputs/logs/tensorboard/stageN/events.out.tfevents.<time>.<host>. */
#ifndef AURL_METRICS_H
#define AURL_METRICS_H

#include <stdint.h>

#include "util/fileio.h"

typedef struct metrics metrics;

/* Open (append) <outputs>/logs/metrics.jsonl and a new TensorBoard file for
 * STAGE. 0 or -1. */
int metrics_open(metrics **out, const char *outputs_dir, int stage, char err[AURL_ERR_LEN]);
/* Close both files and free M (NULL is fine). */
void metrics_close(metrics *m);

/* One record: kind is "train", "val", "event", ...; the n scalars
 * (names[i], values[i]) go to both the JSONL line (with "kind", "stage",
 * "step", "time") and, for train/val/music, TensorBoard as "<kind>/<name>".
 * note (may be NULL) adds a "msg" string (stage/epoch events, warnings).
 * Non-finite values are written as null in JSON. Flushed per record. */
void metrics_log(metrics *m, const char *kind, int64_t step, int n, const char *const *names,
                 const double *values, const char *note);

/* Read-side helper for the TUI/status: parse one metrics.jsonl line into
 * kind/stage/step and up to max scalars. Returns number of scalars, or -1 if
 * the line is not a valid record (ignored by readers, never crashes). */
int metrics_parse_line(const char *line, char *kind, int kind_len, int *stage, int64_t *step,
                       char names[][32], double *values, int max);
#endif
