/* smf_sanitize: bounds-checked SMF parser and canonical rewriter.
 *
 * Every byte read is checked against the end of its chunk. The input is
 * parsed into per-track event lists (absolute ticks, at most 7 bytes per
 * event), then written back out as a canonical SMF:
 *   - MThd of length 6, format 0 (only when the input was format 0 with one
 *     track) or 1, track count = tracks written, a ticks-per-quarter division;
 *   - MTrk chunks only; every event with an explicit status byte; every
 *     track ending in exactly one End-of-Track;
 *   - kept events: channel messages (0x80-0xEF), tempo (FF 51, 3 bytes,
 *     non-zero), time signature (FF 58, 4 bytes), key signature (FF 59,
 *     2 bytes). Tempo and time-signature metas of all tracks are moved into
 *     the first track (so libsmf builds its tempo map while loading track 1,
 *     without re-timing the whole song per tempo event). Everything else
 *     (sysex, F7, text and other metas, system common, realtime) is dropped.
 *
 * Repairs (counted in smf_report, listed in repair_summary):
 *   junk before MThd, RIFF/RMID wrapper, MThd longer than 6 bytes, declared
 *   track count != chunks found, unknown chunks (skipped), junk between
 *   chunks (resynchronised at the next "MTrk"), chunk length past EOF, a
 *   track that ends early or is corrupt (truncated at the last whole event:
 *   incomplete event, variable-length number over 4 bytes, data byte with no
 *   running status, status byte inside a message, time beyond 2^28-1 ticks),
 *   missing End-of-Track, bytes after End-of-Track, F7/realtime/system
 *   common events, malformed tempo metas, tempo changes over the limit
 *   (the earliest max_tempo_changes are kept).
 * Running status is expanded and, leniently, survives meta/sysex events.
 * SMPTE divisions become ticks-per-quarter with one fixed tempo (a quarter
 * = one second, so ppqn = ticks per second; 29.97 fps uses 30 fps ticks at
 * 1001001 us per quarter); the file's own tempo events are then ignored.
 *
 * Rejected: empty, too large, not MIDI, truncated or short MThd, format 2
 * or unknown format, division 0, unknown SMPTE rate, no tracks, more tracks
 * than max_tracks, more events than max_events. */
#include "data/smf_sanitize.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TICK 0x0FFFFFFFu /* largest 4-byte variable-length number */

void smf_limits_default(smf_limits *lim)
{
    lim->max_bytes = (size_t)64 << 20;
    lim->max_tracks = 256;
    lim->max_events = 2000000;
    lim->max_tempo_changes = 10000;
}

/* One kept event: absolute tick and its bytes (status first). */
typedef struct {
    uint32_t tick;
    uint32_t seq; /* input order, for stable sorting of conductor events */
    uint8_t len;
    uint8_t b[7];
} sev;

typedef struct {
    sev *v;
    size_t n, cap;
    uint32_t end_tick; /* End-of-Track time */
} strack;

typedef struct {
    const smf_limits *lim;
    smf_report *rep;
    char *err;
    long events;           /* channel + meta events kept so far */
    int smpte;
    strack cond;           /* tempo and time-signature metas of all tracks */
    strack *tracks;        /* the MTrk chunks parsed so far */
    int n_tracks, cap_tracks;
    uint32_t seq;
    /* counts of repairs that are summarised once */
    long n_f7, n_realtime, n_common, n_bad_tempo, n_after_eot, n_no_eot;
    size_t sum_len;
} sctx;

/* Record one repair with a short description. */
static void repair(sctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void repair(sctx *c, const char *fmt, ...)
{
    c->rep->repairs++;
    char *s = c->rep->repair_summary;
    size_t cap = sizeof c->rep->repair_summary;
    if (c->sum_len + 4 >= cap) return;
    if (c->sum_len) c->sum_len += (size_t)snprintf(s + c->sum_len, cap - c->sum_len, "; ");
    if (c->sum_len >= cap) { c->sum_len = cap - 1; return; }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s + c->sum_len, cap - c->sum_len, fmt, ap);
    va_end(ap);
    if (n > 0) c->sum_len += (size_t)n;
    if (c->sum_len >= cap) c->sum_len = cap - 1;
}

/* Summarise a counted repair (adds COUNT-1 to the repair count). */
static void repair_count(sctx *c, long count, const char *what)
{
    if (count <= 0) return;
    repair(c, "%s %ld %s", "dropped", count, what);
    c->rep->repairs += count > 1000000 ? 1000000 - 1 : (int)(count - 1);
}

static int fail(sctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(sctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, AURL_ERR_LEN, fmt, ap);
    va_end(ap);
    return -1;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* Append E to T. 0 or -1 (out of memory). */
static int push(strack *t, const sev *e)
{
    if (t->n == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 256;
        sev *p = realloc(t->v, ncap * sizeof *p);
        if (!p) return -1;
        t->v = p;
        t->cap = ncap;
    }
    t->v[t->n++] = *e;
    return 0;
}

/* Read a variable-length number of at most 4 bytes at *pos. Returns 0, -1
 * if the data ends first, -2 if it is longer than 4 bytes. */
static int read_vlq(const uint8_t *d, size_t len, size_t *pos, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        if (*pos >= len) return -1;
        uint8_t b = d[(*pos)++];
        v = (v << 7) | (b & 0x7F);
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -2;
}

/* Data bytes that follow system common status S (0xF1..0xF6). */
static int common_len(uint8_t s)
{
    return s == 0xF2 ? 2 : (s == 0xF1 || s == 0xF3) ? 1 : 0;
}

/* Keep event E in track T (or the conductor). 0, or -1 with err set. */
static int keep(sctx *c, strack *t, sev *e)
{
    if (++c->events > c->lim->max_events)
        return fail(c, "too many events (more than %ld)", c->lim->max_events);
    e->seq = c->seq++;
    if (push(t, e)) return fail(c, "out of memory");
    return 0;
}

/* Parse one MTrk body (track number NO, 1-based, for messages) into T.
 * Damage truncates the track; only limits and allocation failures return -1. */
static int parse_track(sctx *c, const uint8_t *d, size_t len, strack *t, int no)
{
    size_t pos = 0;
    uint64_t tick = 0;
    uint8_t running = 0;
    const char *why = NULL;
    int eot = 0;
    for (;;) {
        if (pos >= len) break; /* no End-of-Track: handled below */
        uint32_t delta;
        int r = read_vlq(d, len, &pos, &delta);
        if (r == -2) { why = "over-long delta time"; break; }
        if (r) { why = "ends inside an event"; break; }
        if (tick + delta > MAX_TICK) { why = "time beyond 2^28 ticks"; break; }
        uint32_t at = (uint32_t)(tick + delta);
        if (pos >= len) { why = "ends inside an event"; break; }
        uint8_t b = d[pos];
        sev e;
        memset(&e, 0, sizeof e);
        e.tick = at;
        if (b == 0xFF) {
            if (pos + 2 > len) { why = "ends inside an event"; break; }
            uint8_t type = d[pos + 1];
            size_t p = pos + 2;
            uint32_t mlen;
            r = read_vlq(d, len, &p, &mlen);
            if (r == -2) { why = "over-long meta length"; break; }
            if (r || mlen > len - p) { why = "ends inside an event"; break; }
            const uint8_t *m = d + p;
            pos = p + mlen;
            tick = at;
            if (type == 0x2F) {
                eot = 1;
                if (pos < len) c->n_after_eot++;
                break;
            }
            if (type == 0x51) {
                uint32_t us = mlen == 3 ? (uint32_t)m[0] << 16 | (uint32_t)m[1] << 8 | m[2] : 0;
                if (!us) { c->n_bad_tempo++; continue; }
                if (c->smpte) continue; /* SMPTE time ignores tempo */
                e.len = 6;
                memcpy(e.b, (const uint8_t[]){ 0xFF, 0x51, 0x03, m[0], m[1], m[2] }, 6);
                if (keep(c, &c->cond, &e)) return -1;
            } else if (type == 0x58 && mlen == 4) {
                e.len = 7;
                memcpy(e.b, (const uint8_t[]){ 0xFF, 0x58, 0x04, m[0], m[1], m[2], m[3] }, 7);
                if (keep(c, &c->cond, &e)) return -1;
            } else if (type == 0x59 && mlen == 2) {
                e.len = 5;
                memcpy(e.b, (const uint8_t[]){ 0xFF, 0x59, 0x02, m[0], m[1] }, 5);
                if (keep(c, t, &e)) return -1;
            }
            continue; /* other metas (and any of 128+ bytes) are dropped */
        }
        if (b == 0xF0 || b == 0xF7) {
            size_t p = pos + 1;
            uint32_t slen;
            r = read_vlq(d, len, &p, &slen);
            if (r == -2) { why = "over-long sysex length"; break; }
            if (r || slen > len - p) { why = "ends inside an event"; break; }
            pos = p + slen;
            tick = at;
            if (b == 0xF7) c->n_f7++;
            continue;
        }
        if (b >= 0xF8) { /* realtime byte as an event */
            pos++;
            tick = at;
            c->n_realtime++;
            continue;
        }
        if (b >= 0xF1) { /* system common */
            size_t need = 1 + (size_t)common_len(b);
            if (need > len - pos) { why = "ends inside an event"; break; }
            pos += need;
            tick = at;
            c->n_common++;
            continue;
        }
        uint8_t status;
        if (b & 0x80) {
            status = b;
            pos++;
        } else {
            if (!running) { why = "data byte without status"; break; }
            status = running;
        }
        int nd = ((status & 0xF0) == 0xC0 || (status & 0xF0) == 0xD0) ? 1 : 2;
        e.b[0] = status;
        int got = 0;
        while (got < nd && pos < len) {
            uint8_t x = d[pos++];
            if (x >= 0xF8) { c->n_realtime++; continue; } /* realtime inside a message */
            if (x & 0x80) { why = "status byte inside a message"; break; }
            e.b[1 + got++] = x;
        }
        if (why) break;
        if (got < nd) { why = "ends inside an event"; break; }
        e.len = (uint8_t)(1 + nd);
        running = status;
        tick = at;
        if (keep(c, t, &e)) return -1;
    }
    if (why) repair(c, "truncated track %d (%s)", no, why);
    else if (!eot) c->n_no_eot++;
    uint32_t end = (uint32_t)tick;
    if (t->n && t->v[t->n - 1].tick > end) end = t->v[t->n - 1].tick;
    t->end_tick = end;
    return 0;
}

/* Growable output buffer. */
typedef struct {
    uint8_t *p;
    size_t n, cap;
    int oom;
} obuf;

static void put(obuf *o, const void *src, size_t n)
{
    if (o->oom) return;
    if (o->n + n > o->cap) {
        size_t ncap = o->cap ? o->cap : 4096;
        while (ncap < o->n + n) ncap *= 2;
        uint8_t *q = realloc(o->p, ncap);
        if (!q) { o->oom = 1; return; }
        o->p = q;
        o->cap = ncap;
    }
    memcpy(o->p + o->n, src, n);
    o->n += n;
}

static void put_vlq(obuf *o, uint32_t v)
{
    uint8_t tmp[4];
    int n = 0;
    tmp[n++] = v & 0x7F;
    while ((v >>= 7) && n < 4) tmp[n++] = (uint8_t)(0x80 | (v & 0x7F));
    uint8_t out[4];
    for (int i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    put(o, out, (size_t)n);
}

static void put_be32(obuf *o, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    put(o, b, 4);
}

static int cmp_sev(const void *a, const void *b)
{
    const sev *x = a, *y = b;
    if (x->tick != y->tick) return x->tick < y->tick ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Write one MTrk: events A (and, merged in time order before equal-time
 * events of A, events B), then End-of-Track at END. Returns events written. */
static long write_track(obuf *o, const strack *a, const strack *b, uint32_t end)
{
    put(o, "MTrk", 4);
    size_t len_at = o->n;
    put_be32(o, 0);
    size_t ia = 0, ib = 0, nb = b ? b->n : 0;
    uint32_t now = 0;
    long count = 0;
    while (ia < a->n || ib < nb) {
        const sev *e;
        if (ib < nb && (ia >= a->n || b->v[ib].tick <= a->v[ia].tick)) e = &b->v[ib++];
        else e = &a->v[ia++];
        put_vlq(o, e->tick - now);
        put(o, e->b, e->len);
        now = e->tick;
        count++;
    }
    if (end < now) end = now;
    put_vlq(o, end - now);
    put(o, (const uint8_t[]){ 0xFF, 0x2F, 0x00 }, 3);
    if (!o->oom) {
        uint32_t len = (uint32_t)(o->n - len_at - 4);
        o->p[len_at] = (uint8_t)(len >> 24);
        o->p[len_at + 1] = (uint8_t)(len >> 16);
        o->p[len_at + 2] = (uint8_t)(len >> 8);
        o->p[len_at + 3] = (uint8_t)len;
    }
    return count + 1;
}

/* Unwrap a RIFF/RMID file to its "data" chunk. 0, 1 (not RIFF) or -1. */
static int unwrap_riff(sctx *c, const uint8_t **in, size_t *len)
{
    const uint8_t *d = *in;
    size_t n = *len;
    if (n < 12 || memcmp(d, "RIFF", 4) != 0) return 1;
    if (memcmp(d + 8, "RMID", 4) != 0) return fail(c, "not a MIDI file (RIFF but not RMID)");
    size_t pos = 12;
    while (pos + 8 <= n) {
        uint32_t clen = le32(d + pos + 4);
        size_t avail = n - pos - 8;
        if (memcmp(d + pos, "data", 4) == 0) {
            *in = d + pos + 8;
            *len = clen < avail ? clen : avail;
            return 0;
        }
        if (clen > avail) break;
        pos += 8 + clen + (clen & 1);
    }
    return fail(c, "RMID file without a MIDI data chunk");
}

static void free_tracks(strack *tr, int n)
{
    for (int i = 0; i < n; i++) free(tr[i].v);
    free(tr);
}

/* The MThd fields that shape the output. */
typedef struct {
    int format, declared; /* SMF format, track count it declares */
    int ppqn;             /* ticks per quarter (SMPTE converted) */
    uint32_t smpte_us;    /* SMPTE: the fixed tempo (us per quarter), else 0 */
} shdr;

/* Find and read MThd, possibly after some junk (e.g. a MacBinary header);
 * *pos is set past it. 0, or -1 with err set. */
static int parse_header(sctx *c, const uint8_t *in, size_t len, size_t *pos_out, shdr *hdr)
{
    size_t scan = len < 4096 ? len : 4096;
    const uint8_t *h = len >= 4 ? memmem(in, scan, "MThd", 4) : NULL;
    if (!h) return fail(c, "not a MIDI file (no MThd header)");
    size_t pos = (size_t)(h - in);
    if (pos) repair(c, "skipped %zu bytes before the header", pos);
    if (len - pos < 14) return fail(c, "truncated MIDI header");
    uint32_t hlen = be32(in + pos + 4);
    if (hlen < 6) return fail(c, "bad MIDI header length %u", hlen);
    if (hlen > len - pos - 8) return fail(c, "truncated MIDI header");
    const uint8_t *hd = in + pos + 8;
    hdr->format = hd[0] << 8 | hd[1];
    hdr->declared = hd[2] << 8 | hd[3];
    int division = hd[4] << 8 | hd[5];
    if (hlen > 6) repair(c, "skipped %u extra header bytes", hlen - 6);
    if (hdr->format == 2) return fail(c, "SMF format 2 (independent sequences) is not supported");
    if (hdr->format > 2) return fail(c, "unknown SMF format %d", hdr->format);
    hdr->smpte_us = 0;
    if (division & 0x8000) {
        int fps = -(int)(int8_t)(uint8_t)(division >> 8);
        int tpf = division & 0xFF;
        if ((fps != 24 && fps != 25 && fps != 29 && fps != 30) || tpf == 0)
            return fail(c, "unsupported SMPTE division (%d fps, %d ticks per frame)", fps, tpf);
        c->smpte = 1;
        hdr->ppqn = (fps == 29 ? 30 : fps) * tpf;
        hdr->smpte_us = fps == 29 ? 1001001u : 1000000u;
    } else {
        if (division == 0) return fail(c, "invalid division 0");
        hdr->ppqn = division;
    }
    *pos_out = pos + 8 + hlen;
    return 0;
}

/* Parse the body of track chunk NO (1-based) into a new entry of c->tracks.
 * 0, or -1 with err set. */
static int add_track(sctx *c, const uint8_t *body, uint32_t clen, int no)
{
    if (c->n_tracks == c->cap_tracks) {
        int ncap = c->cap_tracks ? c->cap_tracks * 2 : 16;
        strack *p = realloc(c->tracks, (size_t)ncap * sizeof *p);
        if (!p) return fail(c, "out of memory");
        c->tracks = p;
        c->cap_tracks = ncap;
    }
    strack *t = &c->tracks[c->n_tracks++];
    memset(t, 0, sizeof *t);
    return parse_track(c, body, clen, t, no);
}

/* Walk the chunks from POS: parse MTrk chunks (up to max_tracks, counting
 * the rest), skip unknown ones and resynchronise after junk. Returns the
 * number of track chunks seen, or -1 with err set. */
static int parse_chunks(sctx *c, const uint8_t *in, size_t len, size_t pos, int max_tracks)
{
    int seen_tracks = 0;
    while (pos < len) {
        if (len - pos < 8) {
            repair(c, "ignored %zu trailing bytes", len - pos);
            break;
        }
        const uint8_t *ch = in + pos;
        uint32_t clen = be32(ch + 4);
        size_t avail = len - pos - 8;
        if (memcmp(ch, "MTrk", 4) == 0) {
            seen_tracks++;
            if (clen > avail) {
                repair(c, "track %d chunk runs past the end of the file", seen_tracks);
                clen = (uint32_t)avail;
            }
            if (seen_tracks <= max_tracks && add_track(c, ch + 8, clen, seen_tracks)) return -1;
            pos += 8 + (size_t)clen;
            continue;
        }
        int printable = 1;
        for (int i = 0; i < 4; i++) printable &= ch[i] >= 0x20 && ch[i] < 0x7F;
        if (printable && clen <= avail) {
            repair(c, "skipped unknown chunk '%.4s'", (const char *)ch);
            pos += 8 + (size_t)clen;
            continue;
        }
        /* junk: resynchronise at the next track chunk, if any */
        const uint8_t *nx = memmem(ch + 1, len - pos - 1, "MTrk", 4);
        if (!nx) {
            repair(c, "ignored %zu bytes of junk at the end", len - pos);
            break;
        }
        repair(c, "skipped %zu bytes of junk between chunks", (size_t)(nx - ch));
        pos = (size_t)(nx - in);
    }
    return seen_tracks;
}

/* Record the repairs counted while parsing (DECLARED: MThd's track count). */
static void summarise_repairs(sctx *c, int declared)
{
    if (declared != c->n_tracks) repair(c, "header declares %d tracks, found %d", declared, c->n_tracks);
    if (c->n_no_eot) {
        repair(c, "added End-of-Track to %ld track%s", c->n_no_eot, c->n_no_eot > 1 ? "s" : "");
        c->rep->repairs += (int)c->n_no_eot - 1;
    }
    if (c->n_after_eot) repair(c, "ignored data after End-of-Track in %ld track%s", c->n_after_eot, c->n_after_eot > 1 ? "s" : "");
    repair_count(c, c->n_f7, "F7 events");
    repair_count(c, c->n_realtime, "realtime bytes");
    repair_count(c, c->n_common, "system common events");
    repair_count(c, c->n_bad_tempo, "malformed tempo events");
}

/* The conductor events in time order, led by the fixed tempo of an SMPTE
 * file, with tempo changes over the limit dropped. 0, or -1 with err set. */
static int finish_conductor(sctx *c, const shdr *h)
{
    if (c->cond.n) qsort(c->cond.v, c->cond.n, sizeof *c->cond.v, cmp_sev);
    if (c->smpte) {
        uint32_t us = h->smpte_us;
        sev e = { 0, 0, 6, { 0xFF, 0x51, 0x03, (uint8_t)(us >> 16), (uint8_t)(us >> 8), (uint8_t)us, 0 } };
        if (push(&c->cond, &e)) return fail(c, "out of memory");
        memmove(c->cond.v + 1, c->cond.v, (c->cond.n - 1) * sizeof *c->cond.v);
        c->cond.v[0] = e;
        c->events++;
        repair(c, "converted SMPTE timing to %d ticks per quarter", h->ppqn);
    }
    int tempos = 0;
    size_t w = 0;
    long dropped_tempo = 0;
    for (size_t i = 0; i < c->cond.n; i++) {
        if (c->cond.v[i].b[1] == 0x51 && ++tempos > c->lim->max_tempo_changes) {
            dropped_tempo++;
            continue;
        }
        c->cond.v[w++] = c->cond.v[i];
    }
    c->cond.n = w;
    if (dropped_tempo) {
        c->events -= dropped_tempo;
        repair(c, "dropped %ld tempo changes over the limit of %d", dropped_tempo, c->lim->max_tempo_changes);
    }
    return 0;
}

/* Write the canonical SMF of the parsed tracks into *o (the conductor merged
 * into the first track); fills the report's format, division, tracks and
 * events. */
static void write_smf(sctx *c, const shdr *h, obuf *o)
{
    int n_tracks = c->n_tracks;
    int out_format = (h->format == 0 && n_tracks == 1) ? 0 : 1;
    if (h->format == 0 && n_tracks > 1) repair(c, "format 0 file with %d tracks written as format 1", n_tracks);
    put(o, "MThd", 4);
    put_be32(o, 6);
    put(o, (const uint8_t[]){ 0, (uint8_t)out_format, (uint8_t)(n_tracks >> 8), (uint8_t)n_tracks,
                              (uint8_t)(h->ppqn >> 8), (uint8_t)h->ppqn }, 6);
    long written = 0;
    for (int i = 0; i < n_tracks; i++) {
        uint32_t end = c->tracks[i].end_tick;
        if (i == 0 && c->cond.n && c->cond.v[c->cond.n - 1].tick > end) end = c->cond.v[c->cond.n - 1].tick;
        written += write_track(o, &c->tracks[i], i == 0 ? &c->cond : NULL, end);
    }
    c->rep->format = out_format;
    c->rep->division = h->ppqn;
    c->rep->tracks = n_tracks;
    c->rep->events = written;
}

/* Everything after the checks on the raw input: header, chunks, repairs,
 * conductor, output. 0, or -1 with err set; the caller frees c's tracks. */
static int sanitize_body(sctx *c, const uint8_t *in, size_t len, obuf *o)
{
    shdr h = { 0 };
    size_t pos = 0;
    if (parse_header(c, in, len, &pos, &h)) return -1;
    /* the MThd track count is 16 bits, whatever the limit says */
    const int max_tracks = c->lim->max_tracks < 0xFFFF ? c->lim->max_tracks : 0xFFFF;
    int seen_tracks = parse_chunks(c, in, len, pos, max_tracks);
    if (seen_tracks < 0) return -1;
    if (seen_tracks > max_tracks) return fail(c, "too many tracks (%d > %d)", seen_tracks, max_tracks);
    if (c->n_tracks == 0) return fail(c, "no tracks");
    summarise_repairs(c, h.declared);
    if (finish_conductor(c, &h)) return -1;
    write_smf(c, &h, o);
    return o->oom ? fail(c, "out of memory") : 0;
}

int smf_sanitize(const uint8_t *in, size_t len, const smf_limits *lim_in, uint8_t **out,
                 size_t *out_len, smf_report *rep, char err[AURL_ERR_LEN])
{
    smf_limits dflt;
    smf_limits_default(&dflt);
    const smf_limits *lim = lim_in ? lim_in : &dflt;
    smf_report dummy;
    if (!rep) rep = &dummy;
    memset(rep, 0, sizeof *rep);
    *out = NULL;
    *out_len = 0;
    sctx c;
    memset(&c, 0, sizeof c);
    c.lim = lim;
    c.rep = rep;
    c.err = err;
    err[0] = '\0';

    if (!in || len == 0) return fail(&c, "empty file");
    if (len > lim->max_bytes) return fail(&c, "file too large (%zu bytes > %zu)", len, lim->max_bytes);
    int rr = unwrap_riff(&c, &in, &len);
    if (rr < 0) return -1;
    if (rr == 0) repair(&c, "unwrapped RIFF/RMID container");

    obuf o = { 0 };
    int rc = sanitize_body(&c, in, len, &o);
    free_tracks(c.tracks, c.n_tracks);
    free(c.cond.v);
    if (rc) {
        free(o.p);
        return -1;
    }
    *out = o.p;
    *out_len = o.n;
    return 0;
}
