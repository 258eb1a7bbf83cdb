/* fileio: whole-file reads with a size limit and atomic writes
 * (temp file in the same directory, fsync, rename, fsync of the directory),
 * so a crash never leaves a half-written state file or checkpoint. */
#ifndef AURL_FILEIO_H
#define AURL_FILEIO_H

#include <stddef.h>

#include "util/errmsg.h"

/* Read all of PATH into a malloc'd buffer (NUL-terminated, *len excludes the
 * NUL). Fails with a message in err if the file is missing, not a regular
 * file, or larger than max_bytes. Returns 0 or -1. */
int file_read_all(const char *path, size_t max_bytes, unsigned char **data, size_t *len, char err[AURL_ERR_LEN]);

/* Atomically replace PATH with LEN bytes of DATA. Returns 0 or -1 (err set). */
int file_write_atomic(const char *path, const void *data, size_t len, char err[AURL_ERR_LEN]);

/* Streamed atomic write: file_atomic_open gives a FILE* on a temp file;
 * file_atomic_commit flushes, fsyncs and renames it over PATH;
 * file_atomic_abort removes the temp file. */
typedef struct {
    char path[4096];
    char tmp[4096];
    void *fp; /* FILE* */
} atomic_file;
int file_atomic_open(atomic_file *af, const char *path, char err[AURL_ERR_LEN]);
int file_atomic_commit(atomic_file *af, char err[AURL_ERR_LEN]);
void file_atomic_abort(atomic_file *af);

/* mkdir -p. Returns 0 or -1 (err set). */
int file_mkdirs(const char *path, char err[AURL_ERR_LEN]);

/* 1 if PATH is an existing directory / regular file. */
int file_is_dir(const char *path);
int file_is_regular(const char *path);

#endif
