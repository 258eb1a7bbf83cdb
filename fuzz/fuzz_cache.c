/* fuzz_cache: libFuzzer target for the token cache (<data>/cache). An input
 * is a little-endian u32 L, then L bytes of index.json, then tokens.bin (L is
 * clipped to what is there). Each input is tried as-is, then with the
 * checksums fixed up (tokens.bin's count from its size; the index's
 * tokens_count, tokens_crc32 and files_crc32 recomputed) so mutations reach
 * the per-entry checks. cache_open must fail cleanly or give entries that
 * are consistent: safe relative paths in strictly increasing order, and
 * token ranges START..END inside tokens.bin for accepted files. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/cache.h"
#include "data/tokenizer.h"
#include "fuzz_tmp.h"
#include "util/hash.h"
#include "util/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_quiet(1);
    return 0;
}

static void check_cache(const cache *c)
{
    size_t n = cache_n_entries(c), total = cache_n_tokens(c), sum = 0;
    for (size_t i = 0; i < n; i++) {
        const cache_entry *e = cache_entry_at(c, i);
        if (!e->path || !e->path[0] || e->path[0] == '/' || strstr(e->path, "//") ||
            (i > 0 && strcmp(cache_entry_at(c, i - 1)->path, e->path) >= 0) || !e->reject_reason)
            abort();
        if (e->split == CACHE_REJECTED) {
            if (!e->reject_reason[0]) abort();
            continue;
        }
        if (e->split != CACHE_TRAIN && e->split != CACHE_VAL) abort();
        if (!e->tokens || e->n_tokens < 2 || e->n_tokens > total || e->tokens[0] != TOK_START ||
            e->tokens[e->n_tokens - 1] != TOK_END || !(e->duration >= 0))
            abort();
        for (size_t k = 0; k < e->n_tokens; k++) sum += e->tokens[k]; /* every token readable */
    }
    (void)sum;
}

static void try_cache(const char *dir, const uint8_t *index, size_t ilen, const uint8_t *tokens, size_t tlen)
{
    char cdir[1024], path[1024], err[AURL_ERR_LEN];
    snprintf(cdir, sizeof cdir, "%s/cache", dir);
    fuzz_tmp_rm(cdir);
    if (mkdir(cdir, 0700) != 0) abort();
    fuzz_tmp_write(cdir, "index.json", index, ilen, path, sizeof path);
    fuzz_tmp_write(cdir, "tokens.bin", tokens, tlen, path, sizeof path);
    cache *c;
    if (cache_open(dir, &c, err) == 0) {
        check_cache(c);
        cache_close(c);
    }
}

/* Replace (or add) number KEY of object O. */
static void set_number(cJSON *o, const char *key, double v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    cJSON_AddNumberToObject(o, key, v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t ilen = 0;
    if (size >= 4) ilen = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
    const uint8_t *index = size >= 4 ? data + 4 : data;
    size_t rest = size >= 4 ? size - 4 : 0;
    if (ilen > rest) ilen = (uint32_t)rest;
    const uint8_t *tokens = index + ilen;
    size_t tlen = rest - ilen;

    char dir[512];
    fuzz_tmp_dir(dir, sizeof dir);
    try_cache(dir, index, ilen, tokens, tlen);

    /* fixed-up variant */
    uint8_t *tok = malloc(tlen + 1);
    if (!tok) abort();
    memcpy(tok, tokens, tlen);
    if (tlen >= 24) {
        uint64_t count = (tlen - 24) / 2;
        tlen = 24 + 2 * count;
        memcpy(tok + 16, &count, 8);
    }
    cJSON *root = cJSON_ParseWithLength((const char *)index, ilen);
    if (cJSON_IsObject(root)) {
        size_t nt = tlen >= 24 ? (tlen - 24) / 2 : 0;
        set_number(root, "tokens_count", (double)nt);
        set_number(root, "tokens_crc32", hash_crc32(0, tlen >= 24 ? tok + 24 : tok, nt * 2));
        const cJSON *files = cJSON_GetObjectItemCaseSensitive(root, "files");
        char *ft = files ? cJSON_PrintUnformatted(files) : NULL;
        if (ft) set_number(root, "files_crc32", hash_crc32(0, ft, strlen(ft)));
        free(ft);
        char *text = cJSON_PrintUnformatted(root);
        if (text) try_cache(dir, (const uint8_t *)text, strlen(text), tok, tlen);
        free(text);
    }
    cJSON_Delete(root);
    free(tok);
    fuzz_tmp_rm(dir);
    return 0;
}
