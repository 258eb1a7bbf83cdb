/* eta: EMA rate estimator and h:mm:ss formatting (see eta.h). */
#include "tui/eta.h"

#include <math.h>
#include <stdio.h>

void eta_init(eta_est *e, double alpha)
{
    e->alpha = alpha > 0 && alpha <= 1 ? alpha : 1;
    e->rate = 0;
    e->n = 0;
}

void eta_add(eta_est *e, double rate)
{
    if (!isfinite(rate) || rate <= 0) return;
    e->rate = e->n ? e->rate + e->alpha * (rate - e->rate) : rate;
    e->n++;
}

double eta_seconds(const eta_est *e, double remaining)
{
    if (!(e->rate > 0) || !isfinite(remaining)) return -1;
    return remaining > 0 ? remaining / e->rate : 0;
}

double eta_overall(const eta_est *e, const int64_t *done, const int64_t *total, int n, int64_t planned_guess)
{
    double left = 0;
    for (int i = 0; i < n; i++) {
        int64_t t = total[i] > 0 ? total[i] : planned_guess;
        if (t > done[i]) left += (double)(t - done[i]);
    }
    return eta_seconds(e, left);
}

void eta_format(double s, char *out, size_t len)
{
    if (!isfinite(s) || s < 0) {
        snprintf(out, len, "--:--:--");
        return;
    }
    if (s >= 999.0 * 3600) {
        snprintf(out, len, ">999h");
        return;
    }
    long t = (long)llround(s);
    snprintf(out, len, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
}
