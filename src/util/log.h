/* log: the one place aurl writes diagnostics. Messages go to stderr (unless
 * quiet) and, once log_open() names a file, are appended there too. */
#ifndef AURL_LOG_H
#define AURL_LOG_H

#include <stdarg.h>

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

/* Suppress stderr output below LOG_ERROR (the -q flag). */
void log_set_quiet(int quiet);
/* Raise or lower the minimum level written anywhere (default LOG_INFO). */
void log_set_level(log_level level);
/* Also append every message to PATH. Returns 0, or -1 if it cannot be opened. */
int log_open(const char *path);
/* Close the log file opened by log_open (stderr output continues). */
void log_close(void);
/* Write one line: "<time> <LEVEL> message". A trailing newline is added. */
void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(log_level level, const char *fmt, va_list ap);
/* The text of the latest LOG_ERROR message ("" if none yet). */
const char *log_last_error(void);
/* A prefix for stderr lines (e.g. "rank 1: " on a non-zero MPI rank); the
 * string must outlive its use. NULL or "" for none. */
void log_set_prefix(const char *prefix);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
