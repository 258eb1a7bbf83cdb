/* midi_read: sanitise a MIDI image, load it with libsmf and walk its events
 * in time order (libsmf supplies seconds from the tempo map) into a score.
 * Events later than MIDI_READ_MAX_SECONDS are ignored (a repair), so a
 * hostile tempo map cannot produce an unbounded score. */
#include "data/midi_read.h"

#include <smf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/smf_glue.h"
#include "util/log.h"

#define MIDI_READ_MAX_SECONDS (2.0 * 3600.0)

/* A sounding note. */
typedef struct {
    double onset;
    uint8_t velocity, instrument, active;
} sounding;

/* State of the walk over one file. */
typedef struct {
    score *s;
    sounding on[16][128];
    uint8_t family[16]; /* current program family per channel */
    uint8_t pedal[16];  /* CC64 state per channel */
    int oom;
} walk;

static uint8_t channel_instrument(const walk *w, int ch)
{
    return ch == 9 ? SCORE_DRUMS : w->family[ch];
}

/* End the sounding note (ch, pitch), if any, at time T. */
static void note_end(walk *w, int ch, int pitch, double t)
{
    sounding *n = &w->on[ch][pitch];
    if (!n->active) return;
    n->active = 0;
    score_note note = { n->onset, t >= n->onset ? t : n->onset, (uint8_t)pitch, n->velocity, n->instrument };
    if (score_add_note(w->s, note)) w->oom = 1;
}

/* Apply one channel message. */
static void channel_event(walk *w, const uint8_t *b, int len, double t)
{
    int st = b[0] & 0xF0, ch = b[0] & 0x0F;
    if (st == 0x90 && len >= 3 && b[2] > 0) {
        int p = b[1] & 0x7F;
        note_end(w, ch, p, t); /* re-strike ends the sounding note */
        sounding *n = &w->on[ch][p];
        n->active = 1;
        n->onset = t;
        n->velocity = b[2] & 0x7F;
        n->instrument = channel_instrument(w, ch);
    } else if ((st == 0x80 || st == 0x90) && len >= 3) {
        note_end(w, ch, b[1] & 0x7F, t);
    } else if (st == 0xC0 && len >= 2) {
        w->family[ch] = (uint8_t)score_program_family(b[1] & 0x7F);
    } else if (st == 0xB0 && len >= 3 && b[1] == 64) {
        uint8_t down = b[2] >= 64;
        if (down != w->pedal[ch]) {
            w->pedal[ch] = down;
            score_sustain e = { t, channel_instrument(w, ch), down };
            if (score_add_sustain(w->s, e)) w->oom = 1;
        }
    }
}

static void tempo_event(walk *w, const uint8_t *b, int len, double t)
{
    if (len < 6 || b[2] != 3) return;
    int us = b[3] << 16 | b[4] << 8 | b[5];
    if (us <= 0) return;
    score_tempo e = { t, 60e6 / us };
    score *s = w->s;
    if (s->n_tempos && s->tempos[s->n_tempos - 1].time == t) {
        s->tempos[s->n_tempos - 1].bpm = e.bpm; /* same instant: the last one wins */
        return;
    }
    if (s->n_tempos && s->tempos[s->n_tempos - 1].bpm == e.bpm) return;
    if (score_add_tempo(s, e)) w->oom = 1;
}

int midi_read_buffer(const uint8_t *data, size_t len, const char *name, score *out, smf_report *rep,
                     char err[AURL_ERR_LEN])
{
    score_init(out);
    smf_glue_route_logs();
    if (!name) name = "(memory)";
    smf_limits lim;
    smf_limits_default(&lim);
    smf_report r;
    uint8_t *clean;
    size_t clean_len;
    char why[AURL_ERR_LEN];
    if (smf_sanitize(data, len, &lim, &clean, &clean_len, &r, why)) {
        errmsg_set(err, "%s: %s", name, why);
        if (rep) *rep = r;
        return -1;
    }
    if (r.repairs) log_debug("%s: repaired: %s", name, r.repair_summary);
    smf_t *smf = clean_len <= 0x7FFFFFFF ? smf_load_from_memory(clean, (int)clean_len) : NULL;
    free(clean);
    if (!smf) {
        errmsg_set(err, "%s: libsmf could not load the sanitised file", name);
        if (rep) *rep = r;
        return -1;
    }

    walk *w = calloc(1, sizeof *w);
    if (!w) {
        smf_glue_delete(smf);
        errmsg_set(err, "%s: out of memory", name);
        if (rep) *rep = r;
        return -1;
    }
    w->s = out;
    double last = 0;
    int cut = 0;
    smf_event_t *ev;
    while (!w->oom && (ev = smf_get_next_event(smf)) != NULL) {
        double t = ev->time_seconds;
        if (!(t >= 0)) t = last; /* NaN guard */
        if (t > MIDI_READ_MAX_SECONDS) {
            cut = 1;
            break;
        }
        if (t > last) last = t;
        const uint8_t *b = ev->midi_buffer;
        int n = ev->midi_buffer_length;
        if (!b || n < 1) continue;
        if (b[0] == 0xFF) {
            if (n >= 2 && b[1] == 0x51) tempo_event(w, b, n, t);
        } else if (b[0] >= 0x80 && b[0] < 0xF0) {
            channel_event(w, b, n, t);
        }
    }
    if (cut) last = MIDI_READ_MAX_SECONDS;
    for (int ch = 0; ch < 16; ch++)
        for (int p = 0; p < 128; p++) note_end(w, ch, p, last);
    int oom = w->oom;
    free(w);
    smf_glue_delete(smf);
    if (cut) {
        r.repairs++;
        size_t used = strlen(r.repair_summary);
        snprintf(r.repair_summary + used, sizeof r.repair_summary - used, "%signored events after %.0f s",
                 used ? "; " : "", MIDI_READ_MAX_SECONDS);
    }
    if (rep) *rep = r;
    if (oom) {
        score_free(out);
        errmsg_set(err, "%s: out of memory", name);
        return -1;
    }
    score_sort(out);
    return 0;
}

int midi_read_file(const char *path, score *out, smf_report *rep, char err[AURL_ERR_LEN])
{
    score_init(out);
    smf_limits lim;
    smf_limits_default(&lim);
    unsigned char *data;
    size_t len;
    if (file_read_all(path, lim.max_bytes, &data, &len, err)) return -1;
    int rc = midi_read_buffer(data, len, path, out, rep, err);
    free(data);
    return rc;
}
