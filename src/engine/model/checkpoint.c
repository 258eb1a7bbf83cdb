/* checkpoint: write and fully verify the binary checkpoint format described
 * in checkpoint.h (fixed header, JSON header with tensor table, aligned
 * float32 data, trailing CRC-32). Loading never trusts a length or offset
 * before checking it against the file size. */
#include "engine/model/checkpoint.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"
#include "util/json_num.h"

#define FIXED_LEN 32             /* magic + version + flags + H + D */
#define NAME_MAX_LEN 255         /* longest tensor name accepted */

static const char MAGIC[8] = {'A', 'U', 'R', 'L', 'C', 'K', 'P', 'T'};

typedef struct {
    char *name;
    uint64_t offset; /* within the data area */
    size_t numel;
} ckpt_entry;

struct ckpt_file {
    unsigned char *buf; /* whole file */
    const unsigned char *data; /* start of the data area */
    char *meta_json;    /* metadata without "tensors" */
    ckpt_entry *ents;   /* in file (table) order */
    int n;
    const ckpt_entry **by_name; /* ents sorted by name */
    char *path;         /* for messages */
};

static uint64_t align_up(uint64_t x) { return (x + CKPT_ALIGN - 1) / CKPT_ALIGN * CKPT_ALIGN; }

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* Copy N float32 values from little-endian bytes (or to them: the swap is
 * its own inverse). */
static void copy_le_floats(void *dst, const void *src, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    const unsigned char *s = src;
    unsigned char *d = dst;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 4; k++) d[4 * i + k] = s[4 * i + 3 - k];
#else
    memcpy(dst, src, n * 4);
#endif
}

/* ---- writing ---- */

typedef struct {
    atomic_file af;
    uint32_t crc;
    int failed;
} ckpt_writer;

static void w_bytes(ckpt_writer *w, const void *p, size_t n)
{
    if (w->failed || n == 0) return;
    errno = 0; /* so a failure without errno is not blamed on an older error */
    if (fwrite(p, 1, n, w->af.fp) != n) w->failed = errno ? errno : EIO;
    w->crc = hash_crc32(w->crc, p, n);
}

static void w_zeros(ckpt_writer *w, size_t n)
{
    static const unsigned char zeros[CKPT_ALIGN];
    while (n > 0) {
        size_t k = n < sizeof zeros ? n : sizeof zeros;
        w_bytes(w, zeros, k);
        n -= k;
    }
}

static void w_floats(ckpt_writer *w, const float *data, size_t numel)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    unsigned char chunk[4096];
    while (numel > 0) {
        size_t k = numel < sizeof chunk / 4 ? numel : sizeof chunk / 4;
        copy_le_floats(chunk, data, k);
        w_bytes(w, chunk, k * 4);
        data += k;
        numel -= k;
    }
#else
    w_bytes(w, data, numel * 4);
#endif
}

/* Check one tensor description; its element count goes to *numel. */
static int check_tensor_arg(const char *path, const ckpt_tensor *t, size_t *numel, char err[AURL_ERR_LEN])
{
    if (!t->name || !t->name[0] || strlen(t->name) > NAME_MAX_LEN) {
        snprintf(err, AURL_ERR_LEN, "%s: tensor with a missing or over-long name", path);
        return -1;
    }
    if (t->ndim < 1 || t->ndim > CKPT_MAX_DIMS) {
        snprintf(err, AURL_ERR_LEN, "%s: tensor '%s': %d dimensions (1..%d allowed)", path, t->name, t->ndim,
                 CKPT_MAX_DIMS);
        return -1;
    }
    uint64_t n = 1;
    for (int d = 0; d < t->ndim; d++) {
        if (t->dims[d] <= 0 || (uint64_t)t->dims[d] > CKPT_MAX_FILE / 4 / n) {
            snprintf(err, AURL_ERR_LEN, "%s: tensor '%s': bad or too large dimension %lld", path, t->name,
                     (long long)t->dims[d]);
            return -1;
        }
        n *= (uint64_t)t->dims[d];
    }
    if (!t->data) {
        snprintf(err, AURL_ERR_LEN, "%s: tensor '%s': no data", path, t->name);
        return -1;
    }
    *numel = (size_t)n;
    return 0;
}

/* The caller's metadata object plus the tensor table; NULL with err set. */
static char *build_header(const char *path, const char *header_json, const ckpt_tensor *tensors, int n_tensors,
                          const size_t *numel, const uint64_t *offsets, char err[AURL_ERR_LEN])
{
    cJSON *root = header_json && header_json[0] ? cJSON_Parse(header_json) : cJSON_CreateObject();
    if (!cJSON_IsObject(root)) {
        snprintf(err, AURL_ERR_LEN, "%s: checkpoint metadata is not a JSON object", path);
        cJSON_Delete(root);
        return NULL;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(root, "tensors");
    /* every addition is checked: a table missing an entry would be a
     * checkpoint that saves fine and cannot be loaded */
    cJSON *table = cJSON_AddArrayToObject(root, "tensors");
    int ok = table != NULL;
    for (int i = 0; ok && i < n_tensors; i++) {
        cJSON *e = cJSON_CreateObject(), *shape = NULL;
        ok = e && cJSON_AddItemToArray(table, e) && cJSON_AddStringToObject(e, "name", tensors[i].name) &&
             cJSON_AddStringToObject(e, "dtype", "f32") && (shape = cJSON_AddArrayToObject(e, "shape")) &&
             cJSON_AddNumberToObject(e, "offset", (double)offsets[i]) &&
             cJSON_AddNumberToObject(e, "nbytes", (double)numel[i] * 4.0);
        for (int d = 0; ok && d < tensors[i].ndim; d++)
            ok = cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)tensors[i].dims[d]));
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text) snprintf(err, AURL_ERR_LEN, "%s: out of memory building checkpoint header", path);
    return text;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* 1 if two of the N names are equal (sorted copy of the pointers). */
static int has_duplicate_names(const char **names, int n)
{
    qsort(names, (size_t)n, sizeof *names, cmp_str_ptr);
    for (int i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0) return 1;
    return 0;
}

int ckpt_save(const char *path, const char *header_json, const ckpt_tensor *tensors, int n_tensors,
              char err[AURL_ERR_LEN])
{
    if (n_tensors < 0 || (n_tensors > 0 && !tensors)) {
        snprintf(err, AURL_ERR_LEN, "%s: bad tensor list", path);
        return -1;
    }
    size_t nt = (size_t)n_tensors;
    size_t *numel = calloc(nt + 1, sizeof *numel);
    uint64_t *offsets = calloc(nt + 1, sizeof *offsets);
    const char **names = calloc(nt + 1, sizeof *names);
    char *text = NULL;
    int rc = -1;
    if (!numel || !offsets || !names) {
        snprintf(err, AURL_ERR_LEN, "%s: out of memory", path);
        goto done;
    }
    uint64_t data_len = 0;
    for (int i = 0; i < n_tensors; i++) {
        if (check_tensor_arg(path, &tensors[i], &numel[i], err) != 0) goto done;
        offsets[i] = data_len;
        data_len += align_up((uint64_t)numel[i] * 4);
        if (data_len > CKPT_MAX_FILE) {
            snprintf(err, AURL_ERR_LEN, "%s: checkpoint would exceed %llu bytes", path,
                     (unsigned long long)CKPT_MAX_FILE);
            goto done;
        }
        names[i] = tensors[i].name;
    }
    if (has_duplicate_names(names, n_tensors)) {
        snprintf(err, AURL_ERR_LEN, "%s: duplicate tensor name", path);
        goto done;
    }
    text = build_header(path, header_json, tensors, n_tensors, numel, offsets, err);
    if (!text) goto done;
    size_t hlen = strlen(text);
    uint64_t start = align_up(FIXED_LEN + (uint64_t)hlen);
    if (start + data_len + 4 > CKPT_MAX_FILE) {
        snprintf(err, AURL_ERR_LEN, "%s: checkpoint would exceed %llu bytes", path, (unsigned long long)CKPT_MAX_FILE);
        goto done;
    }

    ckpt_writer w = {.crc = 0, .failed = 0};
    if (file_atomic_open(&w.af, path, err) != 0) goto done;
    unsigned char fixed[FIXED_LEN];
    memcpy(fixed, MAGIC, 8);
    put_u32(fixed + 8, CKPT_VERSION);
    put_u32(fixed + 12, 0);
    put_u64(fixed + 16, hlen);
    put_u64(fixed + 24, data_len);
    w_bytes(&w, fixed, sizeof fixed);
    w_bytes(&w, text, hlen);
    w_zeros(&w, (size_t)(start - FIXED_LEN - hlen));
    for (int i = 0; i < n_tensors; i++) {
        w_floats(&w, tensors[i].data, numel[i]);
        w_zeros(&w, (size_t)(align_up((uint64_t)numel[i] * 4) - (uint64_t)numel[i] * 4));
    }
    unsigned char crc[4];
    put_u32(crc, w.crc);
    w_bytes(&w, crc, 4);
    if (w.failed) {
        snprintf(err, AURL_ERR_LEN, "%s: write failed: %s", path, strerror(w.failed));
        file_atomic_abort(&w.af);
        goto done;
    }
    rc = file_atomic_commit(&w.af, err);
done:
    cJSON_free(text);
    free(numel);
    free(offsets);
    free(names);
    return rc;
}

/* ---- reading ---- */

/* A JSON number that is an exact non-negative integer <= max. */
static int json_uint(const cJSON *item, uint64_t max, uint64_t *out)
{
    int64_t v;
    if (json_num_int(item, 0, (double)max, &v) != 0) return -1;
    *out = (uint64_t)v;
    return 0;
}

static int cmp_by_name(const void *a, const void *b)
{
    return strcmp((*(const ckpt_entry *const *)a)->name, (*(const ckpt_entry *const *)b)->name);
}

static int cmp_u64_pair(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Parse one tensor-table entry into E (name is malloc'd). */
static int parse_entry(const char *path, int i, const cJSON *e, uint64_t data_len, ckpt_entry *ent,
                       char err[AURL_ERR_LEN])
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
    if (!cJSON_IsObject(e) || !cJSON_IsString(name) || !name->valuestring[0] ||
        strlen(name->valuestring) > NAME_MAX_LEN) {
        snprintf(err, AURL_ERR_LEN, "%s: tensor table entry %d has no valid name", path, i);
        return -1;
    }
    const char *nm = name->valuestring;
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    if (!cJSON_IsString(dtype) || strcmp(dtype->valuestring, "f32") != 0) {
        snprintf(err, AURL_ERR_LEN, "%s: tensor '%.64s': unsupported dtype", path, nm);
        return -1;
    }
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    int ndim = cJSON_IsArray(shape) ? cJSON_GetArraySize(shape) : 0;
    if (ndim < 1 || ndim > CKPT_MAX_DIMS) {
        snprintf(err, AURL_ERR_LEN, "%s: tensor '%.64s': shape must have 1..%d dimensions", path, nm, CKPT_MAX_DIMS);
        return -1;
    }
    uint64_t numel = 1;
    const cJSON *dim;
    cJSON_ArrayForEach(dim, shape)
    {
        uint64_t d;
        if (json_uint(dim, data_len / 4, &d) != 0 || d == 0 || d > data_len / 4 / numel) {
            snprintf(err, AURL_ERR_LEN, "%s: tensor '%.64s': bad dimension (zero, not an integer, or larger than the data)",
                     path, nm);
            return -1;
        }
        numel *= d;
    }
    uint64_t off, nbytes;
    if (json_uint(cJSON_GetObjectItemCaseSensitive(e, "offset"), UINT64_MAX, &off) != 0 || off % CKPT_ALIGN != 0) {
        snprintf(err, AURL_ERR_LEN, "%s: tensor '%.64s': bad or unaligned offset", path, nm);
        return -1;
    }
    if (json_uint(cJSON_GetObjectItemCaseSensitive(e, "nbytes"), UINT64_MAX, &nbytes) != 0 || nbytes != numel * 4) {
        snprintf(err, AURL_ERR_LEN, "%s: tensor '%.64s': byte size does not match its shape", path, nm);
        return -1;
    }
    if (off > data_len || nbytes > data_len - off) {
        snprintf(err, AURL_ERR_LEN, "%s: tensor '%.64s' extends past the end of the data", path, nm);
        return -1;
    }
    ent->name = strdup(nm);
    if (!ent->name) {
        snprintf(err, AURL_ERR_LEN, "%s: out of memory", path);
        return -1;
    }
    ent->offset = off;
    ent->numel = (size_t)numel;
    return 0;
}

/* Parse and check the header JSON: fills f->ents, f->by_name, f->meta_json. */
static int parse_header(ckpt_file *f, const char *path, const char *json, size_t hlen, uint64_t data_len,
                        char err[AURL_ERR_LEN])
{
    cJSON *root = cJSON_ParseWithLength(json, hlen);
    int rc = -1;
    uint64_t *spans = NULL;
    if (!cJSON_IsObject(root)) {
        snprintf(err, AURL_ERR_LEN, "%s: checkpoint header is not a valid JSON object", path);
        goto done;
    }
    cJSON *table = cJSON_DetachItemFromObjectCaseSensitive(root, "tensors");
    if (!cJSON_IsArray(table)) {
        snprintf(err, AURL_ERR_LEN, "%s: checkpoint header has no tensor table", path);
        cJSON_Delete(table);
        goto done;
    }
    int n = cJSON_GetArraySize(table);
    f->ents = calloc((size_t)n + 1, sizeof *f->ents);
    f->by_name = calloc((size_t)n + 1, sizeof *f->by_name);
    spans = calloc(2 * (size_t)n + 2, sizeof *spans);
    if (!f->ents || !f->by_name || !spans) {
        snprintf(err, AURL_ERR_LEN, "%s: out of memory", path);
        cJSON_Delete(table);
        goto done;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, table)
    {
        if (parse_entry(path, f->n, e, data_len, &f->ents[f->n], err) != 0) break;
        spans[2 * f->n] = f->ents[f->n].offset;
        spans[2 * f->n + 1] = f->ents[f->n].offset + (uint64_t)f->ents[f->n].numel * 4;
        f->by_name[f->n] = &f->ents[f->n];
        f->n++;
    }
    cJSON_Delete(table);
    if (f->n != n) goto done;
    /* non-overlapping: sort [start, end) pairs by start */
    qsort(spans, (size_t)n, 2 * sizeof *spans, cmp_u64_pair);
    for (int i = 1; i < n; i++) {
        if (spans[2 * i] < spans[2 * i - 1]) {
            snprintf(err, AURL_ERR_LEN, "%s: tensors overlap in the data area", path);
            goto done;
        }
    }
    qsort(f->by_name, (size_t)n, sizeof *f->by_name, cmp_by_name);
    for (int i = 1; i < n; i++) {
        if (strcmp(f->by_name[i - 1]->name, f->by_name[i]->name) == 0) {
            snprintf(err, AURL_ERR_LEN, "%s: duplicate tensor name '%.64s'", path, f->by_name[i]->name);
            goto done;
        }
    }
    f->meta_json = cJSON_PrintUnformatted(root);
    if (!f->meta_json) {
        snprintf(err, AURL_ERR_LEN, "%s: out of memory", path);
        goto done;
    }
    rc = 0;
done:
    free(spans);
    cJSON_Delete(root);
    return rc;
}

int ckpt_open(const char *path, ckpt_file **out, char err[AURL_ERR_LEN])
{
    *out = NULL;
    ckpt_file *f = calloc(1, sizeof *f);
    if (f) f->path = strdup(path);
    if (!f || !f->path) {
        free(f);
        snprintf(err, AURL_ERR_LEN, "%s: out of memory", path);
        return -1;
    }
    size_t size;
    if (file_read_all(path, (size_t)CKPT_MAX_FILE, &f->buf, &size, err) != 0) {
        ckpt_close(f);
        return -1;
    }
    const unsigned char *b = f->buf;
    if (size < FIXED_LEN + 4 || memcmp(b, MAGIC, 8) != 0) {
        snprintf(err, AURL_ERR_LEN, "%s: not an aurl checkpoint (%s)", path,
                 size < FIXED_LEN + 4 ? "too short" : "bad magic");
        goto fail;
    }
    uint32_t version = get_u32(b + 8);
    if (version != CKPT_VERSION) {
        snprintf(err, AURL_ERR_LEN, "%s: checkpoint format version %u not supported (this build reads %d)", path,
                 version, CKPT_VERSION);
        goto fail;
    }
    uint64_t hlen = get_u64(b + 16), dlen = get_u64(b + 24);
    if (get_u32(b + 12) != 0 || hlen > size || dlen > size) {
        snprintf(err, AURL_ERR_LEN, "%s: bad checkpoint lengths (file truncated or damaged)", path);
        goto fail;
    }
    uint64_t start = align_up(FIXED_LEN + hlen);
    if (start + dlen + 4 != size) {
        snprintf(err, AURL_ERR_LEN, "%s: file size %zu does not match its header (expected %llu; truncated?)", path,
                 size, (unsigned long long)(start + dlen + 4));
        goto fail;
    }
    if (hash_crc32(0, b, (size_t)(start + dlen)) != get_u32(b + start + dlen)) {
        snprintf(err, AURL_ERR_LEN, "%s: CRC mismatch (file damaged)", path);
        goto fail;
    }
    if (parse_header(f, path, (const char *)b + FIXED_LEN, (size_t)hlen, dlen, err) != 0) goto fail;
    f->data = b + start;
    *out = f;
    return 0;
fail:
    ckpt_close(f);
    return -1;
}

void ckpt_close(ckpt_file *f)
{
    if (!f) return;
    for (int i = 0; i < f->n; i++) free(f->ents[i].name);
    free(f->ents);
    free(f->by_name);
    cJSON_free(f->meta_json);
    free(f->buf);
    free(f->path);
    free(f);
}

const char *ckpt_header_json(const ckpt_file *f) { return f->meta_json; }

/* Tensor NAME or NULL (binary search over the sorted name index). */
static const ckpt_entry *find_tensor(const ckpt_file *f, const char *name)
{
    int lo = 0, hi = f->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(f->by_name[mid]->name, name);
        if (c == 0) return f->by_name[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return NULL;
}

int ckpt_read_tensor(const ckpt_file *f, const char *name, float *dst, size_t numel, char err[AURL_ERR_LEN])
{
    const ckpt_entry *e = name ? find_tensor(f, name) : NULL;
    if (!e) {
        snprintf(err, AURL_ERR_LEN, "%s: no tensor '%.64s'", f->path, name ? name : "(null)");
        return -1;
    }
    if (e->numel != numel) {
        snprintf(err, AURL_ERR_LEN, "%s: tensor '%.64s' has %zu elements, expected %zu", f->path, name, e->numel,
                 numel);
        return -1;
    }
    copy_le_floats(dst, f->data + e->offset, numel);
    return 0;
}

int ckpt_n_tensors(const ckpt_file *f) { return f->n; }

const char *ckpt_tensor_name(const ckpt_file *f, int i) { return i >= 0 && i < f->n ? f->ents[i].name : NULL; }

size_t ckpt_tensor_numel(const ckpt_file *f, int i) { return i >= 0 && i < f->n ? f->ents[i].numel : 0; }
