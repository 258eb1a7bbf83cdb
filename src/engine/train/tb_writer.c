/* tb_writer: hand-written protobuf encoding (varints, length-delimited
 * fields, fixed64/fixed32) of TensorBoard Event records in TFRecord frames. */
#include "engine/train/tb_writer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/hash.h"

struct tb_writer {
    FILE *fp;
    char path[4096];
};

/* Protobuf wire types. */
enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2, WT_FIXED32 = 5 };

/* A byte buffer large enough for one scalar Event. */
typedef struct {
    unsigned char b[TB_MAX_TAG + 64];
    size_t n;
} pbuf;

static void pb_varint(pbuf *p, uint64_t v)
{
    while (v >= 0x80) {
        p->b[p->n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p->b[p->n++] = (unsigned char)v;
}

static void pb_key(pbuf *p, int field, int wire) { pb_varint(p, (uint64_t)field << 3 | (uint64_t)wire); }

static void pb_fixed(pbuf *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) p->b[p->n++] = (unsigned char)(v >> (8 * i));
}

static void pb_bytes(pbuf *p, int field, const void *data, size_t len)
{
    pb_key(p, field, WT_LEN);
    pb_varint(p, len);
    memcpy(p->b + p->n, data, len);
    p->n += len;
}

static void pb_double(pbuf *p, int field, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    pb_key(p, field, WT_FIXED64);
    pb_fixed(p, bits, 8);
}

/* Event { wall_time = 1, step = 2 } header shared by every record. */
static void event_start(pbuf *ev, double wall_time, int64_t step)
{
    ev->n = 0;
    pb_double(ev, 1, wall_time);
    pb_key(ev, 2, WT_VARINT);
    pb_varint(ev, (uint64_t)step);
}

/* Write one TFRecord frame: length, masked CRC of length, data, masked CRC. */
static int write_record(tb_writer *w, const unsigned char *data, size_t len)
{
    unsigned char head[12], tail[4];
    for (int i = 0; i < 8; i++) head[i] = (unsigned char)((uint64_t)len >> (8 * i));
    uint32_t c = hash_crc32c_masked(head, 8);
    for (int i = 0; i < 4; i++) head[8 + i] = (unsigned char)(c >> (8 * i));
    c = hash_crc32c_masked(data, len);
    for (int i = 0; i < 4; i++) tail[i] = (unsigned char)(c >> (8 * i));
    if (fwrite(head, 1, 12, w->fp) != 12 || fwrite(data, 1, len, w->fp) != len || fwrite(tail, 1, 4, w->fp) != 4)
        return -1;
    return 0;
}

int tb_writer_open(tb_writer **out, const char *dir, char err[AURL_ERR_LEN])
{
    *out = NULL;
    if (file_mkdirs(dir, err) != 0) return -1;
    tb_writer *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, AURL_ERR_LEN, "%s: out of memory", dir);
        return -1;
    }
    char host[256] = "localhost";
    if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = 0;
    for (char *p = host; *p; p++)
        if (*p == '/') *p = '_';
    double now = (double)time(NULL);
    if (snprintf(w->path, sizeof w->path, "%s/events.out.tfevents.%ld.%s", dir, (long)now, host) >=
        (int)sizeof w->path) {
        snprintf(err, AURL_ERR_LEN, "%s: path too long", dir);
        free(w);
        return -1;
    }
    w->fp = fopen(w->path, "abe"); /* e: O_CLOEXEC, like the other files the trainer holds */
    if (!w->fp) {
        snprintf(err, AURL_ERR_LEN, "%.400s: cannot open: %s", w->path, strerror(errno));
        free(w);
        return -1;
    }
    pbuf ev;
    event_start(&ev, now, 0);
    pb_bytes(&ev, 3, "brain.Event:2", 13);
    if (write_record(w, ev.b, ev.n) != 0 || tb_writer_flush(w) != 0) {
        snprintf(err, AURL_ERR_LEN, "%.400s: write failed: %s", w->path, strerror(errno));
        tb_writer_close(w);
        return -1;
    }
    *out = w;
    return 0;
}

int tb_writer_scalar(tb_writer *w, const char *tag, int64_t step, double wall_time, float value)
{
    size_t tlen = strlen(tag);
    if (tlen > TB_MAX_TAG) tlen = TB_MAX_TAG;
    pbuf val = {.n = 0}, sum = {.n = 0}, ev;
    pb_bytes(&val, 1, tag, tlen); /* Summary.Value.tag */
    uint32_t bits;
    memcpy(&bits, &value, 4);
    pb_key(&val, 2, WT_FIXED32); /* Summary.Value.simple_value */
    pb_fixed(&val, bits, 4);
    pb_bytes(&sum, 1, val.b, val.n); /* Summary.value */
    event_start(&ev, wall_time, step);
    pb_bytes(&ev, 5, sum.b, sum.n); /* Event.summary */
    return write_record(w, ev.b, ev.n);
}

int tb_writer_flush(tb_writer *w) { return fflush(w->fp) == 0 ? 0 : -1; }

const char *tb_writer_path(const tb_writer *w) { return w->path; }

void tb_writer_close(tb_writer *w)
{
    if (!w) return;
    if (w->fp) fclose(w->fp);
    free(w);
}
