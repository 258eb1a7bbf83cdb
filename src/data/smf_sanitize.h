/* smf_sanitize: a bounds-checked Standard MIDI File parser that rewrites any
 * input into a canonical SMF that libsmf 1.3 handles safely (format 0/1,
 * MThd + MTrk chunks only, every track ending in End-of-Track, running
 * status expanded, no sysex/F7/escape events, no realtime bytes, no meta
 * events of 128+ bytes, no unknown chunks, declared track count = actual),
 * or rejects it with a one-line reason. See docs/DESIGN.md §6. */
#ifndef AURL_SMF_SANITIZE_H
#define AURL_SMF_SANITIZE_H

#include <stddef.h>
#include <stdint.h>

#include "util/fileio.h"

typedef struct {
    size_t max_bytes;       /* input size limit */
    int max_tracks;         /* at most 65535 take effect (MThd counts in 16 bits) */
    long max_events;        /* total channel + meta events kept */
    int max_tempo_changes;
} smf_limits;

/* Defaults: 64 MiB, 256 tracks, 2,000,000 events, 10,000 tempo changes. */
void smf_limits_default(smf_limits *lim);

typedef struct {
    int format;            /* 0 or 1 (format 2 is rejected) */
    int division;          /* ticks per quarter note (SMPTE converted) */
    int tracks;            /* tracks written */
    long events;           /* events written */
    int repairs;           /* number of repairs made */
    char repair_summary[AURL_ERR_LEN]; /* e.g. "truncated track 3; dropped 2 sysex" */
} smf_report;

/* Sanitise LEN bytes of IN into a malloc'd canonical SMF in *out. Returns 0
 * (with repairs described in rep) or -1 with a one-line reason in err
 * ("not a MIDI file", "no tracks", "too many tracks (5000 > 256)", ...). */
int smf_sanitize(const uint8_t *in, size_t len, const smf_limits *lim, uint8_t **out,
                 size_t *out_len, smf_report *rep, char err[AURL_ERR_LEN]);
#endif
