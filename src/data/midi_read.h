/* midi_read: MIDI bytes -> score. Sanitises (smf_sanitize) then parses with
 * libsmf and extracts notes (note-on/off pairing per channel and pitch,
 * velocity-0 note-ons as offs), sustain pedal (CC64 per channel, mapped to
 * the channel's instrument family), program changes (family = program/8),
 * drums on channel 10, and the tempo map; times in seconds. Also routes
 * libsmf's glib log output to util/log. In-process: use midi_worker for
 * untrusted files. */
#ifndef AURL_MIDI_READ_H
#define AURL_MIDI_READ_H

#include <stddef.h>
#include <stdint.h>

#include "data/score.h"
#include "data/smf_sanitize.h"
#include "util/fileio.h"

/* Parse a MIDI image. NAME is used in messages. Returns 0 or -1 (err set,
 * *out left empty). rep (may be NULL) receives the sanitiser's report. */
int midi_read_buffer(const uint8_t *data, size_t len, const char *name, score *out,
                     smf_report *rep, char err[AURL_ERR_LEN]);
/* Read and parse PATH (size-limited by smf_limits_default). */
int midi_read_file(const char *path, score *out, smf_report *rep, char err[AURL_ERR_LEN]);
#endif
