/* score: growable arrays of notes, sustain pedal events and tempo changes. */
#include "data/score.h"

#include <stdlib.h>
#include <string.h>

void score_init(score *s) { memset(s, 0, sizeof *s); }

void score_free(score *s)
{
    free(s->notes);
    free(s->sustains);
    free(s->tempos);
    score_init(s);
}

/* Grow *arr (of elem-sized items) so that one more fits. */
static int reserve_one(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return 0;
    size_t ncap = *cap ? *cap * 2 : 64;
    void *p = realloc(*arr, ncap * elem);
    if (!p) return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

int score_add_note(score *s, score_note n)
{
    if (reserve_one((void **)&s->notes, &s->cap_notes, s->n_notes, sizeof n)) return -1;
    s->notes[s->n_notes++] = n;
    return 0;
}

int score_add_sustain(score *s, score_sustain e)
{
    if (reserve_one((void **)&s->sustains, &s->cap_sustains, s->n_sustains, sizeof e)) return -1;
    s->sustains[s->n_sustains++] = e;
    return 0;
}

int score_add_tempo(score *s, score_tempo t)
{
    if (reserve_one((void **)&s->tempos, &s->cap_tempos, s->n_tempos, sizeof t)) return -1;
    s->tempos[s->n_tempos++] = t;
    return 0;
}

static int cmp_double(double a, double b) { return (a > b) - (a < b); }

static int cmp_note(const void *a, const void *b)
{
    const score_note *x = a, *y = b;
    int c = cmp_double(x->onset, y->onset);
    if (c) return c;
    if (x->instrument != y->instrument) return x->instrument - y->instrument;
    if (x->pitch != y->pitch) return x->pitch - y->pitch;
    return cmp_double(x->offset, y->offset);
}

static int cmp_sustain(const void *a, const void *b)
{
    const score_sustain *x = a, *y = b;
    return cmp_double(x->time, y->time);
}

static int cmp_tempo(const void *a, const void *b)
{
    const score_tempo *x = a, *y = b;
    return cmp_double(x->time, y->time);
}

/* Items per run sorted by insertion before the merge passes. */
#define SORT_RUN 32

/* Stable merge sort of N items of SIZE bytes (equal items keep their order,
 * so e.g. a pedal down and up at the same time stay in file order). Input
 * already in order costs one pass; otherwise runs of SORT_RUN items are
 * insertion-sorted, then merged, alternating between the array and one
 * scratch buffer. Falls back to qsort if the scratch cannot be allocated. */
static void stable_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    unsigned char *a = base;
    size_t sorted = 1;
    while (sorted < n && cmp(a + (sorted - 1) * size, a + sorted * size) <= 0) sorted++;
    if (sorted >= n) return;
    unsigned char *tmp = malloc(n * size);
    if (!tmp) {
        qsort(base, n, size, cmp);
        return;
    }
    /* insertion sort of each run; tmp[0] holds the item being placed */
    for (size_t lo = 0; lo < n; lo += SORT_RUN) {
        size_t hi = lo + SORT_RUN < n ? lo + SORT_RUN : n;
        for (size_t i = lo + 1; i < hi; i++) {
            if (cmp(a + (i - 1) * size, a + i * size) <= 0) continue;
            memcpy(tmp, a + i * size, size);
            size_t j = i;
            do {
                memcpy(a + j * size, a + (j - 1) * size, size);
                j--;
            } while (j > lo && cmp(a + (j - 1) * size, tmp) > 0);
            memcpy(a + j * size, tmp, size);
        }
    }
    unsigned char *src = a, *dst = tmp;
    for (size_t width = SORT_RUN; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                if (cmp(src + j * size, src + i * size) < 0) memcpy(dst + k++ * size, src + j++ * size, size);
                else memcpy(dst + k++ * size, src + i++ * size, size);
            }
            memcpy(dst + k * size, src + i * size, (mid - i) * size);
            k += mid - i;
            memcpy(dst + k * size, src + j * size, (hi - j) * size);
        }
        unsigned char *t = src;
        src = dst;
        dst = t;
    }
    if (src != a) memcpy(a, src, n * size);
    free(tmp);
}

void score_sort(score *s)
{
    stable_sort(s->notes, s->n_notes, sizeof *s->notes, cmp_note);
    stable_sort(s->sustains, s->n_sustains, sizeof *s->sustains, cmp_sustain);
    stable_sort(s->tempos, s->n_tempos, sizeof *s->tempos, cmp_tempo);
}

double score_duration(const score *s)
{
    double end = 0;
    for (size_t i = 0; i < s->n_notes; i++)
        if (s->notes[i].offset > end) end = s->notes[i].offset;
    return end;
}

int score_program_family(int program)
{
    if (program < 0) program = 0;
    if (program > 127) program = 127;
    int fam = program / 8;
    return fam == 15 ? 12 : fam;
}
