/* ckpt_pick: which checkpoint to sample from when the user names none: the
 * best (lowest validation loss) checkpoint of the requested kind (transformer
 * or VAE) from the latest stage that has one,
 * according to outputs/training_state.json, falling back to the newest
 * readable .ckpt file in checkpoints/. Shared by generate, eval and the TUI. */
#ifndef AURL_CKPT_PICK_H
#define AURL_CKPT_PICK_H

#include <stddef.h>

#include "util/errmsg.h"

/* Which kind of checkpoint the caller can use: a plain transformer (stages
 * 1-2; generation in transformer mode, eval) or a VAE (stage 3). */
typedef enum { CKPT_PICK_TRANSFORMER = 0, CKPT_PICK_VAE = 1 } ckpt_pick_kind;

/* Write the chosen checkpoint's path into path (len bytes); stage_out (may
 * be NULL) gets its stage. Returns 0, or -1 with a message telling the user
 * what to do (e.g. "no checkpoint in outputs/checkpoints: run `aurl train` first"). */
int ckpt_pick_best(const char *outputs_dir, ckpt_pick_kind kind, char *path, size_t len, int *stage_out,
                   char err[AURL_ERR_LEN]);
/* 1 if PATH is a stage-3 (VAE / VAE-GAN) checkpoint, 0 if not (or unreadable). */
int ckpt_pick_is_vae(const char *path);
#endif
