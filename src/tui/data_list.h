/* data_list: curses-free model of the TUI's dataset list: the entries of
 * the token cache (data/cache.h) with duration, tokens, instrument families
 * (from the tokens), split or reject reason; totals; a case-insensitive
 * substring filter; sorting; and loading one file's tokens and score for
 * the piano roll. When there is no usable cache it carries a message
 * telling the user the next step (`aurl data fetch` / `aurl data cache`). */
#ifndef AURL_DATA_LIST_H
#define AURL_DATA_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "data/cache.h"
#include "data/score.h"
#include "util/errmsg.h"

typedef struct {
    const cache_entry *e;  /* the cache entry (path, duration, split, reason, tokens) */
    uint16_t families;     /* bit f set when family f plays a note (bit 15 = drums) */
} dlist_row;

typedef struct {
    size_t files, accepted, rejected, val;
    size_t tokens;
    long notes;
    double seconds;        /* music in accepted files */
} dlist_totals;

typedef enum { DLIST_SORT_NAME = 0, DLIST_SORT_DURATION, DLIST_SORT_TOKENS, DLIST_SORT_COUNT } dlist_sort;

typedef struct {
    cache *c;              /* NULL when not loaded */
    dlist_row *rows;       /* every entry, in cache (path) order */
    size_t n_rows;
    size_t *view;          /* indices into rows: filtered and sorted */
    size_t n_view;
    dlist_totals totals;   /* over all rows (not the filter) */
    char filter[128];
    dlist_sort sort;
    char message[AURL_ERR_LEN]; /* why nothing is shown and what to do ("" when loaded) */
} dlist;

/* Empty list. */
void dlist_init(dlist *d);
/* (Re)load from <data_dir>/cache. Returns 0; or -1 with d->message set to
 * the problem and the next step (no MIDI: `aurl data fetch`; no or stale
 * cache: `aurl data cache`). Keeps the filter and sort. */
int dlist_load(dlist *d, const char *data_dir);
/* Free everything (the list can be loaded again). */
void dlist_free(dlist *d);
/* Set the filter (case-insensitive substring of the path, "" = all) and
 * recompute the view. */
void dlist_set_filter(dlist *d, const char *query);
/* Sort the view (name ascending; duration and tokens descending). */
void dlist_set_sort(dlist *d, dlist_sort sort);
/* Row I of the view (I < n_view). */
const dlist_row *dlist_view_row(const dlist *d, size_t i);
/* Family bits of a token string: families that play a NOTE_ON. */
uint16_t dlist_families_of(const uint16_t *tokens, size_t n);
/* Short names of the families in MASK, e.g. "pno,gtr,drm" (truncated to len). */
void dlist_families_str(uint16_t mask, char *buf, size_t len);
/* Short name of family F (0..15), e.g. "pno", "drm". */
const char *dlist_family_name(int f);
/* "rejected: <reason>", "train" or "val" for a row. */
const char *dlist_status(const dlist_row *r);
/* Decode the tokens of view row I into OUT (score_init'd by the caller or
 * empty). Returns 0, or -1 with err set (rejected file, out of memory). */
int dlist_load_score(const dlist *d, size_t i, score *out, char err[AURL_ERR_LEN]);
/* "1:02:03" / "2:03" style duration of SECONDS into buf. */
void dlist_format_duration(double seconds, char *buf, size_t len);
#endif
