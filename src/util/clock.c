/* clock: monotonic and wall-clock seconds as doubles. */
#include "util/clock.h"

#include <time.h>

static double read_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double clock_monotonic(void) { return read_clock(CLOCK_MONOTONIC); }
double clock_wall(void) { return read_clock(CLOCK_REALTIME); }
