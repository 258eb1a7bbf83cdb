/* metrics_tail: incremental tail of metrics.jsonl and train.log (see
 * metrics_tail.h). Records are decoded with the engine's own
 * metrics_parse_line; the "msg" of events is read with cJSON. */
#include "tui/metrics_tail.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/train/metrics.h"

#define MAX_POINTS 100000
#define READ_BUDGET (4 << 20)

static void series_reset(mtail_series *s) { s->n = 0; }

static void series_free(mtail_series *s)
{
    free(s->x);
    free(s->y);
    memset(s, 0, sizeof *s);
}

/* Append; beyond MAX_POINTS keep every other point (halves resolution of
 * old history, bounded memory). */
static void series_add(mtail_series *s, double x, double y)
{
    if (s->n >= MAX_POINTS) {
        size_t k = 0;
        for (size_t i = 0; i < s->n; i += 2, k++) {
            s->x[k] = s->x[i];
            s->y[k] = s->y[i];
        }
        s->n = k;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        double *nx = realloc(s->x, cap * sizeof *nx);
        if (!nx) return;
        s->x = nx;
        double *ny = realloc(s->y, cap * sizeof *ny);
        if (!ny) return;
        s->y = ny;
        s->cap = cap;
    }
    s->x[s->n] = x;
    s->y[s->n] = y;
    s->n++;
}

static void file_init(mtail_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", path);
}

static void reset_metrics_data(mtail *t)
{
    for (int s = 0; s < MTAIL_STAGES; s++) {
        series_reset(&t->train[s]);
        series_reset(&t->val[s]);
    }
    t->have_train = 0;
    t->last_stage = 0;
    t->last_step = 0;
    t->last_epoch = -1;
    t->n_tps = 0;
    t->n_new_rates = 0;
    t->records = t->garbage = 0;
    mpanel_init(&t->music);
}

void mtail_init(mtail *t, const char *outputs_dir)
{
    memset(t, 0, sizeof *t);
    char p[4200];
    snprintf(p, sizeof p, "%s/logs/metrics.jsonl", outputs_dir);
    file_init(&t->metrics, p);
    snprintf(p, sizeof p, "%s/logs/train.log", outputs_dir);
    file_init(&t->log, p);
    mpanel_init(&t->music);
}

void mtail_free(mtail *t)
{
    for (int s = 0; s < MTAIL_STAGES; s++) {
        series_free(&t->train[s]);
        series_free(&t->val[s]);
    }
}

void mtail_add_event(mtail *t, int level, const char *text)
{
    int idx;
    if (t->n_events < MTAIL_EVENTS) idx = (t->ev_head + t->n_events++) % MTAIL_EVENTS;
    else {
        idx = t->ev_head;
        t->ev_head = (t->ev_head + 1) % MTAIL_EVENTS;
    }
    mtail_event *e = &t->events[idx];
    e->level = level;
    /* keep printable ASCII/UTF-8 bytes only */
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p && k + 1 < sizeof e->text; p++)
        e->text[k++] = (*p < 32 || *p == 127) ? ' ' : (char)*p;
    e->text[k] = 0;
    t->generation++;
}

const mtail_event *mtail_event_at(const mtail *t, int i)
{
    if (i < 0 || i >= t->n_events) return NULL;
    return &t->events[(t->ev_head + i) % MTAIL_EVENTS];
}

int mtail_feed_metrics_line(mtail *t, const char *line)
{
    char kind[16], names[16][32];
    double values[16];
    int stage = 0;
    int64_t step = 0;
    int n = metrics_parse_line(line, kind, sizeof kind, &stage, &step, names, values, 16);
    if (n < 0) {
        t->garbage++;
        return -1;
    }
    t->records++;
    int si = stage >= 1 && stage <= MTAIL_STAGES ? stage - 1 : -1;
    if (!strcmp(kind, "train")) {
        t->have_train = 1;
        t->last_stage = stage;
        t->last_step = step;
        for (int i = 0; i < n; i++) {
            double v = values[i];
            if (!strcmp(names[i], "loss")) {
                t->last_loss = v;
                if (si >= 0) series_add(&t->train[si], (double)step, v);
            } else if (!strcmp(names[i], "tokens_per_s")) {
                t->last_tokens_per_s = v;
                if (isfinite(v)) {
                    if (t->n_tps == MTAIL_TPS) {
                        memmove(t->tps, t->tps + 1, sizeof t->tps - sizeof t->tps[0]);
                        t->n_tps--;
                    }
                    t->tps[t->n_tps++] = v;
                }
            } else if (!strcmp(names[i], "steps_per_s")) {
                t->last_steps_per_s = v;
                if (t->n_new_rates == 64) { /* keep the newest: a long backlog must not pin an old rate */
                    memmove(t->new_rates, t->new_rates + 1, sizeof t->new_rates - sizeof t->new_rates[0]);
                    t->n_new_rates--;
                }
                t->new_rates[t->n_new_rates++] = v;
            } else if (!strcmp(names[i], "lr")) t->last_lr = v;
            else if (!strcmp(names[i], "epoch")) t->last_epoch = v;
        }
    } else if (!strcmp(kind, "music")) {
        mpanel_feed_line(&t->music, line);
    } else if (!strcmp(kind, "val")) {
        for (int i = 0; i < n; i++)
            if (!strcmp(names[i], "loss") && si >= 0) series_add(&t->val[si], (double)step, values[i]);
    } else {
        cJSON *o = cJSON_Parse(line);
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(o, "msg");
        if (cJSON_IsString(msg) && msg->valuestring) {
            char text[200];
            snprintf(text, sizeof text, "[%d] %s", stage, msg->valuestring);
            int warn = strstr(msg->valuestring, "non-finite") || strstr(msg->valuestring, "NaN") ||
                       strstr(msg->valuestring, "stopped") || strstr(msg->valuestring, "early");
            mtail_add_event(t, warn ? 1 : 0, text);
            if (strstr(msg->valuestring, " started") || strstr(msg->valuestring, " resumed")) t->failed = 0;
        }
        cJSON_Delete(o);
    }
    t->generation++;
    return 0;
}

/* train.log lines: "<date> <time> LEVEL message". Errors and warnings are
 * events; of the INFO lines only checkpoints, stops and completions. */
void mtail_feed_log_line(mtail *t, const char *line)
{
    const char *lv = NULL;
    int level = -1;
    if ((lv = strstr(line, " ERROR "))) level = 2;
    else if ((lv = strstr(line, " WARN "))) level = 1;
    else if ((lv = strstr(line, " INFO "))) level = 0;
    if (level < 0) return;
    const char *msg = strchr(lv + 1, ' ');
    msg = msg ? msg + 1 : lv;
    if (level == 0) {
        /* a new run / stage start clears an earlier failure */
        if (strstr(msg, "parameters,") || strstr(msg, "resumed")) t->failed = 0;
        if (!(strstr(msg, "checkpoint") || strstr(msg, "stopping") || strstr(msg, "early") ||
              strstr(msg, "all stages")))
            return;
    }
    if (level == 2) {
        t->failed = 1;
        snprintf(t->fail_msg, sizeof t->fail_msg, "%s", msg);
    }
    mtail_add_event(t, level, msg);
}

/* Read the appended part of F and feed its complete lines to the metrics
 * or log parser. A file that shrank, was replaced or deleted resets what
 * was read from it. Returns 1 on a reset, -1 if missing, else 0. */
static int follow(mtail *t, mtail_file *f, int is_metrics)
{
    struct stat sb;
    if (stat(f->path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (f->pos || f->plen || f->ino) {
            f->pos = 0;
            f->plen = 0;
            f->ino = 0;
            if (is_metrics) reset_metrics_data(t);
            else t->failed = 0;
            t->generation++;
            return 1; /* deleted (aurl clear): reset */
        }
        return -1;
    }
    int reset = 0;
    if ((f->ino && (sb.st_ino != f->ino || sb.st_dev != f->dev)) || sb.st_size < f->pos) {
        f->pos = 0;
        f->plen = 0;
        f->dropping = 0;
        reset = 1;
        if (is_metrics) reset_metrics_data(t);
        else t->failed = 0;
        t->generation++;
    }
    f->ino = sb.st_ino;
    f->dev = sb.st_dev;
    if (sb.st_size == f->pos) return reset;
    int fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return reset;
    char buf[65536];
    size_t budget = READ_BUDGET;
    while (budget > 0) {
        ssize_t n = pread(fd, buf, sizeof buf, f->pos);
        if (n <= 0) break;
        f->pos += n;
        budget = (size_t)n < budget ? budget - (size_t)n : 0;
        for (ssize_t i = 0; i < n; i++) {
            char ch = buf[i];
            if (ch == '\n') {
                if (!f->dropping) {
                    f->partial[f->plen] = 0;
                    if (is_metrics) mtail_feed_metrics_line(t, f->partial);
                    else mtail_feed_log_line(t, f->partial);
                } else if (is_metrics) t->garbage++;
                f->plen = 0;
                f->dropping = 0;
            } else if (!f->dropping) {
                if (f->plen + 1 >= sizeof f->partial) f->dropping = 1;
                else f->partial[f->plen++] = ch;
            }
        }
    }
    close(fd);
    return reset;
}

int mtail_poll(mtail *t)
{
    unsigned before = t->generation;
    follow(t, &t->metrics, 1);
    follow(t, &t->log, 0);
    return t->generation != before;
}
