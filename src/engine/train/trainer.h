/* trainer: the headless training engine behind `aurl train` (DESIGN.md §3,
 * §9). Runs the stages from where training_state.json says (or one stage),
 * owns the outputs directory (lock, state, checkpoints, logs, metrics), and
 * resumes a stopped run exactly: model, optimiser, schedule and data
 * position all come back from the checkpoint. SIGINT/SIGTERM finish the
 * current step, checkpoint and return 0; SIGUSR1 checkpoints now. */
#ifndef AURL_TRAINER_H
#define AURL_TRAINER_H

#include <stddef.h>

typedef struct {
    const char *outputs_dir;
    const char *data_dir;
    const char *configs_dir; /* holds stages/ and profiles/ */
    const char *profile;     /* profile name (configs/profiles/NAME.yaml) or NULL */
    const char *config_file; /* explicit stage config (runs that stage only) or NULL */
    int only_stage;          /* 1..3: run just this stage; 0: resume through all */
    int epochs;              /* > 0 overrides every stage's epochs */
    long long max_steps;     /* > 0 overrides every stage's max_steps */
    int jobs;                /* cache build workers (0: cores) */
    int quiet;
} trainer_opts;

/* Run training. Returns the process exit code: 0 done or stopped cleanly,
 * 1 runtime failure, 2 bad configuration or input. */
int trainer_run(const trainer_opts *opts);

/* Locate the config for STAGE under configs_dir/stages (stage<N>_*.yaml).
 * 0 or -1 (err set). */
int trainer_stage_config_path(const char *configs_dir, int stage, char *out, size_t out_len, char *err,
                              size_t err_len);
#endif
