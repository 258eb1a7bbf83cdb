/* cache: build (parallel, incremental, isolated parsing), verify and map the
 * token cache under <data>/cache (format described in cache.h). */
#include "data/cache.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "data/midi_read.h"
#include "data/midi_worker.h"
#include "data/tokenizer.h"
#include "util/clock.h"
#include "util/hash.h"
#include "util/isolate.h"
#include "util/json_num.h"
#include "util/log.h"
#include "util/threads.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "tokens.bin is little-endian; big-endian hosts are not supported"
#endif

#define TOKENS_MAGIC "AURLTOK"   /* 8 bytes with the NUL */
#define HEADER_SIZE 24u
#define MAX_SCAN_DEPTH 64
#define MAX_INDEX_BYTES ((size_t)1 << 30)
#define PATH_LEN 4096


struct cache {
    char dir[PATH_LEN];        /* <data>/cache */
    void *map;
    size_t map_len;
    const uint16_t *tokens;
    size_t n_tokens;
    cache_entry *entries;
    size_t n_entries;
};

/* ---------- small helpers ---------- */

static int join_path(char *out, const char *a, const char *b, char err[AURL_ERR_LEN])
{
    int n = snprintf(out, PATH_LEN, "%s/%s", a, b);
    if (n < 0 || n >= PATH_LEN) {
        errmsg_set(err, "%s/%s: path too long", a, b);
        return -1;
    }
    return 0;
}

const char *cache_split_name(cache_split split)
{
    switch (split) {
    case CACHE_TRAIN: return "train";
    case CACHE_VAL: return "val";
    default: return "rejected";
    }
}

/* 0..999 from the path's hash: the split key. */
static unsigned split_key(const char *rel_path)
{
    return (unsigned)(hash_fnv1a64(rel_path, strlen(rel_path), HASH_FNV_SEED) % 1000u);
}

cache_split cache_split_of_path(const char *rel_path)
{
    return split_key(rel_path) < CACHE_VAL_PERMILLE ? CACHE_VAL : CACHE_TRAIN;
}

/* ---------- open / verify ---------- */

static void free_entries(cache_entry *e, size_t n)
{
    if (!e) return;
    for (size_t i = 0; i < n; i++) {
        free((char *)e[i].path);
        if (e[i].reject_reason && e[i].reject_reason[0]) free((char *)e[i].reject_reason);
    }
    free(e);
}

void cache_close(cache *c)
{
    if (!c) return;
    if (c->map) munmap(c->map, c->map_len);
    free_entries(c->entries, c->n_entries);
    free(c);
}

/* Map tokens.bin and check its header and size. */
static int map_tokens(const char *path, cache *c, char err[AURL_ERR_LEN])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block */
    if (fd < 0) {
        errmsg_set(err, "%s: %s", path, errno == ENOENT ? "missing" : strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        errmsg_set(err, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    if ((uint64_t)st.st_size < HEADER_SIZE) {
        errmsg_set(err, "%s: truncated (%lld bytes, header needs %u)", path,
                 (long long)st.st_size, HEADER_SIZE);
        close(fd);
        return -1;
    }
    size_t len = (size_t)st.st_size;
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        errmsg_set(err, "%s: mmap failed: %s", path, strerror(errno));
        return -1;
    }
    c->map = map;
    c->map_len = len;
    const unsigned char *h = map;
    uint32_t version, hsize;
    uint64_t count;
    memcpy(&version, h + 8, 4);
    memcpy(&hsize, h + 12, 4);
    memcpy(&count, h + 16, 8);
    if (memcmp(h, TOKENS_MAGIC, 8) != 0) {
        errmsg_set(err, "%s: bad magic (not an aurl token file)", path);
        return -1;
    }
    if (version != TOK_VERSION) {
        errmsg_set(err, "%s: stale: vocab version %u, expected %d", path, version,
                 TOK_VERSION);
        return -1;
    }
    if (hsize != HEADER_SIZE || count > (len - HEADER_SIZE) / 2 ||
        HEADER_SIZE + count * 2 != len) {
        errmsg_set(err, "%s: size %zu does not match header (%" PRIu64 " tokens)",
                 path, len, count);
        return -1;
    }
    c->tokens = (const uint16_t *)(h + HEADER_SIZE);
    c->n_tokens = (size_t)count;
    return 0;
}

/* A JSON number that is a non-negative integer <= 2^53. */
static int json_uint(const cJSON *obj, const char *key, uint64_t *out)
{
    int64_t v;
    if (json_num_int_field(obj, key, 0, JSON_NUM_INT_MAX, &v) != 0) return -1;
    *out = (uint64_t)v;
    return 0;
}

static int parse_hex64(const char *s, uint64_t *out)
{
    if (!s || strlen(s) != 16) return -1;
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char ch = s[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (d < 0) return -1;
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return 0;
}

/* A relative path that stays inside <data>/midi. */
static int safe_rel_path(const char *p)
{
    if (!p || !*p || p[0] == '/') return 0;
    for (const char *s = p; *s;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return 0;
        s += n;
        if (*s) s++;
    }
    return 1;
}

/* Fill entry E from index object F; check it against the mapped tokens. */
static int parse_entry(const cJSON *f, cache *c, cache_entry *e, const char *ipath, size_t i,
                       char err[AURL_ERR_LEN])
{
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(f, "path");
    const cJSON *split = cJSON_GetObjectItemCaseSensitive(f, "split");
    const cJSON *hash = cJSON_GetObjectItemCaseSensitive(f, "hash");
    uint64_t size, mtime;
    if (!cJSON_IsString(path) || !safe_rel_path(path->valuestring) || !cJSON_IsString(split) ||
        !cJSON_IsString(hash) || parse_hex64(hash->valuestring, &e->content_hash) ||
        json_uint(f, "size", &size) || json_uint(f, "mtime", &mtime)) {
        errmsg_set(err, "%s: file entry %zu is malformed", ipath, i);
        return -1;
    }
    e->size = size;
    e->mtime = (int64_t)mtime;
    e->path = strdup(path->valuestring);
    e->reject_reason = "";
    if (!e->path) {
        errmsg_set(err, "%s: out of memory", ipath);
        return -1;
    }
    const char *sp = split->valuestring;
    if (strcmp(sp, "rejected") == 0) {
        const cJSON *reason = cJSON_GetObjectItemCaseSensitive(f, "reason");
        e->split = CACHE_REJECTED;
        const char *r = cJSON_IsString(reason) && reason->valuestring[0] ? reason->valuestring
                                                                         : "unknown reason";
        e->reject_reason = strdup(r);
        if (!e->reject_reason) {
            e->reject_reason = "";
            errmsg_set(err, "%s: out of memory", ipath);
            return -1;
        }
        return 0;
    }
    if (strcmp(sp, "train") == 0) e->split = CACHE_TRAIN;
    else if (strcmp(sp, "val") == 0) e->split = CACHE_VAL;
    else {
        errmsg_set(err, "%s: %s: unknown split \"%.32s\"", ipath, e->path, sp);
        return -1;
    }
    uint64_t off, count, notes;
    const cJSON *dur = cJSON_GetObjectItemCaseSensitive(f, "duration");
    if (json_uint(f, "offset", &off) || json_uint(f, "count", &count) ||
        json_uint(f, "notes", &notes) || !cJSON_IsNumber(dur) || !isfinite(dur->valuedouble) ||
        dur->valuedouble < 0) {
        errmsg_set(err, "%s: %s: malformed token fields", ipath, e->path);
        return -1;
    }
    if (count < 2 || off > c->n_tokens || count > c->n_tokens - off ||
        c->tokens[off] != TOK_START || c->tokens[off + count - 1] != TOK_END) {
        errmsg_set(err, "%s: %s: token range %" PRIu64 "+%" PRIu64
                 " inconsistent with tokens.bin", ipath, e->path, off, count);
        return -1;
    }
    e->tokens = c->tokens + off;
    e->n_tokens = (size_t)count;
    e->duration = dur->valuedouble;
    e->n_notes = (long)notes;
    return 0;
}

/* CRC-32 of the compact JSON text of the "files" array: the index's own
 * checksum (cJSON prints parsed numbers back identically). */
static int files_crc(const cJSON *files, uint32_t *crc)
{
    char *text = cJSON_PrintUnformatted(files);
    if (!text) return -1;
    *crc = hash_crc32(0, text, strlen(text));
    free(text);
    return 0;
}

static int add_files_crc(cJSON *root, const cJSON *files)
{
    uint32_t crc;
    if (files_crc(files, &crc)) return -1;
    return cJSON_AddNumberToObject(root, "files_crc32", crc) ? 0 : -1;
}

/* Parse and verify index.json against the mapped tokens. */
static int load_index(const char *ipath, const char *tpath, cache *c, char err[AURL_ERR_LEN])
{
    unsigned char *text;
    size_t len;
    if (!file_is_regular(ipath) && access(ipath, F_OK) != 0) {
        errmsg_set(err, "%s: missing", ipath);
        return -1;
    }
    if (file_read_all(ipath, MAX_INDEX_BYTES, &text, &len, err)) return -1;
    cJSON *root = cJSON_ParseWithLength((const char *)text, len);
    free(text);
    int rc = -1;
    if (!cJSON_IsObject(root)) {
        errmsg_set(err, "%s: not a valid JSON index", ipath);
        goto out;
    }
    uint64_t version, vocab, crc, count;
    if (json_uint(root, "version", &version) || version != CACHE_INDEX_VERSION) {
        errmsg_set(err, "%s: unsupported index version (expected %d)", ipath,
                 CACHE_INDEX_VERSION);
        goto out;
    }
    if (json_uint(root, "vocab_version", &vocab) || vocab != TOK_VERSION) {
        errmsg_set(err, "%s: stale: vocab version %" PRIu64 ", expected %d", ipath,
                 json_uint(root, "vocab_version", &vocab) ? 0 : vocab, TOK_VERSION);
        goto out;
    }
    if (json_uint(root, "tokens_crc32", &crc) || json_uint(root, "tokens_count", &count)) {
        errmsg_set(err, "%s: missing tokens_crc32/tokens_count", ipath);
        goto out;
    }
    if (count != c->n_tokens) {
        errmsg_set(err, "%s: token count %" PRIu64 " differs from tokens.bin (%zu)",
                 ipath, count, c->n_tokens);
        goto out;
    }
    if (hash_crc32(0, c->tokens, c->n_tokens * 2) != (uint32_t)crc || crc > 0xffffffffu) {
        errmsg_set(err, "%s: checksum mismatch with %s (damaged)", tpath, ipath);
        goto out;
    }
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(root, "files");
    if (!cJSON_IsArray(files)) {
        errmsg_set(err, "%s: no \"files\" array", ipath);
        goto out;
    }
    uint64_t want_crc;
    uint32_t got_crc;
    if (json_uint(root, "files_crc32", &want_crc) || files_crc(files, &got_crc) ||
        got_crc != want_crc) {
        errmsg_set(err, "%s: checksum mismatch (index damaged or edited)", ipath);
        goto out;
    }
    size_t n = (size_t)cJSON_GetArraySize(files);
    c->entries = calloc(n ? n : 1, sizeof *c->entries);
    if (!c->entries) {
        errmsg_set(err, "%s: out of memory", ipath);
        goto out;
    }
    const cJSON *f;
    cJSON_ArrayForEach(f, files)
    {
        cache_entry *e = &c->entries[c->n_entries++];
        if (!cJSON_IsObject(f) || parse_entry(f, c, e, ipath, c->n_entries - 1, err)) {
            if (!cJSON_IsObject(f)) errmsg_set(err, "%s: file entry is not an object", ipath);
            goto out;
        }
        if (c->n_entries > 1 && strcmp(c->entries[c->n_entries - 2].path, e->path) >= 0) {
            errmsg_set(err, "%s: entries not in path order at %s", ipath, e->path);
            goto out;
        }
    }
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

int cache_open(const char *data_dir, cache **out, char err[AURL_ERR_LEN])
{
    *out = NULL;
    char dir[PATH_LEN], tpath[PATH_LEN], ipath[PATH_LEN];
    if (join_path(dir, data_dir, "cache", err) || join_path(tpath, dir, "tokens.bin", err) ||
        join_path(ipath, dir, "index.json", err))
        return -1;
    cache *c = calloc(1, sizeof *c);
    if (!c) {
        errmsg_set(err, "%s: out of memory", dir);
        return -1;
    }
    memcpy(c->dir, dir, sizeof c->dir);
    if (map_tokens(tpath, c, err) || load_index(ipath, tpath, c, err)) {
        cache_close(c);
        return -1;
    }
    *out = c;
    return 0;
}

size_t cache_n_entries(const cache *c) { return c->n_entries; }
const cache_entry *cache_entry_at(const cache *c, size_t i) { return &c->entries[i]; }
size_t cache_n_tokens(const cache *c) { return c->n_tokens; }
const char *cache_dir(const cache *c) { return c->dir; }

/* ---------- build ---------- */

typedef struct {
    char *rel, *abs;
    uint64_t size, hash;
    int64_t mtime;
    cache_split split;        /* CACHE_REJECTED until accepted */
    char *reason;             /* malloc'd when rejected */
    const uint16_t *tokens;   /* owned_tokens or inside the previous cache's map */
    uint16_t *owned_tokens;
    size_t n_tokens;
    double duration;
    long n_notes;
} build_file;

typedef struct {
    build_file *files;
    size_t n, cap;
    struct { dev_t dev; ino_t ino; } *seen; /* directories visited (symlink loops) */
    size_t n_seen, cap_seen;
    size_t *jobs;             /* indices of files to parse */
    size_t n_jobs, n_done;
    cache_progress_fn on_progress; /* may be NULL */
    void *user;
    int syserr;
    char syserr_msg[AURL_ERR_LEN];
} build_ctx;

static void free_ctx(build_ctx *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->files[i].rel);
        free(b->files[i].abs);
        free(b->files[i].reason);
        free(b->files[i].owned_tokens);
    }
    free(b->files);
    free(b->seen);
    free(b->jobs);
}

static int add_file(build_ctx *b, const char *abs, const char *rel, const struct stat *st)
{
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 256;
        build_file *p = realloc(b->files, ncap * sizeof *p);
        if (!p) return -1;
        b->files = p;
        b->cap = ncap;
    }
    build_file *f = &b->files[b->n];
    memset(f, 0, sizeof *f);
    f->abs = strdup(abs);
    f->rel = strdup(rel);
    if (!f->abs || !f->rel) {
        free(f->abs);
        free(f->rel);
        return -1;
    }
    f->size = (uint64_t)st->st_size;
    f->mtime = (int64_t)st->st_mtim.tv_sec;
    f->split = CACHE_REJECTED;
    b->n++;
    return 0;
}

/* Remember directory (dev, ino); 1 if it was already visited. */
static int seen_dir(build_ctx *b, const struct stat *st)
{
    for (size_t i = 0; i < b->n_seen; i++)
        if (b->seen[i].dev == st->st_dev && b->seen[i].ino == st->st_ino) return 1;
    if (b->n_seen == b->cap_seen) {
        size_t ncap = b->cap_seen ? b->cap_seen * 2 : 64;
        void *p = realloc(b->seen, ncap * sizeof *b->seen);
        if (!p) return 1;
        b->seen = p;
        b->cap_seen = ncap;
    }
    b->seen[b->n_seen].dev = st->st_dev;
    b->seen[b->n_seen].ino = st->st_ino;
    b->n_seen++;
    return 0;
}

/* Walk ABS (relative name REL, "" at the top): regular files are collected;
 * hidden entries, special files, COPYRIGHT notices (placed by `data fetch`)
 * and directories already visited are skipped. */
static int scan_dir(build_ctx *b, const char *abs, const char *rel, int depth,
                    char err[AURL_ERR_LEN])
{
    DIR *d = opendir(abs);
    if (!d) {
        if (depth == 0) {
            errmsg_set(err, "%s: cannot open directory: %s%s", abs, strerror(errno),
                     errno == ENOENT ? " (run `aurl data fetch` or put MIDI files there)" : "");
            return -1;
        }
        log_warn("%s: cannot open directory: %s (skipped)", abs, strerror(errno));
        return 0;
    }
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char cabs[PATH_LEN], crel[PATH_LEN];
        int n1 = snprintf(cabs, sizeof cabs, "%s/%s", abs, de->d_name);
        int n2 = snprintf(crel, sizeof crel, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
        if (n1 >= PATH_LEN || n2 >= PATH_LEN) {
            log_warn("%s/%s: path too long (skipped)", abs, de->d_name);
            continue;
        }
        struct stat st;
        if (stat(cabs, &st) != 0) continue; /* dangling symlink */
        if (S_ISDIR(st.st_mode)) {
            if (depth >= MAX_SCAN_DEPTH || seen_dir(b, &st)) continue;
            rc = scan_dir(b, cabs, crel, depth + 1, err);
        } else if (S_ISREG(st.st_mode) && strcmp(de->d_name, "COPYRIGHT") != 0) {
            if (add_file(b, cabs, crel, &st)) {
                errmsg_set(err, "%s: out of memory", abs);
                rc = -1;
            }
        }
    }
    closedir(d);
    return rc;
}

static int cmp_file_rel(const void *a, const void *b)
{
    return strcmp(((const build_file *)a)->rel, ((const build_file *)b)->rel);
}

static void reject(build_file *f, const char *fmt, const char *arg)
{
    char buf[AURL_ERR_LEN];
    snprintf(buf, sizeof buf, fmt, arg);
    free(f->reason);
    f->reason = strdup(buf);
    f->split = CACHE_REJECTED;
}

/* FNV-1a 64 of the whole file, streamed. */
static int hash_file(const char *path, uint64_t *out, char reason[AURL_ERR_LEN])
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(reason, AURL_ERR_LEN, "cannot read: %s", strerror(errno));
        return -1;
    }
    unsigned char buf[65536];
    uint64_t h = HASH_FNV_SEED;
    size_t r;
    while ((r = fread(buf, 1, sizeof buf, fp)) > 0) h = hash_fnv1a64(buf, r, h);
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        snprintf(reason, AURL_ERR_LEN, "read error");
        return -1;
    }
    *out = h;
    return 0;
}

static int cmp_entry_path(const void *key, const void *e)
{
    return strcmp((const char *)key, ((const cache_entry *)e)->path);
}

/* Re-use the previous result for F if (path, size, mtime, hash) match. */
static int reuse_previous(build_file *f, const cache *prev)
{
    if (!prev) return 0;
    const cache_entry *e = bsearch(f->rel, prev->entries, prev->n_entries, sizeof *e,
                                   cmp_entry_path);
    if (!e || e->size != f->size || e->mtime != f->mtime || e->content_hash != f->hash) return 0;
    if (e->split == CACHE_REJECTED) {
        reject(f, "%s", e->reject_reason);
    } else {
        f->split = CACHE_TRAIN;
        f->tokens = e->tokens;
        f->n_tokens = e->n_tokens;
        f->duration = e->duration;
        f->n_notes = e->n_notes;
    }
    return 1;
}

/* Child: parse + tokenise one file into [duration f64][notes u64][count u64][tokens]. */
static int parse_job(void *arg, size_t index, uint8_t **out, size_t *out_len,
                     char err[AURL_ERR_LEN])
{
    build_ctx *b = arg;
    assert(index < b->n_jobs);
    const build_file *f = &b->files[b->jobs[index]];
    score s;
    score_init(&s);
    if (midi_read_file(f->abs, &s, NULL, err)) {
        score_free(&s);
        return -1;
    }
    if (s.n_notes == 0) {
        score_free(&s);
        errmsg_set(err, "no notes");
        return -1;
    }
    uint16_t *toks;
    size_t nt;
    if (tok_encode(&s, &toks, &nt)) {
        score_free(&s);
        errmsg_set(err, "out of memory while tokenising");
        return -1;
    }
    double dur = score_duration(&s);
    uint64_t notes = s.n_notes, count = nt;
    score_free(&s);
    uint8_t *blob = malloc(24 + nt * 2);
    if (!blob) {
        free(toks);
        errmsg_set(err, "out of memory");
        return -1;
    }
    memcpy(blob, &dur, 8);
    memcpy(blob + 8, &notes, 8);
    memcpy(blob + 16, &count, 8);
    memcpy(blob + 24, toks, nt * 2);
    free(toks);
    *out = blob;
    *out_len = 24 + nt * 2;
    return 0;
}

/* Tell the caller's hook about event P (if there is a hook). */
static void report(cache_progress_fn fn, void *user, cache_progress p)
{
    if (fn) fn(&p, user);
}

/* Parent: store one child's result. */
static void parse_done(void *arg, size_t index, isolate_status status, const uint8_t *out,
                       size_t out_len, const char *err)
{
    build_ctx *b = arg;
    assert(index < b->n_jobs);
    build_file *f = &b->files[b->jobs[index]];
    b->n_done++;
    switch (status) {
    case ISOLATE_OK: {
        double dur;
        uint64_t notes, count;
        if (out_len < 24) goto bad;
        memcpy(&dur, out, 8);
        memcpy(&notes, out + 8, 8);
        memcpy(&count, out + 16, 8);
        if (count < 2 || count > (out_len - 24) / 2 || 24 + count * 2 != out_len ||
            !isfinite(dur) || dur < 0)
            goto bad;
        f->owned_tokens = malloc(count * 2);
        if (!f->owned_tokens) {
            reject(f, "%s", "out of memory");
            break;
        }
        memcpy(f->owned_tokens, out + 24, count * 2);
        if (f->owned_tokens[0] != TOK_START || f->owned_tokens[count - 1] != TOK_END) {
            free(f->owned_tokens);
            f->owned_tokens = NULL;
            goto bad;
        }
        f->tokens = f->owned_tokens;
        f->n_tokens = (size_t)count;
        f->duration = dur;
        f->n_notes = (long)notes;
        f->split = CACHE_TRAIN;
        break;
    bad:
        reject(f, "%s", "parser returned a malformed result");
        break;
    }
    case ISOLATE_FAILED: {
        /* drop a leading "<path>: " so equal reasons group together */
        const char *why = err && *err ? err : "parse failed";
        size_t pl = strlen(f->abs);
        if (strncmp(why, f->abs, pl) == 0 && why[pl] == ':' && why[pl + 1] == ' ') why += pl + 2;
        reject(f, "%s", why);
        break;
    }
    case ISOLATE_CRASHED: reject(f, "parser crashed (%s)", err && *err ? err : "signal"); break;
    case ISOLATE_TIMEOUT: reject(f, "parser timed out (%s)", err && *err ? err : "limit"); break;
    case ISOLATE_NOMEM: reject(f, "parser ran out of memory (%s)", err && *err ? err : "limit"); break;
    default:
        /* transient: fail the build rather than remember a bogus rejection */
        b->syserr = 1;
        snprintf(b->syserr_msg, sizeof b->syserr_msg, "%s: %s", f->rel,
                 err && *err ? err : "could not start a parser process");
        break;
    }
    assert(b->n_done <= b->n_jobs);
    report(b->on_progress, b->user,
           (cache_progress){.kind = CACHE_PROGRESS_PARSED, .n_done = b->n_done, .n_jobs = b->n_jobs});
}

/* Assign train/val to accepted files: by path hash, then make sure that with
 * >= 2 accepted files both splits are non-empty. */
static void assign_splits(build_ctx *b)
{
    size_t n_acc = 0, n_val = 0, lo = SIZE_MAX, hi = SIZE_MAX;
    unsigned lo_key = 1000, hi_key = 0;
    for (size_t i = 0; i < b->n; i++) {
        build_file *f = &b->files[i];
        if (f->split == CACHE_REJECTED) continue;
        unsigned k = split_key(f->rel);
        f->split = k < CACHE_VAL_PERMILLE ? CACHE_VAL : CACHE_TRAIN;
        n_acc++;
        n_val += f->split == CACHE_VAL;
        if (k < lo_key || lo == SIZE_MAX) lo_key = k, lo = i;
        if (k >= hi_key || hi == SIZE_MAX) hi_key = k, hi = i;
    }
    if (n_acc < 2) return;
    if (n_val == 0) b->files[lo].split = CACHE_VAL;
    else if (n_val == n_acc) b->files[hi].split = CACHE_TRAIN;
}

static int write_tokens(const char *path, build_ctx *b, uint64_t total, uint32_t *crc_out,
                        char err[AURL_ERR_LEN])
{
    atomic_file af;
    if (file_atomic_open(&af, path, err)) return -1;
    FILE *fp = af.fp;
    unsigned char h[HEADER_SIZE] = {0};
    uint32_t version = TOK_VERSION, hsize = HEADER_SIZE;
    memcpy(h, TOKENS_MAGIC, 8);
    memcpy(h + 8, &version, 4);
    memcpy(h + 12, &hsize, 4);
    memcpy(h + 16, &total, 8);
    fwrite(h, 1, sizeof h, fp);
    uint32_t crc = 0;
    for (size_t i = 0; i < b->n; i++) {
        const build_file *f = &b->files[i];
        if (f->split == CACHE_REJECTED) continue;
        fwrite(f->tokens, 2, f->n_tokens, fp);
        crc = hash_crc32(crc, f->tokens, f->n_tokens * 2);
    }
    *crc_out = crc;
    return file_atomic_commit(&af, err);
}

static int write_index(const char *path, build_ctx *b, uint64_t total, uint32_t crc,
                       char err[AURL_ERR_LEN])
{
    cJSON *root = cJSON_CreateObject(), *files = cJSON_CreateArray();
    if (!root || !files) goto oom;
    cJSON_AddItemToObject(root, "files", files);
    cJSON_AddNumberToObject(root, "version", CACHE_INDEX_VERSION);
    cJSON_AddNumberToObject(root, "vocab_version", TOK_VERSION);
    cJSON_AddStringToObject(root, "tokens_file", "tokens.bin");
    cJSON_AddNumberToObject(root, "tokens_crc32", crc);
    cJSON_AddNumberToObject(root, "tokens_count", (double)total);
    uint64_t off = 0;
    for (size_t i = 0; i < b->n; i++) {
        const build_file *f = &b->files[i];
        cJSON *o = cJSON_CreateObject();
        if (!o) goto oom;
        cJSON_AddItemToArray(files, o);
        char hex[17];
        snprintf(hex, sizeof hex, "%016" PRIx64, f->hash);
        cJSON_AddStringToObject(o, "path", f->rel);
        cJSON_AddNumberToObject(o, "size", (double)f->size);
        cJSON_AddNumberToObject(o, "mtime", (double)(f->mtime < 0 ? 0 : f->mtime));
        cJSON_AddStringToObject(o, "hash", hex);
        cJSON_AddStringToObject(o, "split", cache_split_name(f->split));
        if (f->split == CACHE_REJECTED) {
            cJSON_AddStringToObject(o, "reason", f->reason ? f->reason : "unknown reason");
        } else {
            cJSON_AddNumberToObject(o, "offset", (double)off);
            cJSON_AddNumberToObject(o, "count", (double)f->n_tokens);
            cJSON_AddNumberToObject(o, "duration", f->duration);
            cJSON_AddNumberToObject(o, "notes", (double)f->n_notes);
            off += f->n_tokens;
        }
    }
    if (add_files_crc(root, files)) goto oom;
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) goto oom_nofree;
    int rc = file_write_atomic(path, text, strlen(text), err);
    free(text);
    return rc;
oom:
    cJSON_Delete(root);
    if (!root) cJSON_Delete(files);
oom_nofree:
    errmsg_set(err, "%s: out of memory", path);
    return -1;
}

int cache_build_ex(const char *data_dir, int jobs, cache_progress_fn on_progress, void *user,
                   cache_build_result *res, char err[AURL_ERR_LEN])
{
    double t0 = clock_monotonic();
    cache_build_result r;
    memset(&r, 0, sizeof r);
    char midi[PATH_LEN], cdir[PATH_LEN], tpath[PATH_LEN], ipath[PATH_LEN];
    if (join_path(midi, data_dir, "midi", err) || join_path(cdir, data_dir, "cache", err) ||
        join_path(tpath, cdir, "tokens.bin", err) || join_path(ipath, cdir, "index.json", err))
        return -1;
    if (file_mkdirs(cdir, err)) return -1;

    build_ctx b;
    memset(&b, 0, sizeof b);
    b.on_progress = on_progress;
    b.user = user;
    struct stat top;
    if (stat(midi, &top) == 0) seen_dir(&b, &top);
    int rc = -1;
    cache *prev = NULL;
    if (scan_dir(&b, midi, "", 0, err)) goto out;
    if (b.n) qsort(b.files, b.n, sizeof *b.files, cmp_file_rel);

    char perr[AURL_ERR_LEN];
    if (cache_open(data_dir, &prev, perr)) {
        prev = NULL;
        if (access(tpath, F_OK) == 0 || access(ipath, F_OK) == 0) {
            char note[AURL_ERR_LEN + 64];
            snprintf(note, sizeof note, "%s; rebuilding the cache from scratch", perr);
            report(on_progress, user, (cache_progress){.kind = CACHE_PROGRESS_NOTICE, .message = note});
        }
    }

    b.jobs = malloc((b.n ? b.n : 1) * sizeof *b.jobs);
    if (!b.jobs) {
        errmsg_set(err, "%s: out of memory", cdir);
        goto out;
    }
    for (size_t i = 0; i < b.n; i++) {
        build_file *f = &b.files[i];
        char reason[AURL_ERR_LEN];
        if (hash_file(f->abs, &f->hash, reason)) {
            reject(f, "%s", reason);
            continue;
        }
        if (reuse_previous(f, prev)) {
            r.n_reused++;
            continue;
        }
        if (f->size == 0) {
            reject(f, "%s", "empty file");
            continue;
        }
        b.jobs[b.n_jobs++] = i;
    }
    r.n_parsed = b.n_jobs;
    if (b.n_jobs) {
        isolate_limits lim = {MIDI_WORKER_TIMEOUT_S, MIDI_WORKER_MEM_LIMIT,
                              jobs > 0 ? jobs : threads_cores()};
        if (isolate_map(b.n_jobs, parse_job, parse_done, &b, &lim) != 0 || b.syserr) {
            errmsg_set(err, "%s: could not run parser processes: %s", cdir,
                     b.syserr ? b.syserr_msg : "isolate pool failed");
            goto out;
        }
    }
    assign_splits(&b);

    uint64_t total = 0;
    for (size_t i = 0; i < b.n; i++) {
        const build_file *f = &b.files[i];
        if (f->split == CACHE_REJECTED) {
            r.n_rejected++;
            continue;
        }
        r.n_accepted++;
        r.n_val += f->split == CACHE_VAL;
        total += f->n_tokens;
        r.seconds_of_music += f->duration;
    }
    r.n_files = b.n;
    r.n_tokens = (size_t)total;
    uint32_t crc;
    if (write_tokens(tpath, &b, total, &crc, err) || write_index(ipath, &b, total, crc, err))
        goto out;
    r.build_seconds = clock_monotonic() - t0;
    report(on_progress, user, (cache_progress){.kind = CACHE_PROGRESS_DONE, .result = &r});
    rc = 0;
out:
    cache_close(prev);
    free_ctx(&b);
    if (res) *res = r;
    return rc;
}

int cache_build(const char *data_dir, int jobs, char err[AURL_ERR_LEN])
{
    return cache_build_ex(data_dir, jobs, NULL, NULL, NULL, err);
}

int cache_ensure(const char *data_dir, int jobs, cache_progress_fn on_progress, void *user, cache **out,
                 char err[AURL_ERR_LEN])
{
    if (cache_open(data_dir, out, err) == 0) return 0;
    char note[AURL_ERR_LEN + 64];
    snprintf(note, sizeof note, "%s; building the token cache", err);
    report(on_progress, user, (cache_progress){.kind = CACHE_PROGRESS_NOTICE, .message = note});
    if (cache_build_ex(data_dir, jobs, on_progress, user, NULL, err)) return -1;
    return cache_open(data_dir, out, err);
}
