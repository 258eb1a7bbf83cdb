/* midi_worker: read an untrusted MIDI file in an isolated child process
 * (util/isolate) and bring the score back, so no file can take down the
 * caller. Also the (de)serialisation of a score to a flat blob. */
#ifndef AURL_MIDI_WORKER_H
#define AURL_MIDI_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "data/score.h"
#include "util/fileio.h"

/* Defaults: 20 s, 1 GiB. */
#define MIDI_WORKER_TIMEOUT_S 20.0
#define MIDI_WORKER_MEM_LIMIT ((size_t)1 << 30)

/* Read PATH in a child; 0 or -1 with a one-line reason (including "parser
 * crashed (SIGABRT)", "timed out after 20 s"). */
int midi_read_isolated(const char *path, score *out, char err[AURL_ERR_LEN]);

/* Flat little-endian encoding of a score; decode validates every length. */
int score_serialize(const score *s, uint8_t **out, size_t *out_len);
int score_deserialize(const uint8_t *data, size_t len, score *out, char err[AURL_ERR_LEN]);
#endif
