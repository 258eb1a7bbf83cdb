/* fileio: bounded whole-file reads, atomic replacement, mkdir -p. */
#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int file_read_all(const char *path, size_t max_bytes, unsigned char **data, size_t *len, char err[AURL_ERR_LEN])
{
    *data = NULL;
    *len = 0;
    /* O_NONBLOCK: a FIFO (or device) in place of a file must not block the
     * open; it is refused below as not a regular file. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, AURL_ERR_LEN, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, AURL_ERR_LEN, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    if ((unsigned long long)st.st_size > max_bytes) {
        snprintf(err, AURL_ERR_LEN, "%s: too large (%lld bytes, limit %zu)", path, (long long)st.st_size, max_bytes);
        close(fd);
        return -1;
    }
    size_t cap = (size_t)st.st_size;
    unsigned char *buf = malloc(cap + 1);
    if (!buf) {
        snprintf(err, AURL_ERR_LEN, "%s: out of memory", path);
        close(fd);
        return -1;
    }
    size_t got = 0;
    while (got < cap) {
        ssize_t r = read(fd, buf + got, cap - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            snprintf(err, AURL_ERR_LEN, "%s: read error: %s", path, strerror(errno));
            free(buf);
            close(fd);
            return -1;
        }
        if (r == 0) break; /* file shrank while reading */
        got += (size_t)r;
    }
    close(fd);
    buf[got] = 0;
    *data = buf;
    *len = got;
    return 0;
}

static int fsync_parent_dir(const char *path)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int file_atomic_open(atomic_file *af, const char *path, char err[AURL_ERR_LEN])
{
    memset(af, 0, sizeof *af);
    if (strlen(path) + 16 >= sizeof af->tmp) {
        snprintf(err, AURL_ERR_LEN, "%s: path too long", path);
        return -1;
    }
    snprintf(af->path, sizeof af->path, "%s", path);
    snprintf(af->tmp, sizeof af->tmp, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(af->tmp);
    if (fd < 0) {
        snprintf(err, AURL_ERR_LEN, "%s: cannot create temp file: %s", path, strerror(errno));
        return -1;
    }
    fchmod(fd, 0644);
    af->fp = fdopen(fd, "wb");
    if (!af->fp) {
        snprintf(err, AURL_ERR_LEN, "%s: %s", path, strerror(errno));
        close(fd);
        unlink(af->tmp);
        return -1;
    }
    return 0;
}

int file_atomic_commit(atomic_file *af, char err[AURL_ERR_LEN])
{
    FILE *f = af->fp;
    af->fp = NULL;
    int bad = (fflush(f) != 0) | ferror(f);
    if (!bad && fsync(fileno(f)) != 0) bad = 1;
    int saved = errno;
    if (fclose(f) != 0) bad = 1;
    if (bad) {
        snprintf(err, AURL_ERR_LEN, "%s: write failed: %s", af->path, strerror(saved ? saved : errno));
        unlink(af->tmp);
        return -1;
    }
    if (rename(af->tmp, af->path) != 0) {
        snprintf(err, AURL_ERR_LEN, "%s: rename failed: %s", af->path, strerror(errno));
        unlink(af->tmp);
        return -1;
    }
    fsync_parent_dir(af->path);
    return 0;
}

void file_atomic_abort(atomic_file *af)
{
    if (af->fp) fclose(af->fp);
    af->fp = NULL;
    if (af->tmp[0]) unlink(af->tmp);
}

int file_write_atomic(const char *path, const void *data, size_t len, char err[AURL_ERR_LEN])
{
    atomic_file af;
    if (file_atomic_open(&af, path, err) != 0) return -1;
    if (len && fwrite(data, 1, len, af.fp) != len) {
        snprintf(err, AURL_ERR_LEN, "%s: write failed: %s", path, strerror(errno));
        file_atomic_abort(&af);
        return -1;
    }
    return file_atomic_commit(&af, err);
}

int file_mkdirs(const char *path, char err[AURL_ERR_LEN])
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        snprintf(err, AURL_ERR_LEN, "%s: path too long", path);
        return -1;
    }
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char saved = *p;
            *p = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
                snprintf(err, AURL_ERR_LEN, "%s: cannot create directory: %s", buf, strerror(errno));
                return -1;
            }
            if (!file_is_dir(buf)) {
                snprintf(err, AURL_ERR_LEN, "%s: exists and is not a directory", buf);
                return -1;
            }
            *p = saved;
            if (!saved) break;
        }
    }
    return 0;
}

int file_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int file_is_regular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}
