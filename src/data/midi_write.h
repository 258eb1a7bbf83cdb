/* midi_write: score -> Standard MIDI File through libsmf. 480 ppqn, a tempo
 * track from score.tempos (120 BPM if none), one track per instrument family
 * (program = family*8, drums on channel 10), sustain as CC64. */
#ifndef AURL_MIDI_WRITE_H
#define AURL_MIDI_WRITE_H

#include "data/score.h"
#include "util/fileio.h"

/* Write S to PATH atomically. Returns 0 or -1 (err set). */
int midi_write_file(const char *path, const score *s, char err[AURL_ERR_LEN]);
#endif
