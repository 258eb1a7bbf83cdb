/* clock: the two time sources aurl uses — monotonic seconds for measuring
 * durations and rates, wall-clock seconds for timestamps in files. */
#ifndef AURL_CLOCK_H
#define AURL_CLOCK_H

/* Seconds on a monotonic clock (only differences are meaningful). */
double clock_monotonic(void);
/* Seconds since the Unix epoch, with sub-second precision. */
double clock_wall(void);
#endif
