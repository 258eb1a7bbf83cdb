/* play_cmd: aurl play FILE.mid [--wav OUT.wav] [--soundfont SF2]: audition
 * a MIDI file through fluidsynth (data/audition). With --wav, or when there
 * is no audio device, renders a WAV (by default under <outputs>/audition/,
 * never beside the user's file) and says where it is. */
#include "cmd/play_cmd.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "data/audition.h"
#include "data/midi_worker.h"
#include "data/score.h"
#include "util/clock.h"
#include "util/fileio.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: aurl play FILE.mid [--wav OUT.wav] [--soundfont SF2]\n"
            "\n"
            "Listen to a MIDI file through fluidsynth and a General MIDI SoundFont.\n"
            "Plays through the audio device when there is one (Ctrl-C stops); otherwise,\n"
            "or with --wav, renders a 16-bit 44.1 kHz stereo WAV and prints where it is\n"
            "(default <outputs>/audition/<name>.wav).\n"
            "\n"
            "  --wav OUT.wav    render to this file instead of playing\n"
            "  --soundfont SF2  SoundFont to use (default $AURL_SOUNDFONT, else\n"
            "                   /usr/share/sounds/sf2/TimGM6mb.sf2 from timgm6mb-soundfont)\n");
}

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void fmt_time(double s, char *buf, size_t len)
{
    int t = s > 0 ? (int)(s + 0.5) : 0;
    snprintf(buf, len, "%d:%02d", t / 60, t % 60);
}

/* Render MIDI to WAV and report it. Exit code. */
static int render(const char *midi, const char *wav, const char *sf, double duration)
{
    char err[AURL_ERR_LEN];
    double t0 = clock_monotonic(), peak = 0;
    if (audition_render_wav(midi, wav, sf, &peak, err) != 0) {
        fprintf(stderr, "aurl play: %s\n", err);
        return AURL_EXIT_RUNTIME;
    }
    char d[32];
    fmt_time(duration, d, sizeof d);
    printf("wrote %s (%s, peak %.3f%s, rendered in %.1f s)\n", wav, d, peak, peak < 1e-3 ? ": silent" : "",
           clock_monotonic() - t0);
    return AURL_EXIT_OK;
}

/* Play through the device until done or Ctrl-C. Exit code, or -1 when
 * there is no device (err says why). */
static int play_device(const char *midi, const char *sf, char err[AURL_ERR_LEN])
{
    audition *a;
    if (audition_play(&a, midi, sf, err) != 0) return -1;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, &old);
    int tty = isatty(STDERR_FILENO);
    char pos[32], dur[32];
    fmt_time(audition_duration(a), dur, sizeof dur);
    while (audition_playing(a) && !interrupted) {
        if (tty) {
            fmt_time(audition_position(a), pos, sizeof pos);
            fprintf(stderr, "\rplaying %s  %s / %s ", midi, pos, dur);
            fflush(stderr);
        }
        nanosleep(&(struct timespec){0, 200000000}, NULL);
    }
    if (!interrupted) nanosleep(&(struct timespec){1, 0}, NULL); /* let the last notes ring */
    if (tty) fprintf(stderr, "\n");
    audition_stop(a);
    sigaction(SIGINT, &old, NULL);
    if (interrupted) fprintf(stderr, "aurl play: stopped\n");
    return AURL_EXIT_OK;
}

int play_cmd_main(int argc, char **argv, const aurl_globals *g)
{
    static const struct option opts[] = {{"wav", required_argument, 0, 'w'},
                                         {"soundfont", required_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *wav = NULL, *sf = NULL;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'w': wav = optarg; break;
        case 's': sf = optarg; break;
        case 'h': usage(stdout); return AURL_EXIT_OK;
        default:
            fprintf(stderr, "aurl play: unknown or incomplete option '%s' (see aurl play --help)\n",
                    argv[optind - 1]);
            return AURL_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "aurl play: %s (see aurl play --help)\n",
                optind >= argc ? "expects one MIDI file" : "expects exactly one MIDI file");
        return AURL_EXIT_USAGE;
    }
    const char *midi = argv[optind];
    char err[AURL_ERR_LEN], sfbuf[4096];
    if (!sf) {
        if (audition_find_soundfont(sfbuf, sizeof sfbuf, err) != 0) {
            fprintf(stderr, "aurl play: %s\n", err);
            return AURL_EXIT_RUNTIME;
        }
        sf = sfbuf;
    } else if (!file_is_regular(sf)) {
        fprintf(stderr, "aurl play: %s: SoundFont not found\n", sf);
        return AURL_EXIT_USAGE;
    }
    /* a bad file is a usage error (AURL_EXIT_USAGE), told before any audio is set up */
    score s;
    score_init(&s);
    if (midi_read_isolated(midi, &s, err) != 0) {
        fprintf(stderr, "aurl play: %s\n", err);
        return AURL_EXIT_USAGE;
    }
    double duration = score_duration(&s);
    score_free(&s);
    if (wav) return render(midi, wav, sf, duration);

    int rc = play_device(midi, sf, err);
    if (rc >= 0) return rc;
    fprintf(stderr, "aurl play: %s: rendering a WAV file instead\n", err);
    /* no device: render under <outputs>/audition/<stem>.wav */
    char dir[4096], out[4096 + 300], stem[256];
    const char *base = strrchr(midi, '/');
    base = base ? base + 1 : midi;
    snprintf(stem, sizeof stem, "%s", base);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem) *dot = 0;
    snprintf(dir, sizeof dir, "%s/audition", g && g->outputs_dir ? g->outputs_dir : "outputs");
    if (file_mkdirs(dir, err) != 0) {
        fprintf(stderr, "aurl play: %s\n", err);
        return AURL_EXIT_RUNTIME;
    }
    snprintf(out, sizeof out, "%s/%s.wav", dir, stem);
    return render(midi, out, sf, duration);
}
