/* Tests of engine/metrics and engine/tb_writer: JSONL records parse back;
 * the TensorBoard file is checked by an independent TFRecord reader (own
 * CRC-32C) and protobuf decoder; metrics_parse_line survives fuzzing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/train/metrics.h"
#include "testutil.h"

/* ---- independent TFRecord / protobuf reader ---- */

static uint32_t crc32c_bitwise(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
    }
    return ~c;
}

static uint32_t masked(const unsigned char *p, size_t n)
{
    uint32_t c = crc32c_bitwise(p, n);
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

static uint64_t le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

typedef struct {
    const unsigned char *p, *end;
} cursor;

static uint64_t rd_varint(cursor *c)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        assert_true(c->p < c->end);
        unsigned char b = *c->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    fail_msg("varint too long");
    return 0;
}

/* One decoded scalar event (or the file_version event). */
typedef struct {
    double wall_time;
    int64_t step;
    char file_version[32];
    char tag[300];
    float value;
    int has_value;
} tb_event;

/* Generic field walk: calls back for each (field, wire type, payload). */
static void decode_value(cursor c, tb_event *ev)
{
    while (c.p < c.end) {
        uint64_t key = rd_varint(&c);
        if (key == (1 << 3 | 2)) {
            uint64_t n = rd_varint(&c);
            assert_true(n < sizeof ev->tag && c.p + n <= c.end);
            memcpy(ev->tag, c.p, n);
            ev->tag[n] = 0;
            c.p += n;
        } else if (key == (2 << 3 | 5)) {
            assert_true(c.p + 4 <= c.end);
            uint32_t bits = (uint32_t)le(c.p, 4);
            memcpy(&ev->value, &bits, 4);
            ev->has_value = 1;
            c.p += 4;
        } else {
            fail_msg("unexpected Value field key %llu", (unsigned long long)key);
        }
    }
}

static void decode_event(const unsigned char *p, size_t n, tb_event *ev)
{
    memset(ev, 0, sizeof *ev);
    cursor c = {p, p + n};
    while (c.p < c.end) {
        uint64_t key = rd_varint(&c);
        int field = (int)(key >> 3), wire = (int)(key & 7);
        if (field == 1 && wire == 1) {
            assert_true(c.p + 8 <= c.end);
            uint64_t bits = le(c.p, 8);
            memcpy(&ev->wall_time, &bits, 8);
            c.p += 8;
        } else if (field == 2 && wire == 0) {
            ev->step = (int64_t)rd_varint(&c);
        } else if ((field == 3 || field == 5) && wire == 2) {
            uint64_t len = rd_varint(&c);
            assert_true(c.p + len <= c.end);
            if (field == 3) {
                assert_true(len < sizeof ev->file_version);
                memcpy(ev->file_version, c.p, len);
            } else { /* Summary: repeated Value (field 1) */
                cursor s = {c.p, c.p + len};
                int nvalues = 0;
                while (s.p < s.end) {
                    assert_int_equal(rd_varint(&s), 1 << 3 | 2);
                    uint64_t vl = rd_varint(&s);
                    assert_true(s.p + vl <= s.end);
                    decode_value((cursor){s.p, s.p + vl}, ev);
                    s.p += vl;
                    nvalues++;
                }
                assert_int_equal(nvalues, 1);
            }
            c.p += len;
        } else {
            fail_msg("unexpected Event field %d wire %d", field, wire);
        }
    }
}

/* Read every TFRecord of PATH, checking both CRCs; returns event count. */
static int read_tfrecords(const char *path, tb_event *evs, int max)
{
    size_t len;
    unsigned char *b = testutil_read_file(path, &len);
    size_t pos = 0;
    int n = 0;
    while (pos < len) {
        assert_true(pos + 12 <= len);
        uint64_t dlen = le(b + pos, 8);
        assert_int_equal(le(b + pos + 8, 4), masked(b + pos, 8));
        assert_true(pos + 12 + dlen + 4 <= len);
        assert_int_equal(le(b + pos + 12 + dlen, 4), masked(b + pos + 12, (size_t)dlen));
        assert_true(n < max);
        decode_event(b + pos + 12, (size_t)dlen, &evs[n++]);
        pos += 12 + dlen + 4;
    }
    assert_int_equal(pos, len);
    free(b);
    return n;
}

/* The single events file in DIR (its full path into out). */
static void find_event_file(const char *dir, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int found = 0;
    struct dirent *e;
    char host[256] = "";
    gethostname(host, sizeof host);
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "events.out.tfevents.", 20) != 0) continue;
        found++;
        snprintf(out, cap, "%s/%s", dir, e->d_name);
        /* events.out.tfevents.<digits>.<host> */
        char *p = e->d_name + 20;
        assert_true(*p >= '0' && *p <= '9');
        while (*p >= '0' && *p <= '9') p++;
        assert_int_equal(*p, '.');
        assert_string_equal(p + 1, host);
    }
    closedir(d);
    assert_int_equal(found, 1);
}

static void test_log_jsonl_and_tensorboard(void **state)
{
    (void)state;
    const char *out_dir = testutil_path("outputs");
    char err[AURL_ERR_LEN];
    metrics *m;
    if (metrics_open(&m, out_dir, 2, err) != 0) fail_msg("%s", err);
    const char *tn[] = {"loss", "lr", "tok_per_s"};
    double tv[] = {3.25, 1e-3, 12345.5};
    metrics_log(m, "train", 10, 3, tn, tv, NULL);
    const char *vn[] = {"loss", "step"}; /* "step" is reserved: not a JSON scalar */
    double vv[] = {NAN, 99};
    metrics_log(m, "val", 20, 2, vn, vv, NULL);
    metrics_log(m, "event", 20, 0, NULL, NULL, "stage 2 epoch 1 \"done\"");

    /* JSONL is readable while the writer is still open (flushed per record) */
    char jpath[400];
    snprintf(jpath, sizeof jpath, "%s/logs/metrics.jsonl", out_dir);
    size_t len;
    char *text = (char *)testutil_read_file(jpath, &len);
    char kind[16], names[8][32];
    double values[8];
    int stage;
    int64_t step;
    char *save, *line = strtok_r(text, "\n", &save);
    assert_int_equal(metrics_parse_line(line, kind, sizeof kind, &stage, &step, names, values, 8), 3);
    assert_string_equal(kind, "train");
    assert_int_equal(stage, 2);
    assert_true(step == 10);
    assert_string_equal(names[0], "loss");
    assert_true(values[0] == 3.25);
    assert_string_equal(names[1], "lr");
    assert_true(values[1] == 1e-3);
    assert_string_equal(names[2], "tok_per_s");
    assert_non_null(strstr(line, "\"time\":"));
    line = strtok_r(NULL, "\n", &save);
    assert_non_null(strstr(line, "\"loss\":null"));
    assert_int_equal(metrics_parse_line(line, kind, sizeof kind, &stage, &step, names, values, 8), 1);
    assert_string_equal(kind, "val");
    assert_true(isnan(values[0]));
    assert_true(step == 20);
    line = strtok_r(NULL, "\n", &save);
    assert_int_equal(metrics_parse_line(line, kind, sizeof kind, &stage, &step, names, values, 8), 0);
    assert_string_equal(kind, "event");
    assert_non_null(strstr(line, "\"msg\":\"stage 2 epoch 1 \\\"done\\\"\""));
    assert_null(strtok_r(NULL, "\n", &save));
    free(text);

    /* TensorBoard: file_version first, then one Event per train/val scalar */
    char tbdir[400], tbpath[800];
    snprintf(tbdir, sizeof tbdir, "%s/logs/tensorboard/stage2", out_dir);
    find_event_file(tbdir, tbpath, sizeof tbpath);
    tb_event ev[16];
    int n = read_tfrecords(tbpath, ev, 16);
    assert_int_equal(n, 5);
    assert_string_equal(ev[0].file_version, "brain.Event:2");
    assert_false(ev[0].has_value);
    assert_true(ev[0].wall_time > 1.6e9);
    struct {
        const char *tag;
        int64_t step;
        float value;
    } want[] = {{"train/loss", 10, 3.25f}, {"train/lr", 10, 1e-3f}, {"train/tok_per_s", 10, 12345.5f},
                {"val/loss", 20, NAN}};
    for (int i = 0; i < 4; i++) {
        tb_event *e = &ev[i + 1];
        assert_string_equal(e->tag, want[i].tag);
        assert_true(e->step == want[i].step);
        assert_true(e->has_value);
        if (isnan(want[i].value)) assert_true(isnan(e->value));
        else assert_true(e->value == want[i].value);
        assert_true(e->wall_time >= ev[0].wall_time - 1 && e->wall_time < ev[0].wall_time + 60);
    }
    metrics_close(m);

    /* a crash left a partial line: reopening starts a fresh line */
    FILE *f = fopen(jpath, "ab");
    fputs("{\"kind\":\"train\",\"sta", f);
    fclose(f);
    assert_int_equal(metrics_open(&m, out_dir, 2, err), 0);
    metrics_log(m, "train", 11, 1, tn, tv, NULL);
    metrics_close(m);
    text = (char *)testutil_read_file(jpath, &len);
    int good = 0, lines = 0;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lines++;
        if (metrics_parse_line(line, kind, sizeof kind, &stage, &step, names, values, 8) >= 0) good++;
    }
    assert_int_equal(lines, 5);
    assert_int_equal(good, 4);
    free(text);
}

static void test_open_failure(void **state)
{
    (void)state;
    const char *file = testutil_write_file("plainfile", "");
    char err[AURL_ERR_LEN];
    metrics *m = (metrics *)1;
    assert_int_equal(metrics_open(&m, file, 1, err), -1); /* outputs "dir" is a file */
    assert_null(m);
    assert_non_null(strstr(err, "plainfile"));
    metrics_log(NULL, "train", 0, 0, NULL, NULL, NULL); /* no metrics: no-op */

    /* an outputs dir whose logs/ path fits but whose files do not: refused
     * before anything is created (no directories named after cut paths) */
    char deep[4200];
    int n = snprintf(deep, sizeof deep, "%s/deep", testutil_tmpdir());
    while (n < 4085) n += snprintf(deep + n, sizeof deep - (size_t)n, "/d");
    deep[4085] = 0; /* strlen + "/logs" < 4096 <= strlen + "/logs/metrics.jsonl" */
    if (deep[4084] == '/') deep[4084] = 'e';
    m = (metrics *)1;
    assert_int_equal(metrics_open(&m, deep, 1, err), -1);
    assert_null(m);
    assert_non_null(strstr(err, "path too long"));
    assert_int_equal(access(testutil_path("deep"), F_OK), -1);
}

static void test_parse_line_rejects_and_fuzz(void **state)
{
    (void)state;
    char kind[8], names[4][32];
    double values[4];
    int stage;
    int64_t step;
    const char *bad[] = {
        "",
        "{}",
        "null",
        "[1,2]",
        "{\"kind\":1,\"stage\":1,\"step\":1}",
        "{\"kind\":\"train\",\"stage\":\"1\",\"step\":1}",
        "{\"kind\":\"train\",\"stage\":1}",
        "{\"kind\":\"train\",\"stage\":1,\"step\":1e300}",
        "{\"kind\":\"train\",\"stage\":-5,\"step\":1}",
        "{\"kind\":\"train\",\"stage\":1,\"step\":1",
        "\xff\xfe\x00",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (metrics_parse_line(bad[i], kind, sizeof kind, &stage, &step, names, values, 4) != -1)
            fail_msg("accepted %s", bad[i]);
    assert_int_equal(metrics_parse_line(NULL, kind, sizeof kind, &stage, &step, names, values, 4), -1);

    /* long kinds and names are cut, extra scalars beyond max are dropped,
     * strings and arrays are not scalars */
    const char *good = "{\"kind\":\"a-very-long-kind\",\"stage\":3,\"step\":7,\"time\":5,"
                       "\"a_name_that_is_longer_than_thirty_two_chars\":1,\"s\":\"x\",\"arr\":[1],"
                       "\"b\":2,\"c\":3,\"d\":4,\"e\":5}";
    assert_int_equal(metrics_parse_line(good, kind, sizeof kind, &stage, &step, names, values, 4), 4);
    assert_string_equal(kind, "a-very-");
    assert_int_equal(strlen(names[0]), 31);
    assert_string_equal(names[1], "b");
    assert_true(values[3] == 4);

    /* random bytes and random damage to a valid line never crash */
    srand(12345);
    char buf[200];
    int accepted = 0;
    for (int it = 0; it < 20000; it++) {
        size_t n;
        if (it % 2) {
            n = (size_t)(rand() % 199);
            for (size_t i = 0; i < n; i++) buf[i] = (char)(rand() % 255 + 1);
        } else {
            n = strlen(good) < sizeof buf - 1 ? strlen(good) : sizeof buf - 1;
            memcpy(buf, good, n);
            for (int k = rand() % 4; k >= 0; k--) buf[rand() % n] = (char)(rand() % 255 + 1);
            n = (size_t)(rand() % 3 ? n : (size_t)rand() % n);
        }
        buf[n] = 0;
        int r = metrics_parse_line(buf, kind, sizeof kind, &stage, &step, names, values, 4);
        assert_true(r >= -1 && r <= 4);
        if (r >= 0) {
            accepted++;
            assert_true(strlen(kind) < sizeof kind);
        }
    }
    assert_true(accepted > 0); /* the mutations are not all fatal */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_jsonl_and_tensorboard),
        cmocka_unit_test(test_open_failure),
        cmocka_unit_test(test_parse_line_rejects_and_fuzz),
    };
    return cmocka_run_group_tests(tests, testutil_tmpdir_setup, testutil_tmpdir_teardown);
}
