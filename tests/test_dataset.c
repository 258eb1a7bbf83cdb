/* Tests of src/data/dataset: windows, strides, padding, the seeded resumable
 * shuffle, batches per epoch, targets = inputs shifted by one, identity
 * augmentation, unigram counts, datasets over token sequences. The cache
 * is written by hand (tokens.bin + index.json) so token counts are exact;
 * this also pins the cache format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "data/augment.h"
#include "data/cache.h"
#include "data/dataset.h"
#include "data/tokenizer.h"
#include "util/fileio.h"
#include "util/hash.h"
#include "testutil.h"

typedef struct {
    const char *path;
    const char *split;
    size_t n;      /* tokens: START, n-2 body tokens, END */
    uint16_t base; /* body token i = base + i % 50 (NOTE_ON range) */
    const uint16_t *explicit_tokens; /* if set: the n tokens, verbatim */
} fake_file;

static const char *g_dir; /* data dir of the cache write_cache made last */

/* Write a cache with FILES (in path order) under a fresh data dir in the
 * temp dir. */
static cache *write_cache(const fake_file *files, size_t nf)
{
    static int n_dirs;
    char name[32];
    snprintf(name, sizeof name, "data%d", n_dirs++);
    g_dir = testutil_path(name);
    char cdir[512], path[600], err[AURL_ERR_LEN];
    snprintf(cdir, sizeof cdir, "%s/cache", g_dir);
    assert_int_equal(file_mkdirs(cdir, err), 0);
    size_t total = 0;
    for (size_t f = 0; f < nf; f++) total += files[f].n;
    size_t bytes = 24 + total * 2;
    uint8_t *buf = calloc(1, bytes);
    memcpy(buf, "AURLTOK", 8);
    uint32_t version = TOK_VERSION, hsize = 24;
    uint64_t count = total;
    memcpy(buf + 8, &version, 4);
    memcpy(buf + 12, &hsize, 4);
    memcpy(buf + 16, &count, 8);
    uint16_t *tok = (uint16_t *)(buf + 24);
    char *json = malloc(4096 + nf * 256);
    size_t off = 0;
    int jl = 0;
    for (size_t f = 0; f < nf; f++) {
        uint16_t *t = tok + off;
        if (files[f].explicit_tokens) {
            memcpy(t, files[f].explicit_tokens, files[f].n * 2);
            off += files[f].n;
            continue;
        }
        t[0] = TOK_START;
        for (size_t i = 1; i + 1 < files[f].n; i++) t[i] = (uint16_t)(files[f].base + (i - 1) % 50);
        t[files[f].n - 1] = TOK_END;
        if (files[f].n > 10) t[5] = TOK_INSTRUMENT + 4; /* bass from token 5 on */
        off += files[f].n;
    }
    uint32_t crc = hash_crc32(0, tok, total * 2);
    jl += sprintf(json + jl, "{\"version\":1,\"vocab_version\":%d,\"tokens_crc32\":%u,"
                  "\"tokens_count\":%zu,\"files\":[", TOK_VERSION, crc, total);
    off = 0;
    for (size_t f = 0; f < nf; f++) {
        jl += sprintf(json + jl, "%s{\"path\":\"%s\",\"size\":100,\"mtime\":1,"
                      "\"hash\":\"0123456789abcdef\",\"split\":\"%s\",\"offset\":%zu,"
                      "\"count\":%zu,\"duration\":1.5,\"notes\":3}",
                      f ? "," : "", files[f].path, files[f].split, off, files[f].n);
        off += files[f].n;
    }
    jl += sprintf(json + jl, "]}");
    snprintf(path, sizeof path, "%s/tokens.bin", cdir);
    assert_int_equal(file_write_atomic(path, buf, bytes, err), 0);
    /* the index's own checksum: CRC-32 of the compact "files" array */
    cJSON *root = cJSON_Parse(json);
    assert_non_null(root);
    char *ftext = cJSON_PrintUnformatted(cJSON_GetObjectItem(root, "files"));
    cJSON_AddNumberToObject(root, "files_crc32", hash_crc32(0, ftext, strlen(ftext)));
    char *text = cJSON_Print(root);
    snprintf(path, sizeof path, "%s/index.json", cdir);
    assert_int_equal(file_write_atomic(path, text, strlen(text), err), 0);
    free(ftext);
    free(text);
    cJSON_Delete(root);
    free(buf);
    free(json);
    cache *c;
    if (cache_open(g_dir, &c, err)) fail_msg("cache_open: %s", err);
    return c;
}

static void cleanup(cache *c)
{
    cache_close(c);
    assert_int_equal(testutil_rm_rf(g_dir), 0);
}

static const fake_file FILES[] = {
    {"a.mid", "train", 100, TOK_NOTE_ON, NULL},
    {"b.mid", "train", 10, TOK_NOTE_ON + 20, NULL},
    {"c.mid", "val", 40, TOK_NOTE_OFF, NULL},
    {"d.mid", "val", 17, TOK_NOTE_OFF + 5, NULL},
};

static void test_windows_strides_padding(void **state)
{
    (void)state;
    cache *c = write_cache(FILES, 4);
    char err[AURL_ERR_LEN];
    dataset *d;
    /* T=16 -> windows of 17; a.mid (100): starts 0,8,..,80 = 11, plus tail at 83;
     * b.mid (10): one padded window */
    assert_int_equal(dataset_open(&d, c, CACHE_TRAIN, 16, 8, err), 0);
    assert_int_equal(dataset_n_windows(d), 13);
    const cache_entry *a = cache_entry_at(c, 0), *b = cache_entry_at(c, 1);
    int32_t in[16], tg[16];
    for (size_t k = 0; k < 12; k++) {
        size_t start = k < 11 ? k * 8 : 83;
        dataset_get_batch(d, 1, 42, 0, k, 0, NULL, in, tg);
        for (int i = 0; i < 16; i++) {
            assert_int_equal(in[i], a->tokens[start + (size_t)i]);
            assert_int_equal(tg[i], a->tokens[start + (size_t)i + 1]);
        }
    }
    assert_int_equal(tg[15], TOK_END); /* the tail window ends at END */
    dataset_get_batch(d, 1, 42, 0, 12, 0, NULL, in, tg);
    for (int i = 0; i < 16; i++) {
        assert_int_equal(in[i], i < 10 ? b->tokens[i] : TOK_PAD);
        assert_int_equal(tg[i], i < 9 ? b->tokens[i + 1] : TOK_PAD);
    }
    /* the identity augmentation gives the same rows, padding included */
    augment_config none;
    augment_config_none(&none);
    int32_t in2[16], tg2[16];
    for (size_t k = 11; k < 13; k++) {
        dataset_get_batch(d, 1, 42, 0, k, 0, NULL, in, tg);
        dataset_get_batch(d, 1, 42, 0, k, 0, &none, in2, tg2);
        assert_memory_equal(in, in2, sizeof in);
        assert_memory_equal(tg, tg2, sizeof tg);
    }
    dataset_close(d);

    /* stride = T+1: non-overlapping; (100-17)%17 != 0 so a tail window too */
    assert_int_equal(dataset_open(&d, c, CACHE_TRAIN, 16, 17, err), 0);
    assert_int_equal(dataset_n_windows(d), 5 + 1 + 1);
    dataset_close(d);
    /* val split: c (40, T=19 -> 20: starts 0,10,20 exact, no tail) + d (17: padded) */
    assert_int_equal(dataset_open(&d, c, CACHE_VAL, 19, 10, err), 0);
    assert_int_equal(dataset_n_windows(d), 4);
    dataset_close(d);
    /* bad arguments */
    assert_int_equal(dataset_open(&d, c, CACHE_TRAIN, 0, 8, err), -1);
    assert_int_equal(dataset_open(&d, c, CACHE_TRAIN, 16, 0, err), -1);
    assert_int_equal(dataset_open(&d, c, CACHE_REJECTED, 16, 8, err), -1);
    cleanup(c);
}

/* The window arithmetic every dataset uses, and datasets over token
 * sequences that are not in a cache: the same windows and batches as the
 * cache's val split made of the same tokens. */
static void test_seq_windows(void **state)
{
    (void)state;
    /* T=16 (windows of 17), stride 8: 100 tokens -> starts 0..80, tail at 83 */
    assert_int_equal(dataset_seq_n_windows(100, 16, 8), 12);
    assert_int_equal(dataset_seq_window_start(100, 16, 8, 10), 80);
    assert_int_equal(dataset_seq_window_start(100, 16, 8, 11), 83);
    /* an exact fit has no tail; a short sequence gives one window at 0 */
    assert_int_equal(dataset_seq_n_windows(97, 16, 8), 11);
    assert_int_equal(dataset_seq_window_start(97, 16, 8, 10), 80);
    assert_int_equal(dataset_seq_n_windows(17, 16, 8), 1);
    assert_int_equal(dataset_seq_n_windows(5, 16, 8), 1);
    assert_int_equal(dataset_seq_window_start(5, 16, 8, 0), 0);
    assert_int_equal(dataset_seq_n_windows(0, 16, 8), 1);

    cache *c = write_cache(FILES, 4);
    char err[AURL_ERR_LEN];
    dataset_seq seqs[3] = {{NULL, 0}};
    size_t ns = 0;
    for (size_t i = 0; i < cache_n_entries(c); i++) {
        const cache_entry *e = cache_entry_at(c, i);
        if (e->split == CACHE_VAL) seqs[ns++] = (dataset_seq){e->tokens, e->n_tokens};
    }
    assert_int_equal(ns, 2);
    seqs[ns++] = (dataset_seq){NULL, 0}; /* empty: skipped */
    dataset *dv, *ds;
    assert_int_equal(dataset_open(&dv, c, CACHE_VAL, 12, 12, err), 0);
    assert_int_equal(dataset_open_seqs(&ds, seqs, ns, 12, 12, err), 0);
    assert_int_equal(dataset_n_windows(ds), dataset_n_windows(dv));
    assert_int_equal(dataset_n_windows(ds),
                     dataset_seq_n_windows(seqs[0].n, 12, 12) + dataset_seq_n_windows(seqs[1].n, 12, 12));
    assert_int_equal(dataset_seq_len(ds), 12);
    assert_int_equal(dataset_batches_per_epoch(ds, 4), dataset_batches_per_epoch(dv, 4));
    int32_t in1[4 * 12], tg1[4 * 12], in2[4 * 12], tg2[4 * 12];
    for (size_t b = 0; b < dataset_batches_per_epoch(ds, 4); b++) {
        dataset_get_batch(dv, 4, 0, 0, b, 0, NULL, in1, tg1);
        dataset_get_batch(ds, 4, 0, 0, b, 0, NULL, in2, tg2);
        assert_memory_equal(in1, in2, sizeof in1);
        assert_memory_equal(tg1, tg2, sizeof tg1);
    }
    /* c (40 tokens): 4 windows, d (17): 2, so batch 1 ends in 2 PAD rows */
    assert_int_equal(dataset_batches_per_epoch(ds, 4), 2);
    assert_int_equal(in2[3 * 12], TOK_PAD);
    assert_int_equal(tg2[4 * 12 - 1], TOK_PAD);
    dataset_close(dv);
    dataset_close(ds);
    /* no tokens at all, bad arguments */
    ds = (dataset *)1;
    assert_int_equal(dataset_open_seqs(&ds, seqs + 2, 1, 12, 12, err), -1);
    assert_null(ds);
    assert_int_equal(dataset_open_seqs(&ds, seqs, 2, 0, 12, err), -1);
    cleanup(c);
}

static void test_no_windows_is_an_error(void **state)
{
    (void)state;
    static const fake_file only_train[] = {{"a.mid", "train", 30, TOK_NOTE_ON, NULL}};
    cache *c = write_cache(only_train, 1);
    char err[AURL_ERR_LEN];
    dataset *d = (dataset *)1;
    assert_int_equal(dataset_open(&d, c, CACHE_VAL, 8, 4, err), -1);
    assert_null(d);
    assert_non_null(strstr(err, "val"));
    char where[700];
    snprintf(where, sizeof where, "%s/cache: ", g_dir); /* names the cache */
    assert_non_null(strstr(err, where));
    cleanup(c);
}

static void test_shuffle_is_seeded_permutation(void **state)
{
    (void)state;
    static const fake_file big[] = {{"big.mid", "train", 3000, TOK_NOTE_ON, NULL}};
    cache *c = write_cache(big, 1);
    char err[AURL_ERR_LEN];
    dataset *d;
    assert_int_equal(dataset_open(&d, c, CACHE_TRAIN, 8, 3, err), 0);
    size_t n = dataset_n_windows(d);
    assert_true(n > 900);
    unsigned char *seen = calloc(n, 1);
    size_t *p0 = malloc(n * sizeof *p0), fixed = 0, same_other_epoch = 0, same_other_seed = 0;
    for (size_t i = 0; i < n; i++) {
        size_t w = dataset_window_at(d, 7, 3, i, 1);
        assert_true(w < n);
        assert_int_equal(seen[w], 0);
        seen[w] = 1;
        p0[i] = w;
        fixed += w == i;
        assert_int_equal(dataset_window_at(d, 7, 3, i, 1), w); /* reproducible */
        same_other_epoch += dataset_window_at(d, 7, 4, i, 1) == w;
        same_other_seed += dataset_window_at(d, 8, 3, i, 1) == w;
        assert_int_equal(dataset_window_at(d, 7, 3, i, 0), i); /* no shuffle: in order */
    }
    /* a random permutation has ~1 fixed point and agrees with another in ~1 place */
    assert_true(fixed < 20);
    assert_true(same_other_epoch < 20);
    assert_true(same_other_seed < 20);
    free(seen);
    free(p0);
    dataset_close(d);

    /* tiny sizes are permutations too */
    static const fake_file small[] = {{"s.mid", "train", 14, TOK_NOTE_ON, NULL}};
    for (int T = 1; T <= 12; T++) {
        cleanup(c);
        c = write_cache(small, 1);
        assert_int_equal(dataset_open(&d, c, CACHE_TRAIN, T, 1, err), 0);
        size_t m = dataset_n_windows(d);
        unsigned mask = 0;
        for (size_t i = 0; i < m; i++) mask |= 1u << dataset_window_at(d, 99, 1, i, 1);
        assert_int_equal(mask, (1u << m) - 1);
        dataset_close(d);
    }
    cleanup(c);
}

static void test_batches_resumable_and_cover_epoch(void **state)
{
    (void)state;
    cache *c = write_cache(FILES, 4);
    char err[AURL_ERR_LEN];
    dataset *d;
    enum { B = 4, T = 16 };
    assert_int_equal(dataset_open(&d, c, CACHE_TRAIN, T, 8, err), 0);
    size_t n = dataset_n_windows(d), nb = dataset_batches_per_epoch(d, B);
    assert_int_equal(nb, n / B); /* 13 windows -> 3 whole batches */
    int32_t in[B * T], tg[B * T], in2[B * T], tg2[B * T];
    /* batch k of epoch e, computed cold, equals the same batch after others */
    dataset_get_batch(d, B, 5, 2, 2, 1, NULL, in, tg);
    for (size_t k = 0; k < nb; k++) dataset_get_batch(d, B, 5, 1, k, 1, NULL, in2, tg2);
    dataset_get_batch(d, B, 5, 2, 2, 1, NULL, in2, tg2);
    assert_memory_equal(in, in2, sizeof in);
    assert_memory_equal(tg, tg2, sizeof tg);
    /* targets are the inputs shifted by one within each row */
    for (int r = 0; r < B; r++)
        for (int i = 0; i + 1 < T; i++) assert_int_equal(tg[r * T + i], in[r * T + i + 1]);
    /* rows of one epoch's batches are distinct windows (first token + position differ) */
    size_t used[16] = {0}, nu = 0;
    for (size_t k = 0; k < nb; k++)
        for (int r = 0; r < B; r++) {
            size_t w = dataset_window_at(d, 5, 2, k * B + (size_t)r, 1);
            for (size_t u = 0; u < nu; u++) assert_int_not_equal(used[u], w);
            used[nu++] = w;
        }
    /* identity augmentation changes nothing */
    augment_config none;
    augment_config_none(&none);
    dataset_get_batch(d, B, 5, 2, 2, 1, &none, in2, tg2);
    assert_memory_equal(in, in2, sizeof in);
    assert_memory_equal(tg, tg2, sizeof tg);
    dataset_close(d);

    /* val: every window once, last batch padded with PAD rows */
    assert_int_equal(dataset_open(&d, c, CACHE_VAL, T, 8, err), 0);
    size_t nv = dataset_n_windows(d); /* c: 0,8,16 + tail 23 = 4; d: 1 */
    assert_int_equal(nv, 5);
    assert_int_equal(dataset_batches_per_epoch(d, B), 2);
    dataset_get_batch(d, B, 5, 0, 1, 0, NULL, in, tg);
    assert_int_equal(in[0], TOK_START); /* d.mid's window */
    for (int r = 1; r < B; r++)
        for (int i = 0; i < T; i++) {
            assert_int_equal(in[r * T + i], TOK_PAD);
            assert_int_equal(tg[r * T + i], TOK_PAD);
        }
    dataset_close(d);

    /* fewer train windows than B: one batch that repeats windows */
    static const fake_file one[] = {{"a.mid", "train", 12, TOK_NOTE_ON, NULL}};
    cleanup(c);
    c = write_cache(one, 1);
    assert_int_equal(dataset_open(&d, c, CACHE_TRAIN, T, 8, err), 0);
    assert_int_equal(dataset_batches_per_epoch(d, B), 1);
    dataset_get_batch(d, B, 1, 0, 0, 1, NULL, in, tg);
    for (int r = 1; r < B; r++) assert_memory_equal(in, in + r * T, T * sizeof *in);
    dataset_close(d);
    cleanup(c);
}

static void test_unigram(void **state)
{
    (void)state;
    cache *c = write_cache(FILES, 4);
    double p[TOK_VOCAB_SIZE];
    uint64_t counts[TOK_VOCAB_SIZE];
    dataset_token_counts(c, CACHE_TRAIN, counts);
    assert_int_equal(counts[TOK_START], 2);
    assert_int_equal(counts[TOK_END], 2);
    assert_int_equal(counts[TOK_INSTRUMENT + 4], 1); /* only a.mid is long enough */
    dataset_token_unigram(c, CACHE_TRAIN, p);
    double sum = 0;
    for (int t = 0; t < TOK_VOCAB_SIZE; t++) sum += p[t];
    assert_float_equal(sum, 1.0, 1e-9);
    assert_float_equal(p[TOK_START], 2.0 / 110.0, 1e-12);
    assert_float_equal(p[TOK_NOTE_OFF], 0.0, 0); /* val-only token */
    dataset_token_unigram(c, CACHE_REJECTED, p); /* all accepted files */
    assert_float_equal(p[TOK_START], 4.0 / 167.0, 1e-12);
    cleanup(c);
}

/* The instrument current at a window's start reaches augmentation: drums
 * (INSTRUMENT 15 before the window) are not transposed, piano is. */
static void test_augment_sees_start_instrument(void **state)
{
    (void)state;
    enum { N = 202, T = 15 };
    uint16_t drums[N], piano[N];
    drums[0] = piano[0] = TOK_START;
    drums[1] = TOK_INSTRUMENT + 15;
    piano[1] = TOK_INSTRUMENT + 0;
    for (int i = 2; i < N - 1; i++) {
        int k = (i - 2) % 4, p = 40 + ((i - 2) / 4) % 20;
        uint16_t t = k == 0 ? TOK_NOTE_ON + p - TOK_PITCH_MIN
                     : k == 2 ? TOK_NOTE_OFF + p - TOK_PITCH_MIN : TOK_TIME_SHIFT + 3;
        drums[i] = piano[i] = t;
    }
    drums[N - 1] = piano[N - 1] = TOK_END;
    for (int which = 0; which < 2; which++) {
        fake_file f[] = {{"x.mid", "train", N, 0, which ? piano : drums}};
        cache *c = write_cache(f, 1);
        char err[AURL_ERR_LEN];
        dataset *d;
        assert_int_equal(dataset_open(&d, c, CACHE_TRAIN, T, 8, err), 0);
        augment_config cfg;
        augment_config_none(&cfg);
        cfg.transpose_p = 1;
        cfg.transpose_max = 5;
        int32_t in[T], tg[T], in0[T], tg0[T];
        size_t changed = 0;
        /* batches 1.. start after the INSTRUMENT token */
        for (size_t k = 1; k < dataset_n_windows(d); k++) {
            dataset_get_batch(d, 1, 3, 0, k, 0, &cfg, in, tg);
            dataset_get_batch(d, 1, 3, 0, k, 0, NULL, in0, tg0);
            changed += memcmp(in, in0, sizeof in) != 0;
        }
        if (which == 0) assert_int_equal(changed, 0);
        else assert_int_equal(changed, dataset_n_windows(d) - 1);
        dataset_close(d);
        cleanup(c);
    }
}

/* dataset_open_vocab v2 over the real cache: its sequences are the
 * transcoded files (same count, START..END each), the windows read them,
 * and the unigram of the sequences sums to 1 with no v1-only token left. */
static void test_v2_dataset_of_real_cache(void **state)
{
    (void)state;
    char err[AURL_ERR_LEN];
    cache *c;
    if (cache_ensure("data", 0, NULL, NULL, &c, err) != 0) fail_msg("%s", err);
    dataset *d1, *d2;
    assert_int_equal(dataset_open(&d1, c, CACHE_TRAIN, 64, 64, err), 0);
    assert_int_equal(dataset_open_vocab(&d2, c, CACHE_TRAIN, 64, 64, TOK_VOCAB_V2, err), 0);
    assert_int_equal(dataset_vocab(d2), TOK_VOCAB_V2);
    size_t n1, n2;
    const dataset_seq *s1 = dataset_sequences(d1, &n1), *s2 = dataset_sequences(d2, &n2);
    assert_int_equal(n1, n2);
    size_t t1 = 0, t2 = 0;
    for (size_t i = 0; i < n2; i++) {
        uint16_t *want;
        size_t nw;
        assert_int_equal(tok_transcode(s1[i].tokens, s1[i].n, TOK_VOCAB_V2, &want, &nw), 0);
        assert_int_equal(s2[i].n, nw);
        assert_memory_equal(s2[i].tokens, want, nw * sizeof *want);
        assert_int_equal(s2[i].tokens[0], TOK_START);
        assert_int_equal(s2[i].tokens[nw - 1], TOK_END);
        free(want);
        t1 += s1[i].n;
        t2 += s2[i].n;
    }
    assert_true(t2 < t1); /* no NOTE_OFFs, fewer TIME_SHIFTs */
    assert_true(dataset_n_windows(d2) < dataset_n_windows(d1));
    int32_t in[64], tg[64];
    dataset_get_batch(d2, 1, 1, 0, 0, 0, NULL, in, tg);
    for (int i = 0; i < 64; i++) assert_int_equal(in[i], s2[0].n > (size_t)i ? s2[0].tokens[i] : TOK_PAD);
    double *p = calloc(TOK_VOCAB_SIZE, sizeof *p);
    assert_non_null(p);
    dataset_seqs_unigram(s2, n2, p);
    double sum = 0;
    for (int t = 0; t < TOK_VOCAB_SIZE; t++) sum += p[t];
    assert_true(fabs(sum - 1) < 1e-9);
    assert_true(p[TOK_DURATION] > 0);
    free(p);
    dataset_close(d1);
    dataset_close(d2);
    cache_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_windows_strides_padding),
        cmocka_unit_test(test_seq_windows),
        cmocka_unit_test(test_no_windows_is_an_error),
        cmocka_unit_test(test_shuffle_is_seeded_permutation),
        cmocka_unit_test(test_batches_resumable_and_cover_epoch),
        cmocka_unit_test(test_unigram),
        cmocka_unit_test(test_augment_sees_start_instrument),
        cmocka_unit_test(test_v2_dataset_of_real_cache),
    };
    return cmocka_run_group_tests(tests, testutil_tmpdir_setup, testutil_tmpdir_teardown);
}
