/* Tests of src/data/cache and the `aurl data` command layer: building from
 * generated MIDI files plus bad ones, reject reasons, incremental rebuilds,
 * detection of damaged/stale caches, the train/val split, exit codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/cache.h"
#include "cmd/data_cmd.h"
#include "data/tokenizer.h"
#include "util/fileio.h"
#include "util/log.h"
#include "testutil.h"

/* ---------- helpers ---------- */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* A format-0 SMF (480 ppqn, 120 BPM) with N quarter notes from PITCH up.
 * Returns its length in buf (cap >= 64 + 8*n). */
static size_t make_midi(uint8_t *buf, int n, int pitch)
{
    static const uint8_t head[] = {'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 0, 0, 1, 0x01, 0xE0,
                                   'M', 'T', 'r', 'k', 0, 0, 0, 0};
    memcpy(buf, head, sizeof head);
    size_t p = sizeof head;
    for (int i = 0; i < n; i++) {
        uint8_t on[] = {0x00, 0x90, (uint8_t)(pitch + i), 100};
        uint8_t off[] = {0x83, 0x60, 0x80, (uint8_t)(pitch + i), 0}; /* delta 480 */
        memcpy(buf + p, on, sizeof on), p += sizeof on;
        memcpy(buf + p, off, sizeof off), p += sizeof off;
    }
    uint8_t eot[] = {0x00, 0xFF, 0x2F, 0x00};
    memcpy(buf + p, eot, sizeof eot), p += sizeof eot;
    put_be32(buf + 18, (uint32_t)(p - sizeof head));
    return p;
}

static void write_bytes(const char *dir, const char *rel, const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    testutil_write_bytes(path, data, len);
}

static void write_midi(const char *dir, const char *rel, int n, int pitch)
{
    uint8_t buf[4096];
    size_t len = make_midi(buf, n, pitch);
    write_bytes(dir, rel, buf, len);
}

/* Data dir NAME (new, in the temp dir) with midi/: 3 good files (one in a
 * sub-directory, one with an upper-case name), and bad ones: empty, text,
 * truncated header, a directory named bad.mid, a hidden file, a symlink loop. */
static const char *make_data_dir(const char *name)
{
    const char *dir = testutil_path(name);
    char midi[1024];
    snprintf(midi, sizeof midi, "%s/midi", dir);
    write_midi(midi, "a.mid", 3, 60);
    write_midi(midi, "sub/b.mid", 5, 48);
    write_midi(midi, "C.MID", 4, 72);
    write_bytes(midi, "empty.mid", "", 0);
    const char *text = "this is a text file renamed to .mid\n";
    write_bytes(midi, "text.mid", text, strlen(text));
    write_bytes(midi, "trunc.mid", "MThd\0\0\0\6\0", 9);
    write_bytes(midi, ".hidden.mid", text, strlen(text));
    char path[1100];
    snprintf(path, sizeof path, "%s/bad.mid", midi);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/sub/loop", midi);
    assert_int_equal(symlink("..", path), 0);
    return dir;
}

static const cache_entry *find_entry(const cache *c, const char *path)
{
    for (size_t i = 0; i < cache_n_entries(c); i++)
        if (strcmp(cache_entry_at(c, i)->path, path) == 0) return cache_entry_at(c, i);
    return NULL;
}

/* ---------- tests ---------- */

static void test_build_accepts_and_rejects(void **state)
{
    (void)state;
    const char *dir = make_data_dir("build");
    char err[AURL_ERR_LEN];
    cache_build_result r;
    assert_int_equal(cache_build_ex(dir, 2, NULL, NULL, &r, err), 0);
    /* the loop (sub/loop -> midi) is not followed a second time, hidden and
     * directories are skipped */
    assert_int_equal(r.n_files, 6);
    assert_int_equal(r.n_accepted, 3);
    assert_int_equal(r.n_rejected, 3);
    assert_int_equal(r.n_parsed, 5); /* the empty file is rejected without a parser */
    assert_true(r.n_val >= 1 && r.n_val < 3);

    cache *c;
    assert_int_equal(cache_open(dir, &c, err), 0);
    assert_int_equal(cache_n_entries(c), 6);
    for (size_t i = 1; i < cache_n_entries(c); i++)
        assert_true(strcmp(cache_entry_at(c, i - 1)->path, cache_entry_at(c, i)->path) < 0);

    const cache_entry *a = find_entry(c, "a.mid"), *b = find_entry(c, "sub/b.mid");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(find_entry(c, "C.MID"));
    assert_int_equal(a->n_notes, 3);
    assert_int_equal(b->n_notes, 5);
    assert_true(a->duration > 1.0 && a->duration < 2.0); /* 3 quarter notes at 120 BPM */
    assert_int_not_equal(a->split, CACHE_REJECTED);
    assert_int_equal(a->tokens[0], TOK_START);
    assert_int_equal(a->tokens[a->n_tokens - 1], TOK_END);
    size_t ons = 0;
    for (size_t i = 0; i < b->n_tokens; i++) ons += tok_type_of(b->tokens[i]) == TOKT_NOTE_ON;
    assert_int_equal(ons, 5);

    const cache_entry *e = find_entry(c, "empty.mid");
    assert_non_null(e);
    assert_int_equal(e->split, CACHE_REJECTED);
    assert_string_equal(e->reject_reason, "empty file");
    assert_null(e->tokens);
    const cache_entry *t = find_entry(c, "text.mid"), *tr = find_entry(c, "trunc.mid");
    assert_non_null(t);
    assert_non_null(tr);
    assert_int_equal(t->split, CACHE_REJECTED);
    assert_int_equal(tr->split, CACHE_REJECTED);
    assert_true(strlen(t->reject_reason) > 3);
    assert_true(strlen(tr->reject_reason) > 3);
    assert_null(find_entry(c, "bad.mid"));
    assert_null(find_entry(c, ".hidden.mid"));

    size_t total = 0;
    for (size_t i = 0; i < cache_n_entries(c); i++) total += cache_entry_at(c, i)->n_tokens;
    assert_int_equal(total, cache_n_tokens(c));
    cache_close(c);
}

static void test_incremental_rebuild(void **state)
{
    (void)state;
    const char *dir = make_data_dir("incremental");
    char err[AURL_ERR_LEN], midi[1024];
    snprintf(midi, sizeof midi, "%s/midi", dir);
    cache_build_result r;
    assert_int_equal(cache_build_ex(dir, 1, NULL, NULL, &r, err), 0);
    assert_int_equal(r.n_parsed, 5);

    /* nothing changed: nothing parsed, rejected files stay rejected */
    assert_int_equal(cache_build_ex(dir, 1, NULL, NULL, &r, err), 0);
    assert_int_equal(r.n_parsed, 0);
    assert_int_equal(r.n_reused, 6);
    assert_int_equal(r.n_rejected, 3);

    /* one file changed (same name, new content), one added, one deleted */
    write_midi(midi, "sub/b.mid", 7, 50);
    write_midi(midi, "d.mid", 2, 40);
    char path[1100];
    snprintf(path, sizeof path, "%s/a.mid", midi);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(cache_build_ex(dir, 2, NULL, NULL, &r, err), 0);
    assert_int_equal(r.n_parsed, 2);
    assert_int_equal(r.n_reused, 4);
    assert_int_equal(r.n_files, 6);

    /* same size, same mtime, different bytes: caught by the content hash */
    snprintf(path, sizeof path, "%s/C.MID", midi);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    write_midi(midi, "C.MID", 4, 30);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
    assert_int_equal(cache_build_ex(dir, 2, NULL, NULL, &r, err), 0);
    assert_int_equal(r.n_parsed, 1);
    assert_int_equal(r.n_reused, 5);

    cache *c;
    assert_int_equal(cache_open(dir, &c, err), 0);
    const cache_entry *ce = find_entry(c, "C.MID");
    assert_int_equal(ce->tokens[ce->n_tokens - 2] - TOK_NOTE_OFF + TOK_PITCH_MIN, 33); /* last note 30+3 */
    assert_null(find_entry(c, "a.mid"));
    assert_int_equal(find_entry(c, "sub/b.mid")->n_notes, 7);
    assert_int_equal(find_entry(c, "d.mid")->n_notes, 2);
    assert_int_equal(find_entry(c, "C.MID")->n_notes, 4);
    cache_close(c);
}

/* What a build reported to its progress hook. */
typedef struct {
    size_t n_parsed_events, last_done, last_jobs, n_done_events, n_notices, done_files;
    char notices[2][AURL_ERR_LEN + 64];
} progress_log;

static void record_progress(const cache_progress *p, void *user)
{
    progress_log *l = user;
    switch (p->kind) {
    case CACHE_PROGRESS_NOTICE:
        if (l->n_notices < 2) snprintf(l->notices[l->n_notices], sizeof l->notices[0], "%s", p->message);
        l->n_notices++;
        break;
    case CACHE_PROGRESS_PARSED:
        l->n_parsed_events++;
        l->last_done = p->n_done;
        l->last_jobs = p->n_jobs;
        break;
    case CACHE_PROGRESS_DONE:
        l->n_done_events++;
        l->done_files = p->result->n_files;
        break;
    }
}

/* The build reports every parsed file and its result; cache_ensure
 * reports why it rebuilds, and nothing when the cache is fine. */
static void test_build_reports_progress(void **state)
{
    (void)state;
    const char *dir = make_data_dir("report");
    char err[AURL_ERR_LEN], path[1100];
    progress_log l = {0};
    cache_build_result r;
    assert_int_equal(cache_build_ex(dir, 2, record_progress, &l, &r, err), 0);
    assert_int_equal(l.n_parsed_events, r.n_parsed);
    assert_int_equal(l.last_done, r.n_parsed);
    assert_int_equal(l.last_jobs, r.n_parsed);
    assert_int_equal(l.n_done_events, 1);
    assert_int_equal(l.done_files, r.n_files);
    assert_int_equal(l.n_notices, 0);

    cache *c;
    memset(&l, 0, sizeof l);
    assert_int_equal(cache_ensure(dir, 2, record_progress, &l, &c, err), 0);
    cache_close(c);
    assert_int_equal(l.n_parsed_events + l.n_done_events + l.n_notices, 0);

    snprintf(path, sizeof path, "%s/cache/tokens.bin", dir);
    assert_int_equal(truncate(path, 10), 0);
    assert_int_equal(cache_ensure(dir, 2, record_progress, &l, &c, err), 0);
    cache_close(c);
    assert_int_equal(l.n_notices, 2);
    assert_non_null(strstr(l.notices[0], "tokens.bin"));
    assert_non_null(strstr(l.notices[0], "; building the token cache"));
    assert_non_null(strstr(l.notices[1], "; rebuilding the cache from scratch"));
    assert_int_equal(l.n_done_events, 1);
}

/* Damage the cache with F, check that opening fails with a message containing
 * WHAT, and that cache_ensure rebuilds an identical cache. */
static void check_damage(const char *dir, void (*f)(const char *dir), const char *what)
{
    char err[AURL_ERR_LEN];
    cache *c;
    assert_int_equal(cache_build(dir, 2, err), 0);
    assert_int_equal(cache_open(dir, &c, err), 0);
    size_t n_tok = cache_n_tokens(c), n_ent = cache_n_entries(c);
    cache_close(c);
    f(dir);
    assert_int_equal(cache_open(dir, &c, err), -1);
    assert_null(c);
    if (!strstr(err, what)) fail_msg("error \"%s\" does not mention \"%s\"", err, what);
    assert_int_equal(cache_ensure(dir, 2, NULL, NULL, &c, err), 0);
    assert_int_equal(cache_n_tokens(c), n_tok);
    assert_int_equal(cache_n_entries(c), n_ent);
    cache_close(c);
    /* a build over a damaged cache re-parses everything (nothing trusted) */
    f(dir);
    cache_build_result r;
    assert_int_equal(cache_build_ex(dir, 2, NULL, NULL, &r, err), 0);
    assert_int_equal(r.n_reused, 0);
}

static void cache_file(const char *dir, const char *name, char *out)
{
    snprintf(out, 1100, "%s/cache/%s", dir, name);
}

static void damage_truncate(const char *dir)
{
    char p[1100];
    cache_file(dir, "tokens.bin", p);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(truncate(p, st.st_size - 3), 0);
}

static void damage_truncate_header(const char *dir)
{
    char p[1100];
    cache_file(dir, "tokens.bin", p);
    assert_int_equal(truncate(p, 10), 0);
}

static void patch_byte(const char *path, long off, int xor_mask)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, off, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, off, SEEK_SET);
    fputc(ch ^ xor_mask, f);
    fclose(f);
}

static void damage_flip(const char *dir)
{
    char p[1100];
    cache_file(dir, "tokens.bin", p);
    patch_byte(p, 24 + 7, 0x10);
}

static void damage_version(const char *dir)
{
    char p[1100];
    cache_file(dir, "tokens.bin", p);
    patch_byte(p, 8, 0x40); /* vocab version field */
}

static void damage_garbage_index(const char *dir)
{
    char p[1100], err[AURL_ERR_LEN];
    cache_file(dir, "index.json", p);
    assert_int_equal(file_write_atomic(p, "{\"version\": 1, garbage", 22, err), 0);
}

/* Overwrites the first character of the value of KEY (e.g. "\"offset\":")
 * in DIR's cache/index.json with CH. */
static void patch_index_value(const char *dir, const char *key, char ch)
{
    char p[1100], err[AURL_ERR_LEN];
    cache_file(dir, "index.json", p);
    unsigned char *text;
    size_t len;
    assert_int_equal(file_read_all(p, 1 << 20, &text, &len, err), 0);
    char *v = strstr((char *)text, key);
    assert_non_null(v);
    v += strlen(key);
    while (*v == ' ' || *v == '\t') v++;
    *v = ch;
    assert_int_equal(file_write_atomic(p, text, len, err), 0);
    free(text);
}

static void damage_index_vocab(const char *dir) { patch_index_value(dir, "\"vocab_version\":", '7'); }

/* first entry's offset 0 -> 9: caught by the index checksum */
static void damage_index_offset(const char *dir) { patch_index_value(dir, "\"offset\":", '9'); }

static void damage_delete_index(const char *dir)
{
    char p[1100];
    cache_file(dir, "index.json", p);
    assert_int_equal(unlink(p), 0);
}

static void test_damaged_cache_detected_and_rebuilt(void **state)
{
    (void)state;
    const char *dir = make_data_dir("damage");
    check_damage(dir, damage_truncate, "tokens.bin");
    check_damage(dir, damage_truncate_header, "truncated");
    check_damage(dir, damage_flip, "checksum");
    check_damage(dir, damage_version, "stale");
    check_damage(dir, damage_garbage_index, "index.json");
    check_damage(dir, damage_index_vocab, "stale");
    check_damage(dir, damage_index_offset, "checksum");
    check_damage(dir, damage_delete_index, "missing");
}

static void test_split_by_path_hash(void **state)
{
    (void)state;
    size_t val = 0, n = 20000;
    char p[64];
    for (size_t i = 0; i < n; i++) {
        snprintf(p, sizeof p, "set%zu/song_%zu.mid", i % 17, i);
        cache_split s = cache_split_of_path(p);
        assert_true(s == CACHE_TRAIN || s == CACHE_VAL);
        assert_int_equal(s, cache_split_of_path(p)); /* deterministic */
        val += s == CACHE_VAL;
    }
    assert_true(val > n * 4 / 100 && val < n * 6 / 100);

    /* two accepted files: one of them is forced into val, the other stays train */
    const char *dir = testutil_path("split");
    char midi[1024], err[AURL_ERR_LEN];
    snprintf(midi, sizeof midi, "%s/midi", dir);
    write_midi(midi, "one.mid", 2, 60);
    write_midi(midi, "two.mid", 3, 60);
    cache_build_result r;
    assert_int_equal(cache_build_ex(dir, 2, NULL, NULL, &r, err), 0);
    assert_int_equal(r.n_accepted, 2);
    assert_int_equal(r.n_val, 1);
    cache *c;
    assert_int_equal(cache_open(dir, &c, err), 0);
    cache_split s0 = cache_entry_at(c, 0)->split;
    assert_int_not_equal(s0, cache_entry_at(c, 1)->split);
    cache_close(c);
    /* rebuilding gives the same assignment */
    assert_int_equal(cache_build(dir, 1, err), 0);
    assert_int_equal(cache_open(dir, &c, err), 0);
    assert_int_equal(cache_entry_at(c, 0)->split, s0);
    cache_close(c);
}

static void test_missing_midi_dir(void **state)
{
    (void)state;
    char err[AURL_ERR_LEN];
    cache *c;
    assert_int_equal(cache_build("/tmp/aurl-no-such-dir-xyz", 1, err), -1);
    assert_non_null(strstr(err, "midi"));
    assert_int_equal(cache_open("/tmp/aurl-no-such-dir-xyz", &c, err), -1);
    assert_non_null(strstr(err, "missing"));
}

/* Run `aurl ARGV...` with DATA_DIR; stdout is discarded, stderr kept in
 * cmd.err of the temp dir (see cmd_stderr). Returns the exit code. */
static int run_cmd(const char *data_dir, int argc, ...)
{
    char *argv[16];
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++) argv[i] = va_arg(ap, char *);
    va_end(ap);
    argv[argc] = NULL;
    aurl_globals g = {data_dir, "outputs", 0, 1};
    /* keep the test output readable */
    fflush(stdout);
    fflush(stderr);
    int saved = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO);
    int dn = open("/dev/null", O_WRONLY);
    int ef = open(testutil_path("cmd.err"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(dn, STDOUT_FILENO);
    dup2(ef, STDERR_FILENO);
    close(dn);
    close(ef);
    int rc = data_cmd_main(argc, argv, &g);
    fflush(stdout);
    fflush(stderr);
    dup2(saved, STDOUT_FILENO);
    dup2(saved_err, STDERR_FILENO);
    close(saved);
    close(saved_err);
    return rc;
}

/* How often NEEDLE occurs in the stderr of the last run_cmd. */
static int cmd_stderr_count(const char *needle)
{
    char *text = (char *)testutil_read_file(testutil_path("cmd.err"), NULL);
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    free(text);
    return n;
}

static void test_data_commands(void **state)
{
    (void)state;
    const char *dir = make_data_dir("commands");
    assert_int_equal(run_cmd(dir, 1, "data"), 2);
    assert_int_equal(run_cmd(dir, 2, "data", "--help"), 0);
    assert_int_equal(run_cmd(dir, 2, "data", "frobnicate"), 2);
    assert_int_equal(run_cmd(dir, 3, "data", "cache", "--help"), 0);
    assert_int_equal(run_cmd(dir, 4, "data", "cache", "--jobs", "0"), 2);
    assert_int_equal(run_cmd(dir, 4, "data", "cache", "--jobs", "x"), 2);
    assert_int_equal(run_cmd(dir, 3, "data", "cache", "--bogus"), 2);
    assert_int_equal(run_cmd(dir, 2, "data", "stats"), 1); /* no cache yet */
    assert_int_equal(run_cmd(dir, 4, "data", "cache", "--jobs", "2"), 0);
    assert_int_equal(run_cmd(dir, 2, "data", "stats"), 0);
    assert_int_equal(run_cmd(dir, 3, "data", "stats", "--json"), 0);
    assert_int_equal(run_cmd(dir, 3, "data", "stats", "extra"), 2);
    assert_int_equal(run_cmd(dir, 2, "data", "show"), 2);
    assert_int_equal(run_cmd(dir, 3, "data", "show", "no-such.mid"), 2);
    assert_int_equal(run_cmd(dir, 3, "data", "show", "text.mid"), 2); /* rejected input */
    assert_int_equal(cmd_stderr_count("text.mid"), 1); /* named once, with the reason */
    assert_int_equal(cmd_stderr_count("not a MIDI file"), 1);
    assert_int_equal(run_cmd(dir, 5, "data", "show", "a.mid", "--limit", "-1"), 2);
    assert_int_equal(run_cmd(dir, 3, "data", "fetch", "--nope"), 2);
    assert_int_equal(run_cmd(dir, 3, "data", "show", "a.mid"), 0); /* relative to data/midi */
    assert_int_equal(run_cmd(dir, 5, "data", "show", "a.mid", "--tokenizer", "v1"), 0);
    assert_int_equal(run_cmd(dir, 5, "data", "show", "a.mid", "--tokenizer", "v7"), 2);
    char out[1100];
    snprintf(out, sizeof out, "%s/round.mid", dir);
    assert_int_equal(run_cmd(dir, 5, "data", "show", "sub/b.mid", "--export", out), 0);
    assert_true(file_is_regular(out));
}

int main(void)
{
    log_set_quiet(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_accepts_and_rejects),
        cmocka_unit_test(test_build_reports_progress),
        cmocka_unit_test(test_incremental_rebuild),
        cmocka_unit_test(test_damaged_cache_detected_and_rebuilt),
        cmocka_unit_test(test_split_by_path_hash),
        cmocka_unit_test(test_missing_midi_dir),
        cmocka_unit_test(test_data_commands),
    };
    return cmocka_run_group_tests(tests, testutil_tmpdir_setup, testutil_tmpdir_teardown);
}
