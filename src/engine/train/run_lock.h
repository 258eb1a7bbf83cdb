/* run_lock: outputs/trainer.lock — flock() plus the owner's pid, so only one
 * trainer writes an outputs dir and viewers can find the running trainer. */
#ifndef AURL_RUN_LOCK_H
#define AURL_RUN_LOCK_H

#include "util/fileio.h"

typedef struct {
    int fd;
    char path[4096];
} run_lock;

/* Take the lock (non-blocking). 0 ok; -1 with err "outputs/trainer.lock:
 * another trainer (pid 1234) is running" or an I/O problem. */
int run_lock_acquire(run_lock *lk, const char *outputs_dir, char err[AURL_ERR_LEN]);
/* Release and remove the pid text (keeps the file). */
void run_lock_release(run_lock *lk);
/* Pid of the live trainer holding the lock in OUTPUTS_DIR, or 0 if none
 * (a stale pid in an unlocked file counts as none). */
int run_lock_owner(const char *outputs_dir);
#endif
