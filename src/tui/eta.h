/* eta: smoothed training rate and time left — an exponential moving
 * average of steps/s samples (from metrics.jsonl train records), the ETA
 * of a stage and of all stages, and h:mm:ss formatting. Curses-free. */
#ifndef AURL_TUI_ETA_H
#define AURL_TUI_ETA_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double alpha;   /* weight of the newest sample, (0,1] */
    double rate;    /* smoothed rate (units/s), 0 until the first sample */
    int n;          /* samples seen */
} eta_est;

/* Start empty with smoothing ALPHA (clamped to (0,1]). */
void eta_init(eta_est *e, double alpha);
/* Add one rate sample (non-finite or <= 0 samples are ignored). */
void eta_add(eta_est *e, double rate);
/* Seconds to do REMAINING units at the smoothed rate; -1 if unknown. */
double eta_seconds(const eta_est *e, double remaining);
/* Seconds left over all stages: sum over stages i of total[i]-done[i]
 * (stages with total 0, not planned yet, count as PLANNED_GUESS steps, e.g.
 * the current stage's total); -1 if the rate is unknown. */
double eta_overall(const eta_est *e, const int64_t *done, const int64_t *total, int n, int64_t planned_guess);
/* "h:mm:ss" (e.g. "0:04:05", "27:00:00"), "--:--:--" when seconds < 0 or
 * not finite, ">999h" beyond 999 hours. */
void eta_format(double seconds, char *out, size_t len);
#endif
