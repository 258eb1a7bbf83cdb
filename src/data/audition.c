/* audition: MIDI -> sound through libfluidsynth. Untrusted MIDI never
 * reaches fluidsynth: the file is read in an isolated child
 * (midi_read_isolated), re-exported with midi_write and handed to the
 * player from memory. Rendering drives the synth ourselves (player timing
 * by samples), so it runs as fast as the CPU allows and stops at the end
 * of the piece plus a release tail; the WAV is written atomically. */
#include "data/audition.h"

#include <fcntl.h>
#include <fluidsynth.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/midi_worker.h"
#include "data/midi_write.h"
#include "data/score.h"
#include "util/clock.h"
#include "util/fileio.h"
#include "util/log.h"

#define SAMPLE_RATE 44100
#define BLOCK_FRAMES 1024
#define TAIL_SECONDS 1.0        /* release and reverb after the last event */
#define MAX_RENDER_SECONDS 10800.0 /* 3 h: keeps a 16-bit stereo WAV under 4 GiB */
#define MIDI_MAX_BYTES ((size_t)256 << 20)

static const char *const SOUNDFONTS[] = {
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
};

/* Audio drivers tried in order (never "file", "sdl2" or "jack", which may
 * play nowhere or start a server). */
static const char *const DRIVERS[] = {"pulseaudio", "pipewire", "alsa", "oss"};

struct audition {
    fluid_settings_t *settings;
    fluid_synth_t *synth;
    fluid_player_t *player;
    fluid_audio_driver_t *driver;
    double start;    /* clock_monotonic at play */
    double duration; /* seconds */
};

/* ---- fluidsynth log -> util/log ---- */

static atomic_int probing; /* while trying audio drivers, their errors are expected */
static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void fluid_log_to_ours(int level, const char *message, void *data)
{
    (void)data;
    if ((level == FLUID_PANIC || level == FLUID_ERR) && !atomic_load(&probing))
        log_warn("fluidsynth: %s", message);
    else
        log_debug("fluidsynth: %s", message);
}

static void route_log(void)
{
    for (int lv = FLUID_PANIC; lv <= FLUID_DBG; lv++) fluid_set_log_function(lv, fluid_log_to_ours, NULL);
}

int audition_find_soundfont(char *out, size_t len, char err[AURL_ERR_LEN])
{
    const char *env = getenv("AURL_SOUNDFONT");
    if (env && *env) {
        if (!file_is_regular(env)) {
            errmsg_set(err, "%s: SoundFont not found (from $AURL_SOUNDFONT)", env);
            return -1;
        }
        snprintf(out, len, "%s", env);
        return 0;
    }
    for (size_t i = 0; i < sizeof SOUNDFONTS / sizeof *SOUNDFONTS; i++)
        if (file_is_regular(SOUNDFONTS[i])) {
            snprintf(out, len, "%s", SOUNDFONTS[i]);
            return 0;
        }
    errmsg_set(err, "no General MIDI SoundFont found in /usr/share/sounds/sf2: install timgm6mb-soundfont "
                    "(apt-get install timgm6mb-soundfont) or set AURL_SOUNDFONT / --soundfont");
    return -1;
}

/* Read MIDI_PATH in an isolated child and re-export it into a malloc'd
 * Standard MIDI File image that fluidsynth may parse. *duration gets the
 * piece's length. 0 or -1. */
static int sanitised_midi(const char *midi_path, uint8_t **buf, size_t *len, double *duration,
                          char err[AURL_ERR_LEN])
{
    score s;
    score_init(&s);
    if (midi_read_isolated(midi_path, &s, err) != 0) return -1;
    *duration = score_duration(&s);
    char dir[] = "/tmp/aurl-audition-XXXXXX";
    if (!mkdtemp(dir)) {
        errmsg_set(err, "cannot create a temporary directory in /tmp");
        score_free(&s);
        return -1;
    }
    char path[sizeof dir + 16];
    snprintf(path, sizeof path, "%s/piece.mid", dir);
    int rc = midi_write_file(path, &s, err);
    score_free(&s);
    if (rc == 0) rc = file_read_all(path, MIDI_MAX_BYTES, buf, len, err);
    unlink(path);
    rmdir(dir);
    return rc;
}

/* Settings, synth with the SoundFont loaded, and a player holding the
 * sanitised piece (not started). 0 or -1 (a is cleaned up by the caller). */
static int setup(audition *a, const char *midi_path, const char *soundfont, char err[AURL_ERR_LEN])
{
    pthread_once(&log_once, route_log);
    char sf[4096];
    if (soundfont) {
        if (!file_is_regular(soundfont)) {
            errmsg_set(err, "%s: SoundFont not found (install timgm6mb-soundfont or pass another --soundfont)",
                       soundfont);
            return -1;
        }
        snprintf(sf, sizeof sf, "%s", soundfont);
    } else if (audition_find_soundfont(sf, sizeof sf, err) != 0) {
        return -1;
    }
    uint8_t *midi = NULL;
    size_t midi_len = 0;
    if (sanitised_midi(midi_path, &midi, &midi_len, &a->duration, err) != 0) return -1;
    if (a->duration > MAX_RENDER_SECONDS) {
        errmsg_set(err, "%s: piece is %.0f s long, more than the %.0f s audition limit", midi_path, a->duration,
                   MAX_RENDER_SECONDS);
        free(midi);
        return -1;
    }
    a->settings = new_fluid_settings();
    if (a->settings) {
        fluid_settings_setnum(a->settings, "synth.sample-rate", SAMPLE_RATE);
        fluid_settings_setstr(a->settings, "player.timing-source", "sample");
        fluid_settings_setint(a->settings, "synth.lock-memory", 0);
        a->synth = new_fluid_synth(a->settings);
    }
    if (!a->synth) {
        errmsg_set(err, "fluidsynth: cannot create a synthesizer");
        free(midi);
        return -1;
    }
    if (fluid_synth_sfload(a->synth, sf, 1) == FLUID_FAILED) {
        errmsg_set(err, "%s: not a SoundFont fluidsynth can load", sf);
        free(midi);
        return -1;
    }
    a->player = new_fluid_player(a->synth);
    int rc = a->player ? fluid_player_add_mem(a->player, midi, midi_len) : FLUID_FAILED; /* copies */
    free(midi);
    if (rc != FLUID_OK) {
        errmsg_set(err, "fluidsynth: cannot queue %s", midi_path);
        return -1;
    }
    return 0;
}

static void teardown(audition *a)
{
    if (a->driver) delete_fluid_audio_driver(a->driver);
    if (a->player) {
        fluid_player_stop(a->player);
        delete_fluid_player(a->player);
    }
    if (a->synth) delete_fluid_synth(a->synth);
    if (a->settings) delete_fluid_settings(a->settings);
    memset(a, 0, sizeof *a);
}

/* Try each audio driver with stderr muted (ALSA and PulseAudio print their
 * own complaints there when there is no device). 0 or -1. */
static int open_driver(audition *a)
{
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved >= 0 && devnull >= 0) dup2(devnull, STDERR_FILENO);
    atomic_store(&probing, 1);
    for (size_t i = 0; i < sizeof DRIVERS / sizeof *DRIVERS && !a->driver; i++) {
        if (fluid_settings_setstr(a->settings, "audio.driver", DRIVERS[i]) != FLUID_OK) continue;
        a->driver = new_fluid_audio_driver(a->settings, a->synth);
        if (a->driver) log_debug("audition: audio through %s", DRIVERS[i]);
    }
    atomic_store(&probing, 0);
    if (saved >= 0 && devnull >= 0) dup2(saved, STDERR_FILENO);
    if (saved >= 0) close(saved);
    if (devnull >= 0) close(devnull);
    return a->driver ? 0 : -1;
}

int audition_play(audition **out, const char *midi_path, const char *soundfont, char err[AURL_ERR_LEN])
{
    *out = NULL;
    audition *a = calloc(1, sizeof *a);
    if (!a) {
        errmsg_set(err, "out of memory");
        return -1;
    }
    if (setup(a, midi_path, soundfont, err) != 0) goto fail;
    if (open_driver(a) != 0) {
        errmsg_set(err, "no audio device (tried pulseaudio, pipewire, alsa, oss)");
        goto fail;
    }
    if (fluid_player_play(a->player) != FLUID_OK) {
        errmsg_set(err, "fluidsynth: cannot start playing %s", midi_path);
        goto fail;
    }
    a->start = clock_monotonic();
    *out = a;
    return 0;
fail:
    teardown(a);
    free(a);
    return -1;
}

double audition_position(const audition *a)
{
    if (!a) return 0;
    double t = clock_monotonic() - a->start;
    return t < 0 ? 0 : t > a->duration ? a->duration : t;
}

double audition_duration(const audition *a)
{
    return a ? a->duration : 0;
}

int audition_playing(const audition *a)
{
    return a && fluid_player_get_status(a->player) == FLUID_PLAYER_PLAYING;
}

void audition_stop(audition *a)
{
    if (!a) return;
    teardown(a);
    free(a);
}

/* ---- WAV rendering ---- */

static void put_le(uint8_t *p, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* The 44-byte header of a 16-bit stereo PCM WAV with FRAMES frames. */
static void wav_header(uint8_t h[44], uint32_t frames)
{
    uint32_t data = frames * 4;
    memcpy(h, "RIFF", 4);
    put_le(h + 4, 36 + data, 4);
    memcpy(h + 8, "WAVEfmt ", 8);
    put_le(h + 16, 16, 4);
    put_le(h + 20, 1, 2);               /* PCM */
    put_le(h + 22, 2, 2);               /* channels */
    put_le(h + 24, SAMPLE_RATE, 4);
    put_le(h + 28, SAMPLE_RATE * 4, 4); /* byte rate */
    put_le(h + 32, 4, 2);               /* block align */
    put_le(h + 34, 16, 2);              /* bits */
    memcpy(h + 36, "data", 4);
    put_le(h + 40, data, 4);
}

int audition_render_wav(const char *midi_path, const char *wav_path, const char *soundfont, double *peak_out,
                        char err[AURL_ERR_LEN])
{
    audition a;
    memset(&a, 0, sizeof a);
    if (setup(&a, midi_path, soundfont, err) != 0) {
        teardown(&a);
        return -1;
    }
    atomic_file af;
    if (file_atomic_open(&af, wav_path, err) != 0) {
        teardown(&a);
        return -1;
    }
    FILE *fp = af.fp;
    uint8_t hdr[44];
    wav_header(hdr, 0);
    int ok = fwrite(hdr, 1, sizeof hdr, fp) == sizeof hdr;
    ok = ok && fluid_player_play(a.player) == FLUID_OK;
    /* the piece's own length plus the tail: the player's status lags the
     * last event by seconds, and sustain or reverb may ring past it */
    uint64_t total = (uint64_t)((a.duration + TAIL_SECONDS) * SAMPLE_RATE + 0.5), frames = 0;
    int16_t buf[2 * BLOCK_FRAMES];
    uint8_t bytes[4 * BLOCK_FRAMES];
    int peak = 0;
    while (ok && frames < total) {
        int n = total - frames < BLOCK_FRAMES ? (int)(total - frames) : BLOCK_FRAMES;
        if (fluid_synth_write_s16(a.synth, n, buf, 0, 2, buf, 1, 2) != FLUID_OK) {
            ok = 0;
            break;
        }
        for (int i = 0; i < 2 * n; i++) {
            int v = buf[i] < 0 ? -(int)buf[i] : buf[i];
            if (v > peak) peak = v;
            put_le(bytes + 2 * i, (uint16_t)buf[i], 2);
        }
        ok = fwrite(bytes, 1, (size_t)4 * n, fp) == (size_t)4 * n;
        frames += (uint64_t)n;
    }
    teardown(&a);
    if (ok) {
        wav_header(hdr, (uint32_t)frames);
        ok = fseek(fp, 0, SEEK_SET) == 0 && fwrite(hdr, 1, sizeof hdr, fp) == sizeof hdr;
    }
    if (!ok) {
        errmsg_set(err, "%s: cannot write the WAV file", wav_path);
        file_atomic_abort(&af);
        return -1;
    }
    if (file_atomic_commit(&af, err) != 0) return -1;
    if (peak_out) *peak_out = peak / 32768.0;
    return 0;
}
