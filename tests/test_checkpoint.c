/* Tests of engine/checkpoint: bit-exact round trip, and every kind of
 * damage (truncation, flipped bytes, crafted-but-CRC-valid bad headers,
 * empty files, directories) rejected with a message naming the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/model/checkpoint.h"
#include "util/hash.h"
#include "testutil.h"

/* ckpt_open must fail and name the file. */
static void expect_rejected(const char *path)
{
    ckpt_file *f = (ckpt_file *)1;
    char err[AURL_ERR_LEN] = "";
    int rc = ckpt_open(path, &f, err);
    if (rc != -1) fail_msg("%s was accepted", path);
    assert_null(f);
    assert_non_null(strstr(err, path));
}

/* Three tensors with awkward float bit patterns (NaN payloads, -0, denormals). */
#define N_A 6
#define N_B (3 * 5 * 7)
#define N_C 1
static float ta[N_A], tb[N_B], tc[N_C];

static void fill_tensors(void)
{
    srand(7);
    for (int i = 0; i < N_A; i++) ta[i] = (float)((double)rand() / RAND_MAX) - 0.5f;
    for (int i = 0; i < N_B; i++) {
        uint32_t bits = ((uint32_t)rand() << 16) ^ (uint32_t)rand();
        memcpy(&tb[i], &bits, 4);
    }
    uint32_t nan_bits = 0x7fc01234u, negzero = 0x80000000u, denorm = 0x00000001u;
    memcpy(&tb[0], &nan_bits, 4);
    memcpy(&tb[1], &negzero, 4);
    memcpy(&tb[2], &denorm, 4);
    tc[0] = INFINITY;
}

static int save_sample(const char *path, char err[AURL_ERR_LEN])
{
    fill_tensors();
    ckpt_tensor t[3] = {
        {.name = "embed.weight", .ndim = 2, .dims = {2, 3}, .data = ta},
        {.name = "blocks.0.attn.qkv", .ndim = 3, .dims = {3, 5, 7}, .data = tb},
        {.name = "scalar", .ndim = 1, .dims = {1}, .data = tc},
    };
    return ckpt_save(path, "{\"stage\":2,\"step\":12345,\"rng\":[1,2,3],\"config\":{\"d_model\":256}}", t, 3, err);
}

static void test_round_trip(void **state)
{
    (void)state;
    const char *path = testutil_path("rt.ckpt");
    char err[AURL_ERR_LEN];
    assert_int_equal(save_sample(path, err), 0);
    ckpt_file *f;
    if (ckpt_open(path, &f, err) != 0) fail_msg("%s", err);
    assert_int_equal(ckpt_n_tensors(f), 3);
    assert_string_equal(ckpt_tensor_name(f, 0), "embed.weight");
    assert_string_equal(ckpt_tensor_name(f, 1), "blocks.0.attn.qkv");
    assert_string_equal(ckpt_tensor_name(f, 2), "scalar");
    assert_int_equal(ckpt_tensor_numel(f, 1), N_B);
    assert_null(ckpt_tensor_name(f, 3));
    const char *meta = ckpt_header_json(f);
    assert_non_null(strstr(meta, "\"step\":12345"));
    assert_non_null(strstr(meta, "\"d_model\":256"));
    assert_null(strstr(meta, "tensors"));

    float a[N_A], b[N_B], c[N_C];
    assert_int_equal(ckpt_read_tensor(f, "embed.weight", a, N_A, err), 0);
    assert_int_equal(ckpt_read_tensor(f, "blocks.0.attn.qkv", b, N_B, err), 0);
    assert_int_equal(ckpt_read_tensor(f, "scalar", c, N_C, err), 0);
    assert_memory_equal(a, ta, sizeof a);
    assert_memory_equal(b, tb, sizeof b); /* bit-exact, NaN payload included */
    assert_memory_equal(c, tc, sizeof c);
    /* wrong element count and unknown names fail, naming the file */
    assert_int_equal(ckpt_read_tensor(f, "embed.weight", a, N_A - 1, err), -1);
    assert_non_null(strstr(err, "rt.ckpt"));
    assert_int_equal(ckpt_read_tensor(f, "nope", a, N_A, err), -1);
    assert_non_null(strstr(err, "nope"));
    ckpt_close(f);

    /* the data really is little-endian float32 at a 64-aligned offset */
    size_t len;
    unsigned char *raw = testutil_read_file(path, &len);
    assert_memory_equal(raw, "AURLCKPT", 8);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | raw[16 + i];
    size_t start = (size_t)((32 + hlen + 63) / 64 * 64);
    uint32_t first;
    memcpy(&first, &ta[0], 4);
    assert_int_equal(raw[start] | raw[start + 1] << 8 | raw[start + 2] << 16 | (uint32_t)raw[start + 3] << 24, first);
    free(raw);

    /* saving over an existing checkpoint replaces it; no temp files remain */
    assert_int_equal(save_sample(path, err), 0);
    assert_int_equal(testutil_count_files("", 0), 1);
}

static void test_empty_and_metadata(void **state)
{
    (void)state;
    const char *path = testutil_path("empty.ckpt");
    char err[AURL_ERR_LEN];
    /* no tensors, NULL metadata; a caller "tensors" key is replaced */
    assert_int_equal(ckpt_save(path, NULL, NULL, 0, err), 0);
    ckpt_file *f;
    assert_int_equal(ckpt_open(path, &f, err), 0);
    assert_int_equal(ckpt_n_tensors(f), 0);
    assert_string_equal(ckpt_header_json(f), "{}");
    ckpt_close(f);
    float x[2] = {1, 2};
    ckpt_tensor t = {.name = "x", .ndim = 1, .dims = {2}, .data = x};
    assert_int_equal(ckpt_save(path, "{\"tensors\":\"fake\",\"k\":1}", &t, 1, err), 0);
    assert_int_equal(ckpt_open(path, &f, err), 0);
    assert_string_equal(ckpt_header_json(f), "{\"k\":1}");
    assert_int_equal(ckpt_n_tensors(f), 1);
    ckpt_close(f);
    unlink(path);
}

static void test_save_rejects_bad_arguments(void **state)
{
    (void)state;
    const char *path = testutil_path("bad.ckpt");
    char err[AURL_ERR_LEN];
    float x[4] = {0};
    ckpt_tensor t[2] = {{.name = "a", .ndim = 1, .dims = {4}, .data = x},
                        {.name = "a", .ndim = 1, .dims = {4}, .data = x}};
    assert_int_equal(ckpt_save(path, "{}", t, 2, err), -1); /* duplicate */
    assert_non_null(strstr(err, "duplicate"));
    t[1].name = "b";
    t[1].ndim = 0;
    assert_int_equal(ckpt_save(path, "{}", t, 2, err), -1);
    t[1].ndim = 5;
    assert_int_equal(ckpt_save(path, "{}", t, 2, err), -1);
    t[1].ndim = 1;
    t[1].dims[0] = 0;
    assert_int_equal(ckpt_save(path, "{}", t, 2, err), -1);
    t[1].dims[0] = 4;
    assert_int_equal(ckpt_save(path, "[1,2]", t, 2, err), -1); /* metadata not an object */
    assert_int_equal(ckpt_save(path, "{broken", t, 2, err), -1);
    assert_non_null(strstr(err, "bad.ckpt"));
    assert_int_equal(access(path, F_OK), -1); /* nothing written */
    assert_int_equal(ckpt_save(path, "{}", t, 2, err), 0);
    unlink(path);
}

/* The bytes of a freshly saved sample checkpoint (the file is removed). */
static unsigned char *sample_bytes(size_t *len)
{
    const char *path = testutil_path("full.ckpt");
    char err[AURL_ERR_LEN];
    assert_int_equal(save_sample(path, err), 0);
    unsigned char *raw = testutil_read_file(path, len);
    unlink(path);
    return raw;
}

static void test_truncated_everywhere(void **state)
{
    (void)state;
    const char *bad = testutil_path("trunc.ckpt");
    size_t len;
    unsigned char *raw = sample_bytes(&len);
    assert_true(len > 500);
    for (size_t cut = 0; cut < len; cut++) {
        testutil_write_bytes(bad, raw, cut);
        expect_rejected(bad);
    }
    /* one extra byte is damage too */
    unsigned char *longer = malloc(len + 1);
    memcpy(longer, raw, len);
    longer[len] = 0;
    testutil_write_bytes(bad, longer, len + 1);
    expect_rejected(bad);
    free(longer);
    free(raw);
    unlink(bad);
}

static void test_flipped_bytes_everywhere(void **state)
{
    (void)state;
    const char *bad = testutil_path("flip.ckpt");
    char err[AURL_ERR_LEN];
    size_t len;
    unsigned char *raw = sample_bytes(&len);
    /* every byte of every region: fixed header, JSON, padding, data, CRC */
    for (size_t i = 0; i < len; i++) {
        for (int m = 0; m < 2; m++) {
            unsigned char mask = m ? 0xff : (unsigned char)(1u << (i % 8));
            raw[i] ^= mask;
            testutil_write_bytes(bad, raw, len);
            expect_rejected(bad);
            raw[i] ^= mask;
        }
    }
    /* the undamaged bytes still load (the loop restored them) */
    testutil_write_bytes(bad, raw, len);
    ckpt_file *f;
    assert_int_equal(ckpt_open(bad, &f, err), 0);
    ckpt_close(f);
    free(raw);
    unlink(bad);
}

/* An independent writer of the documented layout, so tests can build
 * files whose CRC is right but whose contents are wrong. */
static void craft(const char *path, const char *magic, uint32_t version, uint32_t flags, const char *json,
                  uint64_t hlen_field, const void *data, uint64_t dlen, uint64_t dlen_field)
{
    size_t hlen = strlen(json);
    size_t start = (32 + hlen + 63) / 64 * 64;
    size_t total = start + (size_t)dlen + 4;
    unsigned char *b = calloc(1, total);
    memcpy(b, magic, 8);
    for (int i = 0; i < 4; i++) b[8 + i] = (unsigned char)(version >> (8 * i));
    for (int i = 0; i < 4; i++) b[12 + i] = (unsigned char)(flags >> (8 * i));
    for (int i = 0; i < 8; i++) b[16 + i] = (unsigned char)(hlen_field >> (8 * i));
    for (int i = 0; i < 8; i++) b[24 + i] = (unsigned char)(dlen_field >> (8 * i));
    memcpy(b + 32, json, hlen);
    if (dlen) memcpy(b + start, data, (size_t)dlen);
    uint32_t crc = hash_crc32(0, b, start + (size_t)dlen);
    for (int i = 0; i < 4; i++) b[start + (size_t)dlen + (size_t)i] = (unsigned char)(crc >> (8 * i));
    testutil_write_bytes(path, b, total);
    free(b);
}

static void craft_json(const char *path, const char *json, uint64_t dlen)
{
    static float zeros[64];
    craft(path, "AURLCKPT", 1, 0, json, strlen(json), zeros, dlen, dlen);
}

#define T1 "{\"name\":\"w\",\"dtype\":\"f32\",\"shape\":[2,2],\"offset\":0,\"nbytes\":16}"

static void test_crafted_headers(void **state)
{
    (void)state;
    const char *path = testutil_path("crafted.ckpt");
    char err[AURL_ERR_LEN];
    static float zeros[64];
    ckpt_file *f;

    /* the crafted writer itself produces loadable files */
    craft_json(path, "{\"step\":3,\"tensors\":[" T1 "]}", 64);
    if (ckpt_open(path, &f, err) != 0) fail_msg("%s", err);
    assert_int_equal(ckpt_tensor_numel(f, 0), 4);
    ckpt_close(f);

    craft(path, "AURLCKPX", 1, 0, "{\"tensors\":[]}", 14, zeros, 0, 0);
    expect_rejected(path);
    craft(path, "AURLCKPT", 2, 0, "{\"tensors\":[]}", 14, zeros, 0, 0); /* future version */
    expect_rejected(path);
    assert_int_equal(ckpt_open(path, &f, err), -1);
    assert_non_null(strstr(err, "version 2"));
    craft(path, "AURLCKPT", 1, 7, "{\"tensors\":[]}", 14, zeros, 0, 0); /* flags */
    expect_rejected(path);
    craft(path, "AURLCKPT", 1, 0, "{\"tensors\":[]}", UINT64_MAX, zeros, 0, 0); /* header length */
    expect_rejected(path);
    craft(path, "AURLCKPT", 1, 0, "{\"tensors\":[]}", 14, zeros, 0, UINT64_MAX - 100); /* data length */
    expect_rejected(path);
    craft(path, "AURLCKPT", 1, 0, "{\"tensors\":[]}", 13, zeros, 0, 0); /* header length off by one */
    expect_rejected(path);

    const char *bad_json[] = {
        "{\"tensors\":[" T1 "",                     /* truncated JSON */
        "garbage garbage garbage",                   /* not JSON */
        "[1,2,3]",                                   /* not an object */
        "{\"step\":1}",                              /* no tensor table */
        "{\"tensors\":{}}",                          /* table not an array */
        "{\"tensors\":[1]}",                         /* entry not an object */
        "{\"tensors\":[{\"dtype\":\"f32\",\"shape\":[1],\"offset\":0,\"nbytes\":4}]}", /* no name */
        "{\"tensors\":[{\"name\":\"\",\"dtype\":\"f32\",\"shape\":[1],\"offset\":0,\"nbytes\":4}]}",
        "{\"tensors\":[{\"name\":\"w\",\"dtype\":\"f16\",\"shape\":[1],\"offset\":0,\"nbytes\":4}]}",
        "{\"tensors\":[{\"name\":\"w\",\"dtype\":\"f32\",\"shape\":[],\"offset\":0,\"nbytes\":4}]}",
        "{\"tensors\":[{\"name\":\"w\",\"dtype\":\"f32\",\"shape\":[1,1,1,1,1],\"offset\":0,\"nbytes\":4}]}",
        "{\"tensors\":[{\"name\":\"w\",\"dtype\":\"f32\",\"shape\":[0],\"offset\":0,\"nbytes\":0}]}",
        "{\"tensors\":[{\"name\":\"w\",\"dtype\":\"f32\",\"shape\":[-4],\"offset\":0,\"nbytes\":16}]}",
        "{\"tensors\":[{\"name\":\"w\",\"dtype\":\"f32\",\"shape\":[1.5],\"offset\":0,\"nbytes\":6}]}",
        "{\"tensors\":[{\"name\":\"w\",\"dtype\":\"f32\",\"shape\":[\"4\"],\"offset\":0,\"nbytes\":16}]}",
        "{\"tensors\":[{\"name\":\"w\",\"dtype\":\"f32\",\"shape\":[4],\"offset\":0,\"nbytes\":12}]}", /* size */
        "{\"tensors\":[{\"name\":\"w\",\"dtype\":\"f32\",\"shape\":[4],\"offset\":4,\"nbytes\":16}]}", /* unaligned */
        "{\"tensors\":[{\"name\":\"w\",\"dtype\":\"f32\",\"shape\":[4],\"offset\":-64,\"nbytes\":16}]}",
        "{\"tensors\":[{\"name\":\"w\",\"dtype\":\"f32\",\"shape\":[4],\"offset\":64,\"nbytes\":16}]}", /* past end */
        "{\"tensors\":[{\"name\":\"w\",\"dtype\":\"f32\",\"shape\":[17],\"offset\":0,\"nbytes\":68}]}", /* past end */
        "{\"tensors\":[{\"name\":\"w\",\"dtype\":\"f32\",\"shape\":[4294967296,4294967296],\"offset\":0,"
        "\"nbytes\":0}]}", /* overflowing shape */
        "{\"tensors\":[{\"name\":\"w\",\"dtype\":\"f32\",\"shape\":[4],\"offset\":1e300,\"nbytes\":16}]}",
        "{\"tensors\":[" T1 "," T1 "]}", /* duplicate name, and overlap */
        "{\"tensors\":[" T1 ",{\"name\":\"v\",\"dtype\":\"f32\",\"shape\":[4],\"offset\":0,\"nbytes\":16}]}",
    };
    for (size_t i = 0; i < sizeof bad_json / sizeof *bad_json; i++) {
        craft_json(path, bad_json[i], 64);
        if (ckpt_open(path, &f, err) == 0) fail_msg("accepted header %zu: %s", i, bad_json[i]);
        assert_non_null(strstr(err, path));
    }
    /* two tensors in separate aligned slots are fine */
    craft_json(path,
               "{\"tensors\":[" T1 ",{\"name\":\"v\",\"dtype\":\"f32\",\"shape\":[4],\"offset\":64,\"nbytes\":16}]}",
               128);
    if (ckpt_open(path, &f, err) != 0) fail_msg("%s", err);
    ckpt_close(f);
    unlink(path);
}

static void test_not_files(void **state)
{
    (void)state;
    const char *path = testutil_path("zero.ckpt");
    testutil_write_bytes(path, "", 0);
    expect_rejected(path);
    unlink(path);
    path = testutil_path("missing.ckpt");
    expect_rejected(path);
    path = testutil_path("adir.ckpt");
    assert_int_equal(mkdir(path, 0755), 0);
    expect_rejected(path);
    rmdir(path);
}

static void test_large_checkpoint(void **state)
{
    (void)state;
    const char *path = testutil_path("big.ckpt");
    char err[AURL_ERR_LEN];
    enum { NT = 25 };
    size_t each = 50u * 1000 * 1000 / 4 / NT; /* 50 MB total */
    float *buf = malloc(each * NT * sizeof *buf);
    assert_non_null(buf);
    for (size_t i = 0; i < each * NT; i++) buf[i] = (float)(i % 10007) * 0.25f;
    ckpt_tensor t[NT];
    char names[NT][32];
    for (int i = 0; i < NT; i++) {
        snprintf(names[i], sizeof names[i], "layer%02d.w", i);
        t[i] = (ckpt_tensor){.name = names[i], .ndim = 2, .dims = {(int64_t)each / 100, 100}, .data = buf + each * i};
    }
    assert_int_equal(ckpt_save(path, "{\"step\":1}", t, NT, err), 0);
    ckpt_file *f;
    if (ckpt_open(path, &f, err) != 0) fail_msg("%s", err);
    float *back = malloc(each * sizeof *back);
    for (int i = 0; i < NT; i++) {
        assert_int_equal(ckpt_read_tensor(f, names[i], back, each, err), 0);
        assert_memory_equal(back, buf + each * i, each * sizeof *back);
    }
    ckpt_close(f);
    free(back);
    free(buf);
    unlink(path);
}

/* cJSON allocation hook whose allocation number `fail_at` fails. */
static int fail_at = -1, n_allocs;
static void *flaky_malloc(size_t n)
{
    return n_allocs++ == fail_at ? NULL : malloc(n);
}

/* A failed allocation anywhere while building the header makes ckpt_save
 * fail with a message; it never writes a file whose table lacks a tensor. */
static void test_out_of_memory_while_saving(void **state)
{
    (void)state;
    const char *path = testutil_path("oom.ckpt");
    char err[AURL_ERR_LEN];
    int failed = 0, saved = 0;
    for (int k = 0; k < 300 && saved < 3; k++) {
        unlink(path);
        fail_at = k;
        n_allocs = 0;
        cJSON_Hooks hooks = {flaky_malloc, free};
        cJSON_InitHooks(&hooks);
        int rc = save_sample(path, err);
        cJSON_InitHooks(NULL);
        if (rc != 0) {
            assert_non_null(strstr(err, "oom.ckpt"));
            assert_int_equal(access(path, F_OK), -1);
            failed++;
            continue;
        }
        saved++;
        ckpt_file *f;
        if (ckpt_open(path, &f, err) != 0) fail_msg("allocation %d failed: %s", k, err);
        assert_int_equal(ckpt_n_tensors(f), 3);
        float b[N_B];
        assert_int_equal(ckpt_read_tensor(f, "blocks.0.attn.qkv", b, N_B, err), 0);
        assert_non_null(strstr(ckpt_header_json(f), "\"step\":12345"));
        ckpt_close(f);
    }
    fail_at = -1;
    assert_true(failed > 10);
    assert_int_equal(saved, 3);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_empty_and_metadata),
        cmocka_unit_test(test_save_rejects_bad_arguments),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_flipped_bytes_everywhere),
        cmocka_unit_test(test_crafted_headers),
        cmocka_unit_test(test_not_files),
        cmocka_unit_test(test_large_checkpoint),
        cmocka_unit_test(test_out_of_memory_while_saving),
    };
    return cmocka_run_group_tests(tests, testutil_tmpdir_setup, testutil_tmpdir_teardown);
}
