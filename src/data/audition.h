/* audition: listen to a MIDI file through libfluidsynth and a General MIDI
 * SoundFont (timgm6mb-soundfont by default). Plays through an audio device
 * when one works, otherwise renders a WAV file. Playback runs on
 * fluidsynth's own audio thread; the caller polls the playhead (the TUI's
 * piano roll draws it). fluidsynth's log output goes to our log. */
#ifndef AURL_AUDITION_H
#define AURL_AUDITION_H

#include <stddef.h>

#include "util/errmsg.h"

typedef struct audition audition;

/* The SoundFont to use: $AURL_SOUNDFONT if set, else the first of the
 * Debian GM SoundFonts that exists (/usr/share/sounds/sf2/TimGM6mb.sf2,
 * default-GM.sf2, FluidR3_GM.sf2). Returns 0, or -1 with a message saying
 * which package to install. */
int audition_find_soundfont(char *out, size_t len, char err[AURL_ERR_LEN]);

/* Start playing midi_path through the audio device. Returns 0, or -1 with
 * err set (bad MIDI file, missing SoundFont, or "no audio device" — callers
 * then offer audition_render_wav). soundfont NULL = audition_find_soundfont. */
int audition_play(audition **out, const char *midi_path, const char *soundfont, char err[AURL_ERR_LEN]);
/* Playhead in seconds from the start of the piece. */
double audition_position(const audition *a);
/* Length of the piece in seconds. */
double audition_duration(const audition *a);
/* 1 while still playing. */
int audition_playing(const audition *a);
/* Stop (if playing) and free; NULL is fine. */
void audition_stop(audition *a);

/* Render midi_path to a 16-bit stereo 44.1 kHz WAV at wav_path (written
 * atomically) with the SoundFont; peak_out (may be NULL) gets the peak
 * absolute sample in [0, 1] so callers can tell silence. Returns 0 or -1. */
int audition_render_wav(const char *midi_path, const char *wav_path, const char *soundfont,
                        double *peak_out, char err[AURL_ERR_LEN]);
#endif
