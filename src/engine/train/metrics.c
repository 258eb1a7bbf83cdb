/* metrics: append training measurements to metrics.jsonl (one cJSON object
 * per line, written with a single write() so a tailing reader sees whole
 * lines) and mirror train/val scalars into a TensorBoard event file. */
#include "engine/train/metrics.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/train/tb_writer.h"
#include "util/clock.h"
#include "util/log.h"

struct metrics {
    int fd; /* metrics.jsonl, O_APPEND */
    tb_writer *tb;
    int stage;
    int warned; /* one warning per run about write failures */
    char path[4096];
};

/* Keys every record has; scalars may not use them. */
static const char *const RESERVED[] = {"kind", "stage", "step", "time", "msg"};

static int is_reserved(const char *name)
{
    for (size_t i = 0; i < sizeof RESERVED / sizeof *RESERVED; i++)
        if (strcmp(name, RESERVED[i]) == 0) return 1;
    return 0;
}

static void warn_once(metrics *m, const char *what)
{
    if (m->warned) return;
    m->warned = 1;
    log_warn("%s: %s (further metrics errors not reported)", what, strerror(errno));
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* If the file ends in a partial line (a crash mid-record), end it so our
 * first record starts on a line of its own. */
static int terminate_partial_line(int fd)
{
    struct stat sb;
    char last;
    if (fstat(fd, &sb) != 0 || sb.st_size == 0) return 0;
    if (pread(fd, &last, 1, sb.st_size - 1) != 1 || last == '\n') return 0;
    return write_all(fd, "\n", 1);
}

int metrics_open(metrics **out, const char *outputs_dir, int stage, char err[AURL_ERR_LEN])
{
    *out = NULL;
    metrics *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, AURL_ERR_LEN, "%s: out of memory", outputs_dir);
        return -1;
    }
    m->fd = -1;
    m->stage = stage;
    char dir[4096], tb_dir[4096];
    /* check every path fits before creating anything, so a long outputs_dir
     * never leaves a directory named after a truncated path */
    if (snprintf(dir, sizeof dir, "%s/logs", outputs_dir) >= (int)sizeof dir ||
        snprintf(m->path, sizeof m->path, "%s/metrics.jsonl", dir) >= (int)sizeof m->path ||
        snprintf(tb_dir, sizeof tb_dir, "%s/tensorboard/stage%d", dir, stage) >= (int)sizeof tb_dir) {
        errmsg_set(err, "%.400s: path too long", outputs_dir);
        goto fail;
    }
    if (file_mkdirs(dir, err) != 0) goto fail;
    m->fd = open(m->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (m->fd < 0 || terminate_partial_line(m->fd) != 0) {
        snprintf(err, AURL_ERR_LEN, "%.400s: cannot open for append: %s", m->path, strerror(errno));
        goto fail;
    }
    if (tb_writer_open(&m->tb, tb_dir, err) != 0) goto fail;
    *out = m;
    return 0;
fail:
    metrics_close(m);
    return -1;
}

void metrics_close(metrics *m)
{
    if (!m) return;
    if (m->fd >= 0) close(m->fd);
    tb_writer_close(m->tb);
    free(m);
}

static void add_number_or_null(cJSON *o, const char *key, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

void metrics_log(metrics *m, const char *kind, int64_t step, int n, const char *const *names,
                 const double *values, const char *note)
{
    if (!m || !kind) return;
    double t = clock_wall();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", kind);
    cJSON_AddNumberToObject(o, "stage", m->stage);
    cJSON_AddNumberToObject(o, "step", (double)step);
    cJSON_AddNumberToObject(o, "time", t);
    for (int i = 0; i < n; i++) {
        if (!names[i] || is_reserved(names[i])) continue; /* would clash with the record's own keys */
        add_number_or_null(o, names[i], values[i]);
    }
    if (note) cJSON_AddStringToObject(o, "msg", note);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (text) {
        size_t len = strlen(text);
        char *line = malloc(len + 2);
        if (line) {
            memcpy(line, text, len);
            line[len] = '\n';
            if (write_all(m->fd, line, len + 1) != 0) warn_once(m, m->path);
            free(line);
        }
        cJSON_free(text);
    }
    if (strcmp(kind, "train") != 0 && strcmp(kind, "val") != 0 && strcmp(kind, "music") != 0) return;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        if (!names[i] || is_reserved(names[i])) continue;
        char tag[TB_MAX_TAG + 1];
        snprintf(tag, sizeof tag, "%s/%s", kind, names[i]);
        bad |= tb_writer_scalar(m->tb, tag, step, t, (float)values[i]) != 0;
    }
    bad |= tb_writer_flush(m->tb) != 0;
    if (bad) warn_once(m, tb_writer_path(m->tb));
}

int metrics_parse_line(const char *line, char *kind, int kind_len, int *stage, int64_t *step,
                       char names[][32], double *values, int max)
{
    if (!line) return -1;
    cJSON *o = cJSON_Parse(line);
    int count = -1;
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "kind");
    const cJSON *sg = cJSON_GetObjectItemCaseSensitive(o, "stage");
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(o, "step");
    if (!cJSON_IsObject(o) || !cJSON_IsString(k) || !cJSON_IsNumber(sg) || !cJSON_IsNumber(sp)) goto done;
    double sgv = sg->valuedouble, spv = sp->valuedouble;
    if (!(sgv >= 0 && sgv <= 1000) || !(spv >= -9.2e18 && spv <= 9.2e18)) goto done;
    if (kind && kind_len > 0) snprintf(kind, (size_t)kind_len, "%s", k->valuestring);
    if (stage) *stage = (int)sgv;
    if (step) *step = (int64_t)spv;
    count = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, o)
    {
        if (count >= max) break;
        if (!it->string || is_reserved(it->string) || !(cJSON_IsNumber(it) || cJSON_IsNull(it))) continue;
        if (names) snprintf(names[count], 32, "%s", it->string);
        if (values) values[count] = cJSON_IsNumber(it) ? it->valuedouble : NAN;
        count++;
    }
done:
    cJSON_Delete(o);
    return count;
}
