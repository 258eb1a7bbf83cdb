/* midi_image: test helper that builds Standard MIDI File images in memory,
 * byte by byte, so tests can describe valid and deliberately broken files. */
#ifndef AURL_TEST_MIDI_IMAGE_H
#define AURL_TEST_MIDI_IMAGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *p;
    size_t n, cap;
    size_t track_len_at; /* offset of the open MTrk length field */
} mimg;

void mi_init(mimg *m);
void mi_free(mimg *m);
/* Raw bytes. */
void mi_bytes(mimg *m, const void *src, size_t n);
void mi_byte(mimg *m, int b);
void mi_be32(mimg *m, uint32_t v);
void mi_vlq(mimg *m, uint32_t v);
/* MThd of length 6. */
void mi_header(mimg *m, int format, int ntracks, int division);
/* Open an MTrk chunk; mi_track_end patches its length. */
void mi_track_begin(mimg *m);
void mi_track_end(mimg *m);
/* Delta time then N event bytes (ints). */
void mi_ev(mimg *m, uint32_t delta, int n, ...);
/* Delta, then FF 2F 00. */
void mi_eot(mimg *m, uint32_t delta);
/* Delta, then a tempo meta of US microseconds per quarter. */
void mi_tempo(mimg *m, uint32_t delta, uint32_t us);

#endif
