/* gen_run: a child process with non-blocking output pipes (see gen_run.h). */
#include "tui/gen_run.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tui/gen_list.h"

#define OUT_MAX (1u << 20) /* stdout kept (the sidecar JSON is small) */

void gen_run_init(gen_run *r)
{
    memset(r, 0, sizeof *r);
    r->fd_out = r->fd_err = -1;
}

static void close_fds(gen_run *r)
{
    if (r->fd_out >= 0) close(r->fd_out);
    if (r->fd_err >= 0) close(r->fd_err);
    r->fd_out = r->fd_err = -1;
}

int gen_run_start(gen_run *r, char *const argv[], char err[AURL_ERR_LEN])
{
    gen_run_free(r);
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) != 0) {
        errmsg_set(err, "pipe: %s", strerror(errno));
        return -1;
    }
    if (pipe2(pe, O_CLOEXEC) != 0) {
        errmsg_set(err, "pipe: %s", strerror(errno));
        close(po[0]), close(po[1]);
        return -1;
    }
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t pid = fork();
    if (pid < 0) {
        errmsg_set(err, "fork: %s", strerror(errno));
        close(po[0]), close(po[1]), close(pe[0]), close(pe[1]);
        if (devnull >= 0) close(devnull);
        return -1;
    }
    if (pid == 0) {
        /* child: only async-signal-safe calls until exec */
        if (devnull >= 0) dup2(devnull, 0);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        execv(argv[0], argv);
        static const char msg[] = "cannot run the generator (exec failed)\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        _exit(127);
    }
    close(po[1]), close(pe[1]);
    if (devnull >= 0) close(devnull);
    r->pid = pid;
    r->fd_out = po[0];
    r->fd_err = pe[0];
    fcntl(r->fd_out, F_SETFL, fcntl(r->fd_out, F_GETFL) | O_NONBLOCK);
    fcntl(r->fd_err, F_SETFL, fcntl(r->fd_err, F_GETFL) | O_NONBLOCK);
    return 0;
}

int gen_run_active(const gen_run *r)
{
    return r->pid > 0 && !r->finished;
}

/* One complete stderr line. */
static void on_line(gen_run *r, char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    long d, t;
    if (gen_parse_progress(line, &d, &t)) {
        r->done = d;
        r->total = t;
    } else if (n) {
        snprintf(r->last_error, sizeof r->last_error, "%s", line);
    }
}

/* Drain FD; returns 1 if bytes arrived; closes it at EOF. */
static int drain(gen_run *r, int *fd, int is_err)
{
    int got = 0;
    char buf[4096];
    for (int rounds = 0; *fd >= 0 && rounds < 64; rounds++) {
        ssize_t n = read(*fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) {
            close(*fd);
            *fd = -1;
            if (is_err && r->line_len) {
                r->line[r->line_len] = 0;
                on_line(r, r->line);
                r->line_len = 0;
            }
            got = 1;
            break;
        }
        got = 1;
        if (!is_err) {
            size_t keep = (size_t)n;
            if (r->out_len + keep > OUT_MAX) keep = OUT_MAX - r->out_len;
            if (r->out_len + keep + 1 > r->out_cap) {
                size_t nc = r->out_cap ? r->out_cap : 4096;
                while (nc < r->out_len + keep + 1) nc *= 2;
                char *p = realloc(r->out, nc);
                if (!p) continue;
                r->out = p;
                r->out_cap = nc;
            }
            memcpy(r->out + r->out_len, buf, keep);
            r->out_len += keep;
            r->out[r->out_len] = 0;
            continue;
        }
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n' || r->line_len + 1 >= sizeof r->line) {
                r->line[r->line_len] = 0;
                on_line(r, r->line);
                r->line_len = 0;
                if (buf[i] == '\n') continue;
            }
            r->line[r->line_len++] = buf[i];
        }
    }
    return got;
}

int gen_run_poll(gen_run *r)
{
    if (r->pid <= 0 || r->finished) return 0;
    int changed = drain(r, &r->fd_out, 0);
    changed |= drain(r, &r->fd_err, 1);
    int st;
    pid_t w = waitpid(r->pid, &st, WNOHANG);
    if (w == r->pid || (w < 0 && errno == ECHILD)) {
        /* read what is left, then close */
        drain(r, &r->fd_out, 0);
        drain(r, &r->fd_err, 1);
        close_fds(r);
        if (w == r->pid) r->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1;
        else r->exit_code = 1;
        r->finished = 1;
        changed = 1;
    }
    return changed;
}

void gen_run_cancel(gen_run *r)
{
    if (gen_run_active(r)) {
        kill(r->pid, SIGTERM);
        r->cancelled = 1;
    }
}

void gen_run_free(gen_run *r)
{
    if (gen_run_active(r)) {
        kill(r->pid, SIGTERM);
        int st;
        for (int i = 0; i < 200; i++) { /* ~2 s grace */
            if (waitpid(r->pid, &st, WNOHANG) == r->pid) goto reaped;
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        kill(r->pid, SIGKILL);
        waitpid(r->pid, &st, 0);
    }
reaped:
    close_fds(r);
    free(r->out);
    gen_run_init(r);
}
