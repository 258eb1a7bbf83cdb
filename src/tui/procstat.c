/* procstat: /proc readers (see procstat.h). */
#include "tui/procstat.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Fields after the ')' of /proc/PID/stat: state, and utime+stime. */
static int read_stat(int pid, char *state, unsigned long long *ticks)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "re");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* comm may hold spaces and parens */
    if (!p || p[1] != ' ' || !p[2]) return -1;
    *state = p[2];
    /* after ") S": ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    unsigned long long ut = 0, st = 0;
    if (sscanf(p + 3, " %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
    *ticks = ut + st;
    return 0;
}

char procstat_state(int pid)
{
    char s = 0;
    unsigned long long t;
    if (pid <= 0 || read_stat(pid, &s, &t) != 0) return 0;
    return s;
}

int procstat_sample(procstat_proc *p, int pid, double now)
{
    char state;
    unsigned long long ticks;
    if (pid <= 0 || read_stat(pid, &state, &ticks) != 0) {
        memset(p, 0, sizeof *p);
        p->cpu_pct = -1;
        return -1;
    }
    if (pid != p->pid || p->t <= 0 || now <= p->t) {
        if (pid != p->pid) p->cpu_pct = -1;
    } else {
        double hz = (double)sysconf(_SC_CLK_TCK);
        p->cpu_pct = ticks >= p->ticks ? (double)(ticks - p->ticks) / hz / (now - p->t) * 100.0 : 0;
    }
    p->pid = pid;
    p->state = state;
    p->ticks = ticks;
    p->t = now;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "re");
    p->rss_kb = 0;
    p->threads = 0;
    if (f) {
        while (fgets(line, sizeof line, f)) {
            if (!strncmp(line, "VmRSS:", 6)) p->rss_kb = strtol(line + 6, NULL, 10);
            else if (!strncmp(line, "Threads:", 8)) p->threads = (int)strtol(line + 8, NULL, 10);
        }
        fclose(f);
    }
    return 0;
}

int procstat_load(double load[3])
{
    FILE *f = fopen("/proc/loadavg", "re");
    if (!f) return -1;
    int n = fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]);
    fclose(f);
    return n == 3 ? 0 : -1;
}

int procstat_meminfo(long *total_kb, long *avail_kb)
{
    FILE *f = fopen("/proc/meminfo", "re");
    if (!f) return -1;
    char line[256];
    int got = 0;
    *total_kb = *avail_kb = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "MemTotal:", 9)) *total_kb = strtol(line + 9, NULL, 10), got |= 1;
        else if (!strncmp(line, "MemAvailable:", 13)) *avail_kb = strtol(line + 13, NULL, 10), got |= 2;
    }
    fclose(f);
    return got == 3 ? 0 : -1;
}

static long long g_du_total;

static int du_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)path;
    (void)flag;
    (void)ftw;
    g_du_total += (long long)sb->st_blocks * 512;
    return 0;
}

long long procstat_du(const char *dir)
{
    g_du_total = 0;
    if (nftw(dir, du_entry, 16, FTW_PHYS | FTW_MOUNT) != 0) return g_du_total;
    return g_du_total;
}

int procstat_cpu_parse(procstat_cpu *c, const char *text)
{
    unsigned long long busy[PROCSTAT_MAX_CPUS + 1] = {0}, all[PROCSTAT_MAX_CPUS + 1] = {0};
    int n = 0, have_total = 0;
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, "cpu", 3) != 0) continue;
        unsigned long long v[8] = {0};
        int idx = -1, off = 0;
        if (line[3] == ' ') idx = 0, off = 3;
        else if (sscanf(line + 3, "%d%n", &idx, &off) == 1 && idx >= 0 && idx < PROCSTAT_MAX_CPUS) idx++, off += 3;
        else continue;
        /* user nice system idle iowait irq softirq steal */
        if (sscanf(line + off, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                   &v[6], &v[7]) < 4)
            continue;
        unsigned long long idle = v[3] + v[4], tot = 0;
        for (int k = 0; k < 8; k++) tot += v[k];
        busy[idx] = tot - idle;
        all[idx] = tot;
        if (idx == 0) have_total = 1;
        else if (idx > n) n = idx;
    }
    if (!have_total) return -1;
    c->n_cpus = n;
    c->total_pct = -1;
    for (int i = 0; i <= n; i++) {
        unsigned long long da = all[i] - c->all[i], db = busy[i] - c->busy[i];
        double pct = c->samples > 0 && all[i] > c->all[i] ? 100.0 * (double)db / (double)da : -1;
        if (pct > 100) pct = 100;
        if (i == 0) c->total_pct = pct;
        else c->core_pct[i - 1] = pct;
        c->busy[i] = busy[i];
        c->all[i] = all[i];
    }
    c->samples++;
    return 0;
}

int procstat_cpu_sample(procstat_cpu *c)
{
    char buf[16384];
    FILE *f = fopen("/proc/stat", "re");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return procstat_cpu_parse(c, buf);
}
