/* app: the data every TUI screen shows about the run, refreshed by the
 * loop at most twice a second (run state, metrics/log tail, smoothed rate)
 * and once a second (resources; disk use every 5 s). Curses-free. */
#ifndef AURL_TUI_APP_H
#define AURL_TUI_APP_H

#include "tui/eta.h"
#include "tui/metrics_tail.h"
#include "tui/procstat.h"
#include "tui/run_control.h"
#include "util/globals.h"

typedef struct {
    const aurl_globals *g;
    run_info run;
    mtail tail;
    eta_est rate;             /* smoothed steps/s */
    procstat_proc trainer;    /* CPU%, RSS, threads of the trainer */
    procstat_cpu cpu;         /* the machine's CPU%, total and per core */
    int ranks;                /* MPI ranks of the run (training_state.json "ranks"; 1 when missing) */
    double load[3];
    long mem_total_kb, mem_avail_kb;
    long long disk_bytes;     /* used by the outputs dir */
    unsigned version;         /* bumped when anything shown changed */
    double next_run, next_res, next_du;
    int stopping_pid;         /* pid we sent SIGTERM to, until it exits */
} app_state;

/* The one app state of the process. */
app_state *app_get(void);
void app_init(const aurl_globals *g);
void app_free(void);
/* Refresh what is due at monotonic time NOW; 1 if anything changed. */
int app_refresh(double now);
/* Step and epoch (0-based) of stage STAGE (1..3) as shown: the state file's,
 * or the latest train record's when a trainer is running that stage (the
 * state is only written at checkpoints). */
void app_stage_progress(int stage, int64_t *step, int *epoch);
/* Force the next app_refresh to re-read everything (after a control action). */
void app_invalidate(void);
#endif
