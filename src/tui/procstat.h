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
/* 1-, 5-, 15-minute load averages. 0 or -1. */
int procstat_load(double load[3]);
/* MemTotal and MemAvailable in kB. 0 or -1. */
int procstat_meminfo(long *total_kb, long *avail_kb);
/* Bytes allocated on disk below DIR (links not followed); 0 if missing. */
long long procstat_du(const char *dir);
#endif
