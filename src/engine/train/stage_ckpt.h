/* stage_ckpt: a stage's training state and checkpoints: the state file,
 * `best`/`last`/numbered checkpoints (pruned to keep_checkpoints), resume
 * from the newest checkpoint that loads, recovery of a stage whose state
 * was lost, and the choice of starting weights. */
#ifndef AURL_STAGE_CKPT_H
#define AURL_STAGE_CKPT_H

#include "engine/train/stage_run.h"
#include "util/errmsg.h"

/* <outputs>/checkpoints/stageN_KIND.ckpt into out. */
void stage_ckpt_path(const stage_run *r, const char *kind, char *out, size_t len);
/* PATH relative to the outputs dir, as the state file stores it. */
const char *stage_relative_path(const stage_run *r, const char *path);
/* Write the training state file (rank 0). 0 or -1 (logged). */
int stage_save_state(stage_run *r);
/* Save a checkpoint of the stage at PATH (VAL_LOSS NAN: none). 0 or -1 (logged). */
int stage_save_checkpoint(stage_run *r, const char *path, double val_loss);
/* Load the checkpoint at PATH (optimiser too if WITH_OPTIMIZER); *step_out its step. 0 or -1 (err set). */
int stage_load_checkpoint(stage_run *r, const char *path, int with_optimizer, long long *step_out,
                          char err[AURL_ERR_LEN]);
/* The periodic `last` checkpoint, a numbered copy and the state. 0 or -1. */
int stage_checkpoint_last(stage_run *r);
/* Initialise the weights: resume this stage, or start from the previous
 * stage's best (PREV), or from scratch. 0 or -1. */
int stage_prepare_weights(stage_run *r, train_stage_state *prev);
#endif
