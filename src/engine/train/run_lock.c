/* run_lock: an exclusive flock() on <outputs>/trainer.lock held for the
 * trainer's lifetime (the kernel drops it when the process dies), with the
 * holder's pid written inside for viewers and error messages. The file
 * descriptor is O_CLOEXEC; a fork()ed child shares the lock. */
#include "engine/train/run_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define LOCK_NAME "trainer.lock"

static int lock_path(char *out, size_t cap, const char *outputs_dir)
{
    return snprintf(out, cap, "%s/" LOCK_NAME, outputs_dir) < (int)cap ? 0 : -1;
}

/* The pid written in the lock file, or 0 if none/unparsable. */
static int read_pid(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return 0;
    buf[n] = 0;
    char *end;
    long pid = strtol(buf, &end, 10);
    return pid > 0 && pid < (1L << 30) && end != buf ? (int)pid : 0;
}

/* Pid in the file of a lock held by someone else; the holder writes it just
 * after taking the lock, so wait briefly for it to appear. */
static int read_pid_of_holder(int fd)
{
    for (int tries = 0; tries < 50; tries++) {
        int pid = read_pid(fd);
        if (pid > 0) return pid;
        nanosleep(&(struct timespec){0, 2 * 1000 * 1000}, NULL);
    }
    return 0;
}

int run_lock_acquire(run_lock *lk, const char *outputs_dir, char err[AURL_ERR_LEN])
{
    lk->fd = -1;
    if (lock_path(lk->path, sizeof lk->path, outputs_dir) != 0) {
        snprintf(err, AURL_ERR_LEN, "%s: path too long", outputs_dir);
        return -1;
    }
    if (file_mkdirs(outputs_dir, err) != 0) return -1;
    int fd = open(lk->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, AURL_ERR_LEN, "%.400s: cannot open: %s", lk->path, strerror(errno));
        return -1;
    }
    /* viewers (run_lock_owner) hold a shared lock for a moment: retry a little */
    int rc = -1, e = 0;
    for (int tries = 0; tries < 20; tries++) {
        rc = flock(fd, LOCK_EX | LOCK_NB);
        e = errno;
        if (rc == 0 || e != EWOULDBLOCK) break;
        nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
    }
    if (rc != 0) {
        if (e == EWOULDBLOCK) {
            int pid = read_pid_of_holder(fd);
            if (pid > 0)
                snprintf(err, AURL_ERR_LEN, "%.400s: another trainer (pid %d) is running", lk->path, pid);
            else snprintf(err, AURL_ERR_LEN, "%.400s: another trainer is running", lk->path);
        } else {
            snprintf(err, AURL_ERR_LEN, "%.400s: cannot lock: %s", lk->path, strerror(e));
        }
        close(fd);
        return -1;
    }
    char text[32];
    int n = snprintf(text, sizeof text, "%d\n", (int)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)n, 0) != n) {
        snprintf(err, AURL_ERR_LEN, "%.400s: cannot write pid: %s", lk->path, strerror(errno));
        flock(fd, LOCK_UN);
        close(fd);
        return -1;
    }
    lk->fd = fd;
    return 0;
}

void run_lock_release(run_lock *lk)
{
    if (lk->fd < 0) return;
    int rc = ftruncate(lk->fd, 0); /* on failure the pid stays: harmless once unlocked */
    (void)rc;
    flock(lk->fd, LOCK_UN);
    close(lk->fd);
    lk->fd = -1;
}

int run_lock_owner(const char *outputs_dir)
{
    char path[4096];
    if (lock_path(path, sizeof path, outputs_dir) != 0) return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    int pid = 0;
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) flock(fd, LOCK_UN); /* nobody holds it */
    else if (errno == EWOULDBLOCK) pid = read_pid_of_holder(fd);
    close(fd);
    return pid;
}
