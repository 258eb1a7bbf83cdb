/* procstat: resource readings from /proc for the dashboard — a process's
 * CPU% (from /proc/PID/stat tick deltas), state letter, RSS and threads
 * (/proc/PID/status), system load (/proc/loadavg), memory (/proc/meminfo)
 * and disk used by a directory tree. Curses-free; never fails loudly. */
#ifndef AURL_TUI_PROCSTAT_H
#define AURL_TUI_PROCSTAT_H

typedef struct {
    int pid;                     /* process being sampled (0 = none) */
    char state;                  /* 'R', 'S', 'T' (stopped), ... or 0 */
    double cpu_pct;              /* CPU% over the last two samples (100 = one core); -1 until known */
    long rss_kb;
    int threads;
    unsigned long long ticks;    /* utime+stime at the last sample */
    double t;                    /* monotonic time of the last sample */
} procstat_proc;

/* Sample PID at monotonic time NOW (a different pid than last time starts
 * over). 0, or -1 if the process does not exist (fields zeroed). */
int procstat_sample(procstat_proc *p, int pid, double now);
/* State letter of PID from /proc/PID/stat, or 0 if there is no such process. */
char procstat_state(int pid);
#define PROCSTAT_MAX_CPUS 64

/* The machine's CPU use from /proc/stat: the total and each core's busy
 * share (100 = all of that core) between the last two samples. */
typedef struct {
    int n_cpus;                  /* cores listed (at most PROCSTAT_MAX_CPUS) */
    double total_pct;            /* -1 until two samples */
    double core_pct[PROCSTAT_MAX_CPUS];
    unsigned long long busy[PROCSTAT_MAX_CPUS + 1], all[PROCSTAT_MAX_CPUS + 1]; /* [0] total, [1+i] core i */
    int samples;
} procstat_cpu;

/* Sample /proc/stat into C (zero it before the first call). 0 or -1. */
int procstat_cpu_sample(procstat_cpu *c);
/* Parse /proc/stat TEXT into C (the same as procstat_cpu_sample; for tests). 0 or -1. */
int procstat_cpu_parse(procstat_cpu *c, const char *text);
/* 1-, 5-, 15-minute load averages. 0 or -1. */
int procstat_load(double load[3]);
/* MemTotal and MemAvailable in kB. 0 or -1. */
int procstat_meminfo(long *total_kb, long *avail_kb);
/* Bytes allocated on disk below DIR (links not followed); 0 if missing. */
long long procstat_du(const char *dir);
#endif
