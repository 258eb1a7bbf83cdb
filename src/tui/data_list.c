/* data_list: curses-free model of the dataset list (see data_list.h). */
#include "tui/data_list.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data/tokenizer.h"

void dlist_init(dlist *d)
{
    memset(d, 0, sizeof *d);
}

void dlist_free(dlist *d)
{
    char filter[sizeof d->filter];
    dlist_sort sort = d->sort;
    memcpy(filter, d->filter, sizeof filter);
    cache_close(d->c);
    free(d->rows);
    free(d->view);
    dlist_init(d);
    memcpy(d->filter, filter, sizeof filter);
    d->sort = sort;
}

uint16_t dlist_families_of(const uint16_t *tokens, size_t n)
{
    uint16_t mask = 0;
    int fam = 0; /* the vocabulary's initial instrument is piano */
    for (size_t i = 0; i < n; i++) {
        uint16_t t = tokens[i];
        if (t >= TOK_INSTRUMENT && t < TOK_INSTRUMENT + TOK_N_FAMILIES) fam = t - TOK_INSTRUMENT;
        else if (t >= TOK_NOTE_ON && t < TOK_NOTE_OFF) mask |= (uint16_t)(1u << fam);
    }
    return mask;
}

const char *dlist_family_name(int f)
{
    static const char *names[16] = {"pno", "chr", "org", "gtr", "bas", "str", "ens", "brs",
                                    "red", "pip", "lead", "pad", "sfx", "eth", "prc", "drm"};
    return f >= 0 && f < 16 ? names[f] : "?";
}

void dlist_families_str(uint16_t mask, char *buf, size_t len)
{
    if (!len) return;
    buf[0] = 0;
    size_t at = 0;
    for (int f = 0; f < 16; f++) {
        if (!(mask & (1u << f))) continue;
        int w = snprintf(buf + at, len - at, "%s%s", at ? "," : "", dlist_family_name(f));
        if (w < 0 || (size_t)w >= len - at) {
            buf[len - 1] = 0;
            return;
        }
        at += (size_t)w;
    }
    if (!at) snprintf(buf, len, "-");
}

const char *dlist_status(const dlist_row *r)
{
    if (r->e->split == CACHE_REJECTED) return r->e->reject_reason[0] ? r->e->reject_reason : "rejected";
    return cache_split_name(r->e->split);
}

/* 1 when DIR (recursively, depth-limited) holds a .mid/.midi file. */
static int has_midi(const char *dir, int depth)
{
    if (depth > 8) return 0;
    DIR *dp = opendir(dir);
    if (!dp) return 0;
    int found = 0;
    struct dirent *de;
    while (!found && (de = readdir(dp))) {
        if (de->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) found = has_midi(path, depth + 1);
        else {
            const char *dot = strrchr(de->d_name, '.');
            found = dot && (!strcasecmp(dot, ".mid") || !strcasecmp(dot, ".midi"));
        }
    }
    closedir(dp);
    return found;
}

static const dlist *sort_ctx;

static int cmp_rows(const void *a, const void *b)
{
    const dlist_row *x = &sort_ctx->rows[*(const size_t *)a], *y = &sort_ctx->rows[*(const size_t *)b];
    int r = 0;
    if (sort_ctx->sort == DLIST_SORT_DURATION)
        r = x->e->duration < y->e->duration ? 1 : x->e->duration > y->e->duration ? -1 : 0;
    else if (sort_ctx->sort == DLIST_SORT_TOKENS)
        r = x->e->n_tokens < y->e->n_tokens ? 1 : x->e->n_tokens > y->e->n_tokens ? -1 : 0;
    if (!r) r = strcasecmp(x->e->path, y->e->path);
    if (!r) r = strcmp(x->e->path, y->e->path);
    return r;
}

static void rebuild_view(dlist *d)
{
    d->n_view = 0;
    for (size_t i = 0; i < d->n_rows; i++)
        if (!d->filter[0] || strcasestr(d->rows[i].e->path, d->filter)) d->view[d->n_view++] = i;
    sort_ctx = d;
    if (d->n_view > 1) qsort(d->view, d->n_view, sizeof *d->view, cmp_rows);
    sort_ctx = NULL;
}

int dlist_load(dlist *d, const char *data_dir)
{
    dlist_free(d);
    char err[AURL_ERR_LEN];
    if (cache_open(data_dir, &d->c, err) != 0) {
        d->c = NULL;
        char midi[4096];
        snprintf(midi, sizeof midi, "%s/midi", data_dir);
        if (!has_midi(midi, 0))
            snprintf(d->message, sizeof d->message,
                     "No MIDI files in %s: run `aurl data fetch` (or copy .mid files there), then `aurl data cache`.",
                     midi);
        else
            snprintf(d->message, sizeof d->message, "No usable token cache: run `aurl data cache`. (%s)", err);
        return -1;
    }
    size_t n = cache_n_entries(d->c);
    d->rows = calloc(n ? n : 1, sizeof *d->rows);
    d->view = calloc(n ? n : 1, sizeof *d->view);
    if (!d->rows || !d->view) {
        dlist_free(d);
        snprintf(d->message, sizeof d->message, "out of memory loading the cache index");
        return -1;
    }
    d->n_rows = n;
    for (size_t i = 0; i < n; i++) {
        const cache_entry *e = cache_entry_at(d->c, i);
        d->rows[i].e = e;
        d->totals.files++;
        if (e->split == CACHE_REJECTED) {
            d->totals.rejected++;
            continue;
        }
        d->totals.accepted++;
        if (e->split == CACHE_VAL) d->totals.val++;
        d->totals.tokens += e->n_tokens;
        d->totals.notes += e->n_notes;
        d->totals.seconds += e->duration;
        if (e->tokens) d->rows[i].families = dlist_families_of(e->tokens, e->n_tokens);
    }
    if (!n)
        snprintf(d->message, sizeof d->message, "The cache is empty: add MIDI files to %s/midi (`aurl data fetch`), then `aurl data cache`.",
                 data_dir);
    rebuild_view(d);
    return 0;
}

void dlist_set_filter(dlist *d, const char *query)
{
    snprintf(d->filter, sizeof d->filter, "%s", query ? query : "");
    if (d->view) rebuild_view(d);
}

void dlist_set_sort(dlist *d, dlist_sort sort)
{
    d->sort = sort >= 0 && sort < DLIST_SORT_COUNT ? sort : DLIST_SORT_NAME;
    if (d->view) rebuild_view(d);
}

const dlist_row *dlist_view_row(const dlist *d, size_t i)
{
    return i < d->n_view ? &d->rows[d->view[i]] : NULL;
}

int dlist_load_score(const dlist *d, size_t i, score *out, char err[AURL_ERR_LEN])
{
    const dlist_row *r = dlist_view_row(d, i);
    if (!r) {
        errmsg_set(err, "no such row %zu", i);
        return -1;
    }
    if (r->e->split == CACHE_REJECTED || !r->e->tokens) {
        errmsg_set(err, "%s was rejected: %s", r->e->path, dlist_status(r));
        return -1;
    }
    score_free(out);
    if (tok_decode(r->e->tokens, r->e->n_tokens, out) != 0) {
        errmsg_set(err, "%s: out of memory decoding %zu tokens", r->e->path, r->e->n_tokens);
        return -1;
    }
    return 0;
}

void dlist_format_duration(double seconds, char *buf, size_t len)
{
    if (!(seconds >= 0)) seconds = 0;
    if (seconds > 3.6e8) seconds = 3.6e8;
    long s = (long)(seconds + 0.5);
    if (s >= 3600) snprintf(buf, len, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else snprintf(buf, len, "%ld:%02ld", s / 60, s % 60);
}
