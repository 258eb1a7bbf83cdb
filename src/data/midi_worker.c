/* midi_worker: midi_read_file in an isolated child (util/isolate), the score
 * coming back as a flat blob.
 *
 * Blob layout (little-endian): "AUSC", u32 version (1), u64 n_notes,
 * u64 n_sustains, u64 n_tempos, then the notes (f64 onset, f64 offset,
 * u8 pitch, u8 velocity, u8 instrument), sustains (f64 time,
 * u8 instrument, u8 down) and tempos (f64 time, f64 bpm). */
#include "data/midi_worker.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/midi_read.h"
#include "util/isolate.h"

#define BLOB_MAGIC "AUSC"
#define BLOB_VERSION 1u
#define BLOB_HEADER (4 + 4 + 3 * 8)
#define NOTE_BYTES 19
#define SUSTAIN_BYTES 10
#define TEMPO_BYTES 16

static uint8_t *put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
    return p + 8;
}

static uint8_t *put_f64(uint8_t *p, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    return put_u64(p, v);
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static double get_f64(const uint8_t *p)
{
    uint64_t v = get_u64(p);
    double d;
    memcpy(&d, &v, 8);
    return d;
}

int score_serialize(const score *s, uint8_t **out, size_t *out_len)
{
    size_t len = BLOB_HEADER + s->n_notes * NOTE_BYTES + s->n_sustains * SUSTAIN_BYTES + s->n_tempos * TEMPO_BYTES;
    uint8_t *b = malloc(len), *p = b;
    if (!b) return -1;
    memcpy(p, BLOB_MAGIC, 4);
    p += 4;
    for (int i = 0; i < 4; i++) *p++ = (uint8_t)(BLOB_VERSION >> (8 * i));
    p = put_u64(p, s->n_notes);
    p = put_u64(p, s->n_sustains);
    p = put_u64(p, s->n_tempos);
    for (size_t i = 0; i < s->n_notes; i++) {
        const score_note *n = &s->notes[i];
        p = put_f64(p, n->onset);
        p = put_f64(p, n->offset);
        *p++ = n->pitch;
        *p++ = n->velocity;
        *p++ = n->instrument;
    }
    for (size_t i = 0; i < s->n_sustains; i++) {
        p = put_f64(p, s->sustains[i].time);
        *p++ = s->sustains[i].instrument;
        *p++ = s->sustains[i].down;
    }
    for (size_t i = 0; i < s->n_tempos; i++) {
        p = put_f64(p, s->tempos[i].time);
        p = put_f64(p, s->tempos[i].bpm);
    }
    *out = b;
    *out_len = len;
    return 0;
}

static int bad(score *out, char err[AURL_ERR_LEN], const char *what)
{
    score_free(out);
    errmsg_set(err, "invalid score blob: %s", what);
    return -1;
}

/* malloc N items of SIZE bytes; NULL for none. */
static void *alloc_items(size_t n, size_t size)
{
    return n ? malloc(n * size) : NULL;
}

int score_deserialize(const uint8_t *data, size_t len, score *out, char err[AURL_ERR_LEN])
{
    score_init(out);
    if (!data || len < BLOB_HEADER) return bad(out, err, "too short");
    if (memcmp(data, BLOB_MAGIC, 4) != 0) return bad(out, err, "bad magic");
    uint32_t ver = (uint32_t)data[4] | (uint32_t)data[5] << 8 | (uint32_t)data[6] << 16 | (uint32_t)data[7] << 24;
    if (ver != BLOB_VERSION) return bad(out, err, "unknown version");
    uint64_t nn = get_u64(data + 8), ns = get_u64(data + 16), nt = get_u64(data + 24);
    size_t rest = len - BLOB_HEADER;
    /* each count is checked against what is left before it is multiplied */
    if (nn > rest / NOTE_BYTES) return bad(out, err, "note count exceeds the data");
    rest -= (size_t)nn * NOTE_BYTES;
    if (ns > rest / SUSTAIN_BYTES) return bad(out, err, "sustain count exceeds the data");
    rest -= (size_t)ns * SUSTAIN_BYTES;
    if (nt > rest / TEMPO_BYTES) return bad(out, err, "tempo count exceeds the data");
    rest -= (size_t)nt * TEMPO_BYTES;
    if (rest != 0) return bad(out, err, "trailing bytes");

    out->notes = alloc_items(nn, sizeof *out->notes);
    out->sustains = alloc_items(ns, sizeof *out->sustains);
    out->tempos = alloc_items(nt, sizeof *out->tempos);
    if ((nn && !out->notes) || (ns && !out->sustains) || (nt && !out->tempos)) return bad(out, err, "out of memory");
    out->cap_notes = nn;
    out->cap_sustains = ns;
    out->cap_tempos = nt;
    const uint8_t *p = data + BLOB_HEADER;
    for (size_t i = 0; i < nn; i++, p += NOTE_BYTES) {
        score_note n = { get_f64(p), get_f64(p + 8), p[16], p[17], p[18] };
        if (!isfinite(n.onset) || !isfinite(n.offset) || n.onset < 0 || n.offset < n.onset)
            return bad(out, err, "note time out of range");
        if (n.pitch > 127 || n.velocity < 1 || n.velocity > 127 || n.instrument >= SCORE_N_INSTRUMENTS)
            return bad(out, err, "note field out of range");
        out->notes[out->n_notes++] = n;
    }
    for (size_t i = 0; i < ns; i++, p += SUSTAIN_BYTES) {
        score_sustain e = { get_f64(p), p[8], p[9] };
        if (!isfinite(e.time) || e.time < 0 || e.instrument >= SCORE_N_INSTRUMENTS || e.down > 1)
            return bad(out, err, "sustain field out of range");
        out->sustains[out->n_sustains++] = e;
    }
    for (size_t i = 0; i < nt; i++, p += TEMPO_BYTES) {
        score_tempo t = { get_f64(p), get_f64(p + 8) };
        if (!isfinite(t.time) || t.time < 0 || !isfinite(t.bpm) || t.bpm <= 0)
            return bad(out, err, "tempo field out of range");
        out->tempos[out->n_tempos++] = t;
    }
    return 0;
}

/* The job and its result, shared by the child and the parent callback. */
typedef struct {
    const char *path;
    score *out;
    char *err;
    int ok;
} worker_ctx;

static int read_job(void *arg, size_t index, uint8_t **out, size_t *out_len, char err[AURL_ERR_LEN])
{
    (void)index;
    worker_ctx *c = arg;
    score s;
    if (midi_read_file(c->path, &s, NULL, err)) return -1;
    int rc = score_serialize(&s, out, out_len);
    score_free(&s);
    if (rc) errmsg_set(err, "%s: out of memory", c->path);
    return rc;
}

static void read_done(void *arg, size_t index, isolate_status st, const uint8_t *out, size_t out_len,
                      const char *msg)
{
    (void)index;
    worker_ctx *c = arg;
    switch (st) {
    case ISOLATE_OK: {
        char why[AURL_ERR_LEN];
        c->ok = score_deserialize(out, out_len, c->out, why) == 0;
        if (!c->ok) errmsg_set(c->err, "%s: %s", c->path, why);
        break;
    }
    case ISOLATE_FAILED:
        errmsg_set(c->err, "%s", msg); /* already names the file */
        break;
    case ISOLATE_CRASHED:
        errmsg_set(c->err, "%s: parser crashed (%s)", c->path, msg);
        break;
    case ISOLATE_NOMEM:
        errmsg_set(c->err, "%s: parser ran %s", c->path, msg);
        break;
    case ISOLATE_TIMEOUT:
    case ISOLATE_SYSERR:
        errmsg_set(c->err, "%s: %s", c->path, msg);
        break;
    }
}

int midi_read_isolated(const char *path, score *out, char err[AURL_ERR_LEN])
{
    score_init(out);
    err[0] = '\0';
    worker_ctx c = { path, out, err, 0 };
    isolate_limits lim = { MIDI_WORKER_TIMEOUT_S, MIDI_WORKER_MEM_LIMIT, 1 };
    isolate_map(1, read_job, read_done, &c, &lim);
    if (!c.ok) {
        score_free(out);
        if (!err[0]) errmsg_set(err, "%s: unreadable", path);
        return -1;
    }
    return 0;
}
