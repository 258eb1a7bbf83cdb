/* cache: the token cache of docs/DESIGN.md §7 under <data>/cache/.
 *
 * tokens.bin  header (magic "AURLTOK\0", uint32 vocab version, uint32 header
 *             size, uint64 token count) then the uint16 tokens (little-endian)
 *             of every accepted file back to back; memory-mapped on open.
 * index.json  version, vocab version, CRC-32 of tokens.bin's token bytes and
 *             per source file: path (relative to <data>/midi), size, mtime,
 *             FNV-1a 64 content hash, token offset/count, duration, note
 *             count, split ("train"/"val") or "rejected" with its reason.
 *
 * Building scans <data>/midi recursively, parses new or changed files in
 * isolated children (util/isolate) and re-uses the tokens of unchanged ones.
 * Opening verifies everything; a stale or damaged cache is never trusted. */
#ifndef AURL_CACHE_H
#define AURL_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "util/fileio.h"

#define CACHE_INDEX_VERSION 1
#define CACHE_VAL_PERMILLE 50 /* ~5% of files go to the validation split */

typedef struct cache cache;

typedef enum { CACHE_TRAIN = 0, CACHE_VAL = 1, CACHE_REJECTED = 2 } cache_split;

typedef struct {
    const char *path;          /* relative to <data>/midi */
    uint64_t size;             /* bytes */
    int64_t mtime;             /* seconds since the epoch */
    uint64_t content_hash;     /* FNV-1a 64 of the file's bytes */
    double duration;           /* seconds (0 when rejected) */
    long n_notes;
    cache_split split;
    const char *reject_reason; /* "" unless split == CACHE_REJECTED */
    const uint16_t *tokens;    /* START ... END inside the mapping; NULL when rejected */
    size_t n_tokens;
} cache_entry;

/* What a build did (for summaries and tests). */
typedef struct {
    size_t n_files;    /* files found under <data>/midi */
    size_t n_accepted;
    size_t n_rejected;
    size_t n_parsed;   /* files handed to a parser child this time */
    size_t n_reused;   /* files whose previous result was re-used */
    size_t n_val;      /* accepted files in the validation split */
    size_t n_tokens;
    double seconds_of_music;
    double build_seconds;
} cache_build_result;

/* What a build reports while it runs (see cache_progress_fn). */
typedef enum {
    CACHE_PROGRESS_NOTICE, /* the existing cache cannot be used: message says why and what happens now */
    CACHE_PROGRESS_PARSED, /* one more file parsed: n_done of n_jobs */
    CACHE_PROGRESS_DONE    /* the build finished: result */
} cache_progress_kind;

typedef struct {
    cache_progress_kind kind;
    const char *message;              /* NOTICE: one line, no trailing newline */
    size_t n_done, n_jobs;            /* PARSED: files parsed so far, files to parse */
    const cache_build_result *result; /* DONE: what the build did */
} cache_progress;

/* Progress hook of cache_build_ex/cache_ensure, called in the building
 * process; USER is the caller's pointer. The cache itself prints nothing:
 * the caller shows (or not) what it is told. */
typedef void (*cache_progress_fn)(const cache_progress *p, void *user);

/* Build or refresh <data>/cache from <data>/midi with JOBS parser children
 * (<= 0: number of cores), silently. Returns 0 or -1 (err set). */
int cache_build(const char *data_dir, int jobs, char err[AURL_ERR_LEN]);
/* cache_build that reports its progress to ON_PROGRESS (may be NULL) and
 * what it did in *res (may be NULL). */
int cache_build_ex(const char *data_dir, int jobs, cache_progress_fn on_progress, void *user,
                   cache_build_result *res, char err[AURL_ERR_LEN]);

/* Open and verify <data>/cache (magic, vocab version, checksum, index
 * consistency). Fails with a message naming the file and problem when the
 * cache is missing, stale or damaged. Returns 0 or -1. */
int cache_open(const char *data_dir, cache **out, char err[AURL_ERR_LEN]);
/* cache_open, and when that fails report why (a NOTICE to ON_PROGRESS,
 * which may be NULL), rebuild (reporting as cache_build_ex) and open
 * again. Returns 0 or -1. */
int cache_ensure(const char *data_dir, int jobs, cache_progress_fn on_progress, void *user, cache **out,
                 char err[AURL_ERR_LEN]);
/* Unmap and free C (NULL is fine). */
void cache_close(cache *c);

/* Entries in path order, accepted and rejected alike. */
size_t cache_n_entries(const cache *c);
/* Entry I (< cache_n_entries); valid until cache_close. */
const cache_entry *cache_entry_at(const cache *c, size_t i);
/* Total number of tokens in tokens.bin. */
size_t cache_n_tokens(const cache *c);
/* The cache directory, <data>/cache (for messages). */
const char *cache_dir(const cache *c);
/* "train", "val" or "rejected". */
const char *cache_split_name(cache_split split);
/* The split a path is assigned by hash alone (before the at-least-one-val
 * guarantee): CACHE_VAL for ~CACHE_VAL_PERMILLE/1000 of paths. */
cache_split cache_split_of_path(const char *rel_path);

#endif
