/* note_limits: per-family decoding limits from the data's tokens (see note_limits.h). */
#include "engine/sample/note_limits.h"

#include <stdlib.h>
#include <string.h>

#include "data/cache.h"

/* Note lengths are counted in steps up to this; longer ones in the last bin. */
#define LEN_BINS (TOK_STEPS_PER_SECOND * 64)
/* Polyphony counts up to this. */
#define POLY_BINS 129

typedef struct {
    long len[SCORE_N_INSTRUMENTS + 1][LEN_BINS];   /* [family][steps]; row 16: pooled melodic */
    long poly[SCORE_N_INSTRUMENTS + 1][POLY_BINS]; /* [family][notes sounding at an onset] */
    long n[SCORE_N_INSTRUMENTS + 1];
    long gap[LEN_BINS]; /* steps between consecutive onset times (any instrument) */
} histograms;

/* Replay one token sequence, counting note lengths and onset polyphony. */
static void count_seq(const uint16_t *t, size_t n, histograms *h)
{
    int64_t onset[SCORE_N_INSTRUMENTS][GRAMMAR_N_PITCHES];
    int sounding[SCORE_N_INSTRUMENTS] = {0};
    for (int i = 0; i < SCORE_N_INSTRUMENTS; i++)
        for (int p = 0; p < GRAMMAR_N_PITCHES; p++) onset[i][p] = -1;
    int64_t now = 0, last_onset = -1;
    int inst = 0;
    for (size_t k = 0; k < n; k++) {
        int tok = t[k];
        if (tok == TOK_END) break;
        if (tok >= TOK_NOTE_ON && tok < TOK_NOTE_OFF) {
            int64_t *on = &onset[inst][tok - TOK_NOTE_ON];
            if (*on < 0) sounding[inst]++;
            *on = now;
            if (last_onset >= 0 && now > last_onset) h->gap[now - last_onset < LEN_BINS ? now - last_onset : LEN_BINS - 1]++;
            last_onset = now;
            int c = sounding[inst] < POLY_BINS ? sounding[inst] : POLY_BINS - 1;
            h->poly[inst][c]++;
            if (inst != TOK_DRUM_FAMILY) h->poly[SCORE_N_INSTRUMENTS][c]++;
        } else if (tok >= TOK_NOTE_OFF && tok < TOK_TIME_SHIFT) {
            int64_t *on = &onset[inst][tok - TOK_NOTE_OFF];
            if (*on < 0) continue;
            int64_t len = now - *on;
            int b = len < LEN_BINS ? (int)len : LEN_BINS - 1;
            h->len[inst][b]++;
            h->n[inst]++;
            if (inst != TOK_DRUM_FAMILY) {
                h->len[SCORE_N_INSTRUMENTS][b]++;
                h->n[SCORE_N_INSTRUMENTS]++;
            }
            *on = -1;
            sounding[inst]--;
        } else if (tok >= TOK_TIME_SHIFT && tok < TOK_VELOCITY) {
            now += tok_shift_steps((uint16_t)tok);
        } else if (tok >= TOK_INSTRUMENT && tok < TOK_INSTRUMENT + TOK_N_FAMILIES) {
            inst = tok - TOK_INSTRUMENT;
        }
    }
}

/* The smallest bin b with at least fraction Q of the counts at or below it. */
static int quantile(const long *hist, int bins, double q)
{
    long total = 0;
    for (int b = 0; b < bins; b++) total += hist[b];
    if (total == 0) return 0;
    long need = (long)(q * (double)total + 0.5), acc = 0;
    if (need < 1) need = 1;
    for (int b = 0; b < bins; b++)
        if ((acc += hist[b]) >= need) return b;
    return bins - 1;
}

static long long at_least(long long v, long long floor) { return v < floor ? floor : v; }

int note_limits_from_seqs(const dataset_seq *seqs, size_t n, note_limits *out, char err[AURL_ERR_LEN])
{
    histograms *h = calloc(1, sizeof *h);
    if (!h) {
        errmsg_set(err, "note limits: out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) count_seq(seqs[i].tokens, seqs[i].n, h);
    memset(out, 0, sizeof *out);
    if (h->n[SCORE_N_INSTRUMENTS] == 0) {
        free(h);
        errmsg_set(err, "note limits: the data holds no melodic note");
        return -1;
    }
    out->limits.max_gap_steps = at_least(quantile(h->gap, LEN_BINS, NOTE_LIMITS_GAP_Q), NOTE_LIMITS_MIN_LEN_STEPS);
    for (int i = 0; i < SCORE_N_INSTRUMENTS; i++) {
        /* a family with too few notes takes the pooled melodic figures
         * (drums always keep their own: their notes are zero-length hits) */
        int src = h->n[i] >= NOTE_LIMITS_MIN_NOTES || (i == TOK_DRUM_FAMILY && h->n[i] > 0) ? i : SCORE_N_INSTRUMENTS;
        grammar_limits *L = &out->limits;
        L->max_note_steps[i] = at_least(quantile(h->len[src], LEN_BINS, 0.99), NOTE_LIMITS_MIN_LEN_STEPS);
        L->typical_note_steps[i] = at_least(quantile(h->len[src], LEN_BINS, 0.5), 1);
        /* drums: zero-length hits are their norm, so no shortest length */
        L->min_note_steps[i] = i == TOK_DRUM_FAMILY ? 0 : quantile(h->len[src], LEN_BINS, NOTE_LIMITS_SHORT_Q);
        L->max_poly[i] = (int)at_least(quantile(h->poly[src], POLY_BINS, 0.99), NOTE_LIMITS_MIN_POLY);
        out->notes[i] = h->n[i];
        out->total_notes += h->n[i];
    }
    free(h);
    return 0;
}

int note_limits_from_cache(const char *data_dir, note_limits *out, char err[AURL_ERR_LEN])
{
    cache *c = NULL;
    if (cache_open(data_dir, &c, err) != 0) return -1;
    size_t k = 0;
    dataset_seq *seqs = dataset_split_seqs(c, CACHE_TRAIN, &k);
    if (!seqs) {
        cache_close(c);
        errmsg_set(err, "note limits: out of memory");
        return -1;
    }
    char why[AURL_ERR_LEN];
    int rc = note_limits_from_seqs(seqs, k, out, why);
    if (rc != 0) errmsg_set(err, "%s: training split: %s", cache_dir(c), why);
    free(seqs);
    cache_close(c);
    return rc;
}

double note_limits_seconds(long long steps) { return (double)steps / TOK_STEPS_PER_SECOND; }
