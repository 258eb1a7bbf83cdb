/* run_control: trainer state and control for the TUI (see run_control.h). */
#include "tui/run_control.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/train/run_lock.h"
#include "tui/procstat.h"
#include "util/clock.h"
#include "util/fileio.h"

const char *run_state_name(run_state s)
{
    static const char *const names[] = {"idle", "running", "paused", "finished", "failed"};
    return s >= RUN_IDLE && s <= RUN_FAILED ? names[s] : "idle";
}

run_state run_control_classify(int pid, char proc_state, const train_state *st, int have_state, int log_failed)
{
    if (pid > 0) return proc_state == 'T' || proc_state == 't' ? RUN_PAUSED : RUN_RUNNING;
    if (log_failed) return RUN_FAILED;
    if (!have_state || !st) return RUN_IDLE;
    int partial = 0, complete = 0;
    for (int i = 0; i < TRAIN_MAX_STAGES; i++) {
        partial |= st->stages[i].status == STAGE_PARTIAL;
        complete |= st->stages[i].status == STAGE_COMPLETE;
    }
    return !partial && complete ? RUN_FINISHED : RUN_IDLE;
}

void run_control_refresh(run_info *ri, const char *outputs_dir, int log_failed)
{
    ri->pid = run_lock_owner(outputs_dir);
    ri->proc_state = ri->pid > 0 ? procstat_state(ri->pid) : 0;
    if (ri->pid > 0 && !ri->proc_state) ri->pid = 0; /* raced with its exit */
    char path[4200];
    snprintf(path, sizeof path, "%s/training_state.json", outputs_dir);
    ri->state_err[0] = 0;
    ri->have_state = 0;
    train_state_init(&ri->st);
    /* a viewer: train_state_read reports a damaged file without moving it */
    if (access(path, F_OK) == 0) {
        int r = train_state_read(path, &ri->st, ri->state_err);
        ri->have_state = r == 1;
        if (r != -1) ri->state_err[0] = 0;
    }
    ri->state = run_control_classify(ri->pid, ri->proc_state, &ri->st, ri->have_state, log_failed);
}

/* Keep the last non-empty line of TEXT in OUT. */
static void last_line(const char *text, char *out, size_t len)
{
    const char *end = text + strlen(text);
    while (end > text && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ')) end--;
    const char *start = end;
    while (start > text && start[-1] != '\n') start--;
    snprintf(out, len, "%.*s", (int)(end - start), start);
}

int run_control_spawn(const char *self_exe, const aurl_globals *g, const char *const *args, char *out,
                      size_t out_len, double timeout)
{
    if (out && out_len) out[0] = 0;
    const char *argv[32];
    int n = 0;
    argv[n++] = self_exe;
    argv[n++] = "--outputs";
    argv[n++] = g->outputs_dir;
    argv[n++] = "--data";
    argv[n++] = g->data_dir;
    for (int i = 0; args && args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, STDIN_FILENO);
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        signal(SIGPIPE, SIG_DFL);
        execv(self_exe, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    char buf[4096];
    size_t got = 0;
    double deadline = clock_monotonic() + timeout;
    int timed_out = 0;
    for (;;) {
        int ms = (int)((deadline - clock_monotonic()) * 1000);
        if (ms <= 0) {
            timed_out = 1;
            break;
        }
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        int r = poll(&p, 1, ms);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            timed_out = r == 0;
            break;
        }
        ssize_t k = read(fds[0], buf + got, got < sizeof buf - 1 ? sizeof buf - 1 - got : 0);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            if (got >= sizeof buf - 1) { /* full: keep the newest half */
                memmove(buf, buf + got / 2, got - got / 2);
                got -= got / 2;
                continue;
            }
            break;
        }
        got += (size_t)k;
    }
    close(fds[0]);
    buf[got] = 0;
    if (out && out_len) last_line(buf, out, out_len);
    if (timed_out) kill(pid, SIGKILL);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int run_control_start(const char *self_exe, const aurl_globals *g, int stage, const char *profile, char *out,
                      size_t out_len)
{
    char sbuf[16];
    const char *args[8] = {"train", "--detach", NULL};
    int n = 2;
    if (stage >= 1 && stage <= TRAIN_MAX_STAGES) {
        snprintf(sbuf, sizeof sbuf, "%d", stage);
        args[n++] = "--stage";
        args[n++] = sbuf;
    }
    if (profile && profile[0]) {
        args[n++] = "--profile";
        args[n++] = profile;
    }
    args[n] = NULL;
    return run_control_spawn(self_exe, g, args, out, out_len, 30);
}

static int cmp_name(const void *a, const void *b) { return strcmp(a, b); }

int run_control_profiles(const char *configs_dir, char names[][32], int max)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/profiles", configs_dir);
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        size_t l = strlen(e->d_name);
        if (l <= 5 || l - 5 >= 32 || strcmp(e->d_name + l - 5, ".yaml") || e->d_name[0] == '.') continue;
        snprintf(names[n], 32, "%.*s", (int)(l - 5), e->d_name);
        n++;
    }
    closedir(d);
    qsort(names, (size_t)n, 32, cmp_name);
    return n;
}

int run_control_stop(int pid)
{
    if (pid <= 0) return -1;
    if (kill(pid, SIGTERM) != 0) return -1;
    kill(pid, SIGCONT);
    return 0;
}

int run_control_pause(int pid) { return pid > 0 ? kill(pid, SIGSTOP) : -1; }
int run_control_resume(int pid) { return pid > 0 ? kill(pid, SIGCONT) : -1; }
