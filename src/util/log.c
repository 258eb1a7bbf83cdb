/* log: timestamped diagnostics to stderr and an optional log file. */
#include "util/log.h"

#include <stdio.h>
#include <time.h>

static int g_quiet;
static log_level g_level = LOG_INFO;
static FILE *g_file;
static char g_last_error[1024];
static const char *g_prefix = "";

void log_set_quiet(int quiet) { g_quiet = quiet; }
void log_set_level(log_level level) { g_level = level; }

int log_open(const char *path)
{
    FILE *f = fopen(path, "a");
    if (!f) return -1;
    log_close();
    setvbuf(f, NULL, _IOLBF, 0);
    g_file = f;
    return 0;
}

void log_close(void)
{
    if (g_file) fclose(g_file);
    g_file = NULL;
}

static const char *level_name(log_level level)
{
    switch (level) {
    case LOG_DEBUG: return "DEBUG";
    case LOG_INFO: return "INFO";
    case LOG_WARN: return "WARN";
    default: return "ERROR";
    }
}

void log_vmsg(log_level level, const char *fmt, va_list ap)
{
    if (level < g_level) return;
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    if (level >= LOG_ERROR) snprintf(g_last_error, sizeof g_last_error, "%s", line);
    if (g_file) {
        char stamp[32];
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
        fprintf(g_file, "%s %s %s\n", stamp, level_name(level), line);
    }
    if (!g_quiet || level >= LOG_ERROR) {
        if (level >= LOG_WARN) fprintf(stderr, "aurl: %s%s: %s\n", g_prefix, level == LOG_WARN ? "warning" : "error", line);
        else fprintf(stderr, "%s%s\n", g_prefix, line);
    }
}

void log_msg(log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}

const char *log_last_error(void) { return g_last_error; }

void log_set_prefix(const char *prefix) { g_prefix = prefix ? prefix : ""; }
