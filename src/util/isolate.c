/* isolate: a fork-per-job process pool. Each child runs one job with an
 * address-space limit (RLIMIT_AS, counted on top of what the child inherits
 * from the parent), sends its result blob back over a pipe and _exits; the
 * parent multiplexes the pipes with poll(), enforces the wall-clock timeout
 * with SIGKILL and classifies how each child ended from waitpid().
 *
 * Wire format on the pipe: one kind byte, a little-endian u64 length, then
 * the payload (the result blob, or the error text when kind is FAILED).
 * A child that dies on a fatal signal while out of memory first writes the
 * single kind byte NOMEM from its signal handler. */
#include "util/isolate.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"

enum { WIRE_OK = 0, WIRE_FAILED = 1, WIRE_NOMEM = 2 };
#define WIRE_HEADER 9

/* One running child. */
typedef struct {
    pid_t pid;        /* 0: slot free */
    int fd;           /* read end of the result pipe; -1 once closed */
    size_t index;
    double deadline;  /* monotonic seconds; 0: none */
    int timed_out;
    int too_large;
    int wstatus;
    int reaped;
    uint8_t head[WIRE_HEADER];
    size_t head_len;
    uint8_t *payload;
    size_t payload_len, payload_got;
} slot;

/* Fields the child's fatal-signal handler needs (async-signal-safe use only). */
static int g_child_fd = -1;
static size_t g_child_nomem_pages; /* VmSize above which a crash counts as NOMEM */

const char *isolate_status_name(isolate_status status)
{
    switch (status) {
    case ISOLATE_OK: return "ok";
    case ISOLATE_FAILED: return "failed";
    case ISOLATE_CRASHED: return "crashed";
    case ISOLATE_TIMEOUT: return "timed out";
    case ISOLATE_NOMEM: return "out of memory";
    case ISOLATE_SYSERR: return "system error";
    }
    return "unknown";
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGABRT: return "SIGABRT";
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGTRAP: return "SIGTRAP";
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGPIPE: return "SIGPIPE";
    case SIGALRM: return "SIGALRM";
    case SIGXCPU: return "SIGXCPU";
    case SIGSYS: return "SIGSYS";
    default: return NULL;
    }
}

/* Virtual size of this process in pages, from /proc/self/statm; 0 if unknown.
 * Async-signal-safe (open/read/close only). */
static size_t vm_pages(void)
{
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    size_t v = 0;
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) v = v * 10 + (size_t)(buf[i] - '0');
    return v;
}

/* Write all of BUF, retrying on EINTR and short writes. */
static int write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Child: a fatal signal. If the job was out of memory (the failing
 * allocation left errno at ENOMEM, or the address space is close to the
 * limit) say so on the pipe, then die of the same signal. */
static void child_fatal_handler(int sig)
{
    int e = errno;
    if (g_child_fd >= 0 && (e == ENOMEM || (g_child_nomem_pages && vm_pages() >= g_child_nomem_pages))) {
        uint8_t k = WIRE_NOMEM;
        (void)!write(g_child_fd, &k, 1);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Child side: limits, the job, the result on FD, _exit. Never returns. */
static void run_child(int fd, size_t index, isolate_fn fn, void *arg, const isolate_limits *lim,
                      pid_t parent)
{
    /* Die with the parent; never outlive the timeout even if the parent is
     * stopped; leave terminal interrupts to the parent. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    signal(SIGINT, SIG_IGN);
    /* handlers inherited from the caller (e.g. the trainer's stop and
     * checkpoint flags) mean nothing here: these signals end the job, and
     * SIGALRM must stay the timeout backstop */
    const int reset[] = { SIGPIPE, SIGTERM, SIGHUP, SIGALRM, SIGUSR1, SIGUSR2 };
    for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++) signal(reset[i], SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (lim->timeout_s > 0 && lim->timeout_s < 1e6) alarm((unsigned)lim->timeout_s + 2);

    g_child_fd = fd;
    if (lim->mem_limit_bytes) {
        long page = sysconf(_SC_PAGESIZE);
        if (page <= 0) page = 4096;
        size_t base = vm_pages() * (size_t)page;
        struct rlimit rl;
        rl.rlim_cur = rl.rlim_max = (rlim_t)(base + lim->mem_limit_bytes);
        if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(126);
        g_child_nomem_pages = (base + lim->mem_limit_bytes - lim->mem_limit_bytes / 16) / (size_t)page;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = child_fatal_handler;
    sa.sa_flags = SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    int fatal[] = { SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP };
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) sigaction(fatal[i], &sa, NULL);

    uint8_t *out = NULL;
    size_t out_len = 0;
    char err[AURL_ERR_LEN];
    err[0] = '\0';
    int rc = fn(arg, index, &out, &out_len, err);
    uint8_t head[WIRE_HEADER];
    int ok;
    if (rc == 0) {
        head[0] = WIRE_OK;
        put_u64(head + 1, out ? out_len : 0);
        ok = write_all(fd, head, WIRE_HEADER) == 0 && (!out || write_all(fd, out, out_len) == 0);
    } else {
        err[AURL_ERR_LEN - 1] = '\0';
        if (!err[0]) snprintf(err, AURL_ERR_LEN, "job failed");
        size_t n = strlen(err);
        head[0] = WIRE_FAILED;
        put_u64(head + 1, n);
        ok = write_all(fd, head, WIRE_HEADER) == 0 && write_all(fd, err, n) == 0;
    }
    _exit(ok ? 0 : 125);
}

/* Start index IDX in slot S. Returns 0 or -1 (pipe/fork failed). */
static int spawn(slot *s, slot *all, int n_slots, size_t idx, isolate_fn fn, void *arg,
                 const isolate_limits *lim)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return -1;
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    pid_t parent = getpid();
    fflush(NULL); /* no buffered output duplicated into the child */
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        errno = e; /* for the caller's message */
        return -1;
    }
    if (pid == 0) {
        close(p[0]);
        for (int i = 0; i < n_slots; i++)
            if (all[i].pid && all[i].fd >= 0) close(all[i].fd);
        run_child(p[1], idx, fn, arg, lim, parent);
    }
    close(p[1]);
    memset(s, 0, sizeof *s);
    s->pid = pid;
    s->fd = p[0];
    s->index = idx;
    s->deadline = lim->timeout_s > 0 ? clock_monotonic() + lim->timeout_s : 0;
    return 0;
}

/* Parent: one non-blocking read from S's pipe. Returns 1 if bytes arrived,
 * 0 if none are available now, -1 once the pipe is closed (EOF, error, or
 * the child announced more than CAP bytes). */
static int read_some(slot *s, size_t cap)
{
    uint8_t tmp[65536];
    for (;;) {
        uint8_t *dst;
        size_t want;
        if (s->head_len < WIRE_HEADER) {
            dst = s->head + s->head_len;
            want = WIRE_HEADER - s->head_len;
        } else if (s->payload_got < s->payload_len) {
            dst = s->payload + s->payload_got;
            want = s->payload_len - s->payload_got;
        } else {
            dst = tmp; /* anything beyond the announced length is discarded */
            want = sizeof tmp;
        }
        ssize_t r = read(s->fd, dst, want);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        if (r <= 0) {
            close(s->fd);
            s->fd = -1;
            return -1;
        }
        if (s->head_len < WIRE_HEADER) {
            s->head_len += (size_t)r;
            if (s->head_len == WIRE_HEADER && s->head[0] != WIRE_NOMEM) {
                uint64_t len = get_u64(s->head + 1);
                if (len > cap || (s->payload = malloc(len ? len : 1)) == NULL) {
                    s->too_large = 1;
                    kill(s->pid, SIGKILL);
                    close(s->fd);
                    s->fd = -1;
                    return -1;
                }
                s->payload_len = len;
            }
        } else if (dst != tmp) {
            s->payload_got += (size_t)r;
        }
        return 1; /* one read per poll wake-up keeps the loop fair */
    }
}

/* Parent: classify a finished child and report it. */
static void finish(slot *s, isolate_done_fn done, void *arg, const isolate_limits *lim)
{
    char msg[AURL_ERR_LEN];
    isolate_status st;
    int complete = s->head_len == WIRE_HEADER && s->payload_got == s->payload_len;
    const uint8_t *out = NULL;
    size_t out_len = 0;
    msg[0] = '\0';
    int ws = s->wstatus;
    if (s->timed_out) {
        st = ISOLATE_TIMEOUT;
        snprintf(msg, sizeof msg, "timed out after %g s", lim->timeout_s);
    } else if (s->too_large) {
        st = ISOLATE_CRASHED;
        snprintf(msg, sizeof msg, "result too large");
    } else if (s->head_len >= 1 && s->head[0] == WIRE_NOMEM) {
        st = ISOLATE_NOMEM;
        snprintf(msg, sizeof msg, "out of memory (limit %zu MiB)", lim->mem_limit_bytes >> 20);
    } else if (WIFSIGNALED(ws)) {
        const char *name = signal_name(WTERMSIG(ws));
        st = ISOLATE_CRASHED;
        if (name) snprintf(msg, sizeof msg, "%s", name);
        else snprintf(msg, sizeof msg, "signal %d", WTERMSIG(ws));
    } else if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0 && complete) {
        if (s->head[0] == WIRE_OK) {
            st = ISOLATE_OK;
            out = s->payload;
            out_len = s->payload_len;
        } else {
            st = ISOLATE_FAILED;
            size_t n = s->payload_len < sizeof msg - 1 ? s->payload_len : sizeof msg - 1;
            if (n) memcpy(msg, s->payload, n);
            msg[n] = '\0';
        }
    } else {
        st = ISOLATE_CRASHED;
        if (WIFEXITED(ws) && WEXITSTATUS(ws) != 0)
            snprintf(msg, sizeof msg, "exited with code %d", WEXITSTATUS(ws));
        else
            snprintf(msg, sizeof msg, "truncated result");
    }
    done(arg, s->index, st, out, out_len, msg);
    free(s->payload);
    memset(s, 0, sizeof *s);
    s->fd = -1;
}

int isolate_map(size_t n, isolate_fn fn, isolate_done_fn done, void *arg, const isolate_limits *limits)
{
    isolate_limits lim = *limits;
    if (lim.jobs < 1) lim.jobs = 1;
    if ((size_t)lim.jobs > n) lim.jobs = n ? (int)n : 1;
    size_t cap = lim.mem_limit_bytes ? lim.mem_limit_bytes : ((size_t)1 << 32);

    slot *slots = calloc((size_t)lim.jobs, sizeof *slots);
    struct pollfd *pfd = calloc((size_t)lim.jobs, sizeof *pfd);
    int *pmap = calloc((size_t)lim.jobs, sizeof *pmap);
    if (!slots || !pfd || !pmap) {
        free(slots);
        free(pfd);
        free(pmap);
        for (size_t i = 0; i < n; i++) done(arg, i, ISOLATE_SYSERR, NULL, 0, "out of memory in the parent");
        return -1;
    }
    for (int i = 0; i < lim.jobs; i++) slots[i].fd = -1;

    size_t next = 0;
    int active = 0, pool_failed = 0;
    while ((!pool_failed && next < n) || active > 0) {
        /* fill free slots */
        for (int i = 0; i < lim.jobs && !pool_failed && next < n; i++) {
            if (slots[i].pid) continue;
            if (spawn(&slots[i], slots, lim.jobs, next, fn, arg, &lim) != 0) {
                log_warn("isolate: cannot start a worker: %s", strerror(errno));
                pool_failed = 1;
                break;
            }
            next++;
            active++;
        }
        if (!active) break;

        /* wait for output, a child exit or the nearest deadline */
        double t = clock_monotonic(), wait_s = -1;
        int np = 0, need_reap = 0;
        for (int i = 0; i < lim.jobs; i++) {
            slot *s = &slots[i];
            if (!s->pid) continue;
            if (s->fd >= 0) {
                pfd[np].fd = s->fd;
                pfd[np].events = POLLIN;
                pfd[np].revents = 0;
                pmap[np++] = i;
            } else {
                need_reap = 1;
            }
            if (s->deadline > 0 && !s->timed_out) {
                double left = s->deadline - t;
                if (left < 0) left = 0;
                if (wait_s < 0 || left < wait_s) wait_s = left;
            }
        }
        int timeout_ms = wait_s < 0 ? -1 : (int)(wait_s * 1000.0) + 1;
        if (need_reap && (timeout_ms < 0 || timeout_ms > 5)) timeout_ms = 5;
        int pr = poll(pfd, (nfds_t)np, timeout_ms);
        if (pr < 0 && errno != EINTR) {
            log_warn("isolate: poll failed: %s", strerror(errno));
            struct timespec ts = { 0, 5000000 };
            nanosleep(&ts, NULL);
        }
        for (int k = 0; pr > 0 && k < np; k++)
            if (pfd[k].revents) read_some(&slots[pmap[k]], cap);

        /* deadlines, reaping, reporting */
        t = clock_monotonic();
        for (int i = 0; i < lim.jobs; i++) {
            slot *s = &slots[i];
            if (!s->pid) continue;
            if (s->deadline > 0 && t >= s->deadline && !s->timed_out && !s->reaped) {
                s->timed_out = 1;
                kill(s->pid, SIGKILL);
            }
            if (!s->reaped) {
                /* a killed child is collected at once; others only after EOF
                 * or without blocking, so a child that closed its pipe and
                 * hangs still meets its deadline */
                int flags = (s->timed_out || s->too_large) ? 0 : WNOHANG;
                pid_t r;
                do r = waitpid(s->pid, &s->wstatus, flags);
                while (r < 0 && errno == EINTR);
                if (r == s->pid || (r < 0 && errno == ECHILD)) s->reaped = 1;
            }
            if (s->reaped && s->fd >= 0 && (s->timed_out || s->too_large)) {
                close(s->fd);
                s->fd = -1;
            }
            if (s->reaped && s->fd >= 0) {
                /* the child is gone: drain what it left in the pipe (a
                 * grandchild still holding the write end is not waited for) */
                while (read_some(s, cap) > 0) {}
                if (s->fd >= 0) {
                    close(s->fd);
                    s->fd = -1;
                }
            }
            if (s->reaped && s->fd < 0) {
                finish(s, done, arg, &lim);
                active--;
            }
        }
    }
    for (size_t i = next; i < n; i++) done(arg, i, ISOLATE_SYSERR, NULL, 0, "could not start a worker process");
    free(slots);
    free(pfd);
    free(pmap);
    return pool_failed ? -1 : 0;
}
