/* run_control: the TUI's view of and control over the trainer of an
 * outputs dir — who holds the lock (engine/run_lock.h), the run state
 * (idle / running / paused / finished / failed), starting a detached
 * trainer by running `aurl train --detach` (fork+exec of the aurl binary,
 * never in-process), stopping (SIGTERM: the trainer checkpoints and exits),
 * pausing and resuming (SIGSTOP/SIGCONT). Curses-free. */
#ifndef AURL_TUI_RUN_CONTROL_H
#define AURL_TUI_RUN_CONTROL_H

#include <stddef.h>

#include "engine/train/train_state.h"
#include "util/globals.h"

typedef enum { RUN_IDLE = 0, RUN_RUNNING, RUN_PAUSED, RUN_FINISHED, RUN_FAILED } run_state;

/* Snapshot of a run, refreshed by run_control_refresh. */
typedef struct {
    int pid;            /* live trainer holding the lock, 0 if none */
    char proc_state;    /* its /proc state letter ('T' = stopped) */
    int have_state;     /* training_state.json loaded */
    train_state st;
    char state_err[AURL_ERR_LEN]; /* damaged state file message, "" if none */
    run_state state;
} run_info;

/* "idle", "running", "paused", "finished", "failed". */
const char *run_state_name(run_state s);
/* The run state from its parts: a live pid is running, or paused when its
 * /proc state is 'T'/'t'; without a trainer, FAILED if the log's last
 * stage start was followed by an error, FINISHED if no stage is partial
 * and at least one is complete, else IDLE. */
run_state run_control_classify(int pid, char proc_state, const train_state *st, int have_state, int log_failed);
/* Re-read lock owner, /proc state and training_state.json into RI. */
void run_control_refresh(run_info *ri, const char *outputs_dir, int log_failed);

/* Run `SELF_EXE --outputs O --data D ARGS...` with stdin on /dev/null and
 * stdout+stderr captured into OUT (last line kept, trimmed); waits at most
 * TIMEOUT seconds (then the child is killed). Returns its exit code, or -1
 * if it could not be run or timed out. */
int run_control_spawn(const char *self_exe, const aurl_globals *g, const char *const *args, char *out,
                      size_t out_len, double timeout);
/* `aurl train --detach [--stage N] [--profile P]` (stage 0: resume through
 * all stages; PROFILE NULL or "": the stage configs alone). Exit code as
 * run_control_spawn; OUT gets the trainer's message. */
int run_control_start(const char *self_exe, const aurl_globals *g, int stage, const char *profile, char *out,
                      size_t out_len);
/* Names (without .yaml) of the YAML files in CONFIGS_DIR/profiles, sorted; at most
 * MAX. Returns the count (0 if none or no dir). */
int run_control_profiles(const char *configs_dir, char names[][32], int max);
/* SIGTERM (plus SIGCONT so a paused trainer can act on it). 0 or -1. */
int run_control_stop(int pid);
/* SIGSTOP / SIGCONT. 0 or -1. */
int run_control_pause(int pid);
int run_control_resume(int pid);
#endif
