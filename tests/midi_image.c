/* midi_image: in-memory SMF builder for tests. Aborts on allocation failure
 * (tests only). */
#include "midi_image.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void mi_init(mimg *m) { memset(m, 0, sizeof *m); }

void mi_free(mimg *m)
{
    free(m->p);
    mi_init(m);
}

void mi_bytes(mimg *m, const void *src, size_t n)
{
    if (m->n + n > m->cap) {
        size_t cap = m->cap ? m->cap : 256;
        while (cap < m->n + n) cap *= 2;
        m->p = realloc(m->p, cap);
        if (!m->p) abort();
        m->cap = cap;
    }
    memcpy(m->p + m->n, src, n);
    m->n += n;
}

void mi_byte(mimg *m, int b)
{
    uint8_t x = (uint8_t)b;
    mi_bytes(m, &x, 1);
}

void mi_be32(mimg *m, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    mi_bytes(m, b, 4);
}

void mi_vlq(mimg *m, uint32_t v)
{
    uint8_t tmp[5];
    int n = 0;
    tmp[n++] = v & 0x7F;
    while ((v >>= 7) != 0) tmp[n++] = (uint8_t)(0x80 | (v & 0x7F));
    while (n) mi_byte(m, tmp[--n]);
}

void mi_header(mimg *m, int format, int ntracks, int division)
{
    mi_bytes(m, "MThd", 4);
    mi_be32(m, 6);
    uint8_t b[6] = { (uint8_t)(format >> 8), (uint8_t)format, (uint8_t)(ntracks >> 8), (uint8_t)ntracks,
                     (uint8_t)(division >> 8), (uint8_t)division };
    mi_bytes(m, b, 6);
}

void mi_track_begin(mimg *m)
{
    mi_bytes(m, "MTrk", 4);
    m->track_len_at = m->n;
    mi_be32(m, 0);
}

void mi_track_end(mimg *m)
{
    uint32_t len = (uint32_t)(m->n - m->track_len_at - 4);
    uint8_t *p = m->p + m->track_len_at;
    p[0] = (uint8_t)(len >> 24);
    p[1] = (uint8_t)(len >> 16);
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
}

void mi_ev(mimg *m, uint32_t delta, int n, ...)
{
    mi_vlq(m, delta);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) mi_byte(m, va_arg(ap, int));
    va_end(ap);
}

void mi_eot(mimg *m, uint32_t delta) { mi_ev(m, delta, 3, 0xFF, 0x2F, 0x00); }

void mi_tempo(mimg *m, uint32_t delta, uint32_t us)
{
    mi_ev(m, delta, 6, 0xFF, 0x51, 0x03, (int)(us >> 16) & 0xFF, (int)(us >> 8) & 0xFF, (int)us & 0xFF);
}
