/* `aurl eval` end to end, as a user runs it (the build's own binary,
 * $BUILD/aurl): an untrained tiny checkpoint on a cache and a --midi folder
 * made of generated pieces must score about ln 774 nats/token, the n-gram
 * baselines of the training split must do better, the generation section
 * must count grammar errors and music statistics; the validation split
 * path works too; rejected files are listed; bad options and missing
 * inputs give exit 2 or 1 with a message; grammar errors come by kind and
 * the music metrics beside the data's. `aurl eval --music` measures files
 * and folders without a checkpoint: known numbers for a written piece, the
 * data column from the cache (or none without one), a bad file named, a
 * missing path exit 2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/cache.h"
#include "data/midi_write.h"
#include "data/score.h"
#include "engine/eval/music_compare.h"
#include "engine/model/model_ckpt.h"
#include "engine/sample/grammar.h"
#include "engine/model/model_yaml.h"
#include "engine/model/transformer.h"
#include "util/log.h"
#include "testutil.h"

static const char *ckpt_path;

/* A piece of scales: N_NOTES eighth notes from BASE, a held bass note. */
static void write_piece(const char *name, int base, int n_notes)
{
    score s;
    score_init(&s);
    static const int major[] = {0, 2, 4, 5, 7, 9, 11, 12};
    for (int i = 0; i < n_notes; i++) {
        score_note n = {0.125 * i, 0.125 * i + 0.12, (uint8_t)(base + major[i % 8]), (uint8_t)(60 + i % 40), 0};
        assert_int_equal(score_add_note(&s, n), 0);
    }
    score_note bass = {0, 0.125 * n_notes, (uint8_t)(base - 12), 70, 4};
    assert_int_equal(score_add_note(&s, bass), 0);
    char err[AURL_ERR_LEN];
    const char *path = testutil_path(name);
    testutil_write_file(name, ""); /* creates the directories */
    assert_int_equal(midi_write_file(path, &s, err), 0);
    score_free(&s);
}

static int setup(void **state)
{
    log_set_quiet(1);
    if (testutil_tmpdir_setup(state) != 0) return -1;
    /* data/midi: 6 pieces -> cache (train + at least one val) */
    char name[64];
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof name, "data/midi/p%d.mid", i);
        write_piece(name, 48 + 2 * i, 40 + 10 * i);
    }
    /* a separate --midi folder with one broken file */
    write_piece("eval/a.mid", 55, 60);
    write_piece("eval/sub/b.mid", 50, 30);
    testutil_write_file("eval/broken.mid", "MThd this is no MIDI file");
    /* --music inputs: 32 sixteenths of C major over a held C (4 s at 120 BPM) */
    write_piece("music/a.mid", 60, 32);
    write_piece("music/more/b.mid", 62, 16);
    testutil_write_file("music/more/bad.mid", "MThd not MIDI either");
    char err[AURL_ERR_LEN];
    if (cache_build(testutil_path("data"), 2, err) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    /* an untrained tiny model */
    model_config cfg;
    testutil_tiny_model_config(&cfg);
    transformer *m;
    if (transformer_create(&m, &cfg, 1, 64, 5, err) != 0) return -1;
    ckpt_path = testutil_path("tiny.ckpt");
    int rc = model_ckpt_save(ckpt_path, m, NULL, NULL, err);
    transformer_free(m);
    return rc;
}

/* Run `aurl --data D --outputs O ARGS...` with stdout into OUT_NAME; exit code. */
static int run_aurl(const char *out_name, const char *const *args)
{
    const char *pre[] = {"-q", "--data", testutil_path("data"), "--outputs", testutil_path("outputs"), NULL};
    return testutil_run_aurl(pre, args, out_name, NULL);
}

/* run_aurl with stderr into ERR_NAME too. */
static int run_aurl_err(const char *out_name, const char *err_name, const char *const *args)
{
    const char *pre[] = {"-q", "--data", testutil_path("data"), "--outputs", testutil_path("outputs"), NULL};
    return testutil_run_aurl(pre, args, out_name, err_name);
}

static cJSON *read_json(const char *name)
{
    char *text = (char *)testutil_read_file(testutil_path(name), NULL);
    cJSON *o = cJSON_Parse(text);
    if (!o) fprintf(stderr, "not JSON: %s\n", text);
    free(text);
    assert_non_null(o);
    return o;
}

static double num(const cJSON *o, const char *a, const char *b, const char *c)
{
    const cJSON *x = cJSON_GetObjectItem(o, a);
    if (b) x = cJSON_GetObjectItem(x, b);
    if (c) x = cJSON_GetObjectItem(x, c);
    assert_true(cJSON_IsNumber(x));
    return x->valuedouble;
}

static void test_midi_folder(void **state)
{
    (void)state;
    const char *args[] = {"eval", "--checkpoint", ckpt_path, "--midi", testutil_path("eval"),
                          "--pieces", "2", "--length", "48", "--json", NULL};
    assert_int_equal(run_aurl("midi.json", args), 0);
    cJSON *o = read_json("midi.json");
    assert_int_equal((int)num(o, "data", "files", NULL), 2);
    const cJSON *rej = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "data"), "rejected");
    assert_int_equal(cJSON_GetArraySize(rej), 1);
    assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(rej, 0), "path")),
                           "broken.mid"));
    /* untrained: about uniform over 774 tokens */
    double loss = num(o, "model", "loss", NULL);
    assert_float_equal(loss, log(774.0), 0.3);
    assert_float_equal(num(o, "model", "perplexity", NULL), exp(loss), 1e-6 * exp(loss));
    double acc = num(o, "model", "accuracy", NULL);
    assert_true(acc >= 0 && acc < 0.1);
    /* the baselines know the data: well below the untrained model */
    double uni = num(o, "baselines", "unigram", "loss"), bi = num(o, "baselines", "bigram", "loss");
    assert_true(uni < loss - 1.0);
    assert_true(bi < uni);
    assert_true(num(o, "baselines", "bigram", "accuracy") > acc);
    assert_true(num(o, "data", "targets", NULL) > 100);
    /* generation: 2 pieces of up to 48 raw tokens (raw sampling may end
     * early); a random model breaks the grammar often */
    assert_int_equal((int)num(o, "generation", "pieces", NULL), 2);
    double ntok = num(o, "generation", "tokens", NULL);
    assert_true(ntok >= 2 && ntok <= 2 * (48 + 2)); /* each closed with at most a due DURATION and END */
    double rate = num(o, "generation", "grammar_error_rate", NULL);
    assert_true(rate > 0 && rate <= 1);
    /* by kind: they add up to the errors */
    const cJSON *kinds = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "generation"), "grammar_error_kinds");
    double sum = 0;
    const cJSON *k;
    cJSON_ArrayForEach(k, kinds) sum += k->valuedouble;
    int applies = 0; /* the kinds of the model's vocabulary (v2 by default) */
    for (int i = 1; i < GRAMMAR_N_KINDS; i++) applies += grammar_kind_applies((grammar_error_kind)i, TOK_VOCAB_V2);
    assert_int_equal(cJSON_GetArraySize(kinds), applies);
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(kinds, "no_duration")));
    assert_null(cJSON_GetObjectItem(kinds, "note_off_silent"));
    assert_float_equal(sum, num(o, "generation", "grammar_errors", NULL), 0);
    /* the music metrics beside the data's */
    const cJSON *gm = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "generation"), "music");
    const cJSON *gnps = cJSON_GetObjectItem(cJSON_GetObjectItem(gm, "metrics"), "notes_per_second");
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(gnps, "data")));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(gm, "terms")));
    assert_true(num(o, "generation", "stats", "pieces") == 2);
    /* the data statistics match the two files */
    assert_int_equal((int)num(o, "data_stats", "notes", NULL), 60 + 1 + 30 + 1);
    assert_int_equal((int)num(o, "data_stats", "pitch_min", NULL), 38);
    assert_float_equal(num(o, "data_stats", "ioi_mean", NULL), 0.125, 1.0 / 64);
    const cJSON *h = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "data_stats"), "pitch_class_histogram");
    assert_int_equal(cJSON_GetArraySize(h), 12);
    cJSON_Delete(o);
}

static void test_val_split_and_table(void **state)
{
    (void)state;
    const char *args[] = {"eval", "--checkpoint", ckpt_path, "--pieces", "0", "--json", NULL};
    assert_int_equal(run_aurl("val.json", args), 0);
    cJSON *o = read_json("val.json");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "data"), "source")),
                        "val");
    assert_true(num(o, "data", "files", NULL) >= 1);
    assert_float_equal(num(o, "model", "loss", NULL), log(774.0), 0.3);
    assert_int_equal((int)num(o, "generation", "pieces", NULL), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "generation"), "grammar_error_rate")));
    cJSON_Delete(o);
    /* the human table names the rows */
    const char *targs[] = {"eval", "--checkpoint", ckpt_path, "--pieces", "1", "--length", "16", NULL};
    assert_int_equal(run_aurl("table.txt", targs), 0);
    char *t = (char *)testutil_read_file(testutil_path("table.txt"), NULL);
    assert_non_null(strstr(t, "unigram baseline"));
    assert_non_null(strstr(t, "bigram baseline"));
    assert_non_null(strstr(t, "grammar errors before masking"));
    assert_non_null(strstr(t, "notes per second"));
    assert_non_null(strstr(t, "scale consistency"));
    assert_non_null(strstr(t, "distance to the data"));
    free(t);
}

static void test_music(void **state)
{
    (void)state;
    const char *args[] = {"eval", "--music", testutil_path("music/a.mid"), "--json", NULL};
    assert_int_equal(run_aurl("music.json", args), 0);
    cJSON *o = read_json("music.json");
    assert_int_equal((int)num(o, "files", NULL, NULL), 1);
    assert_int_equal((int)num(o, "stats", "notes", NULL), 33);
    assert_float_equal(num(o, "stats", "notes_per_second", NULL), 33 / 4.0, 0.05);
    assert_float_equal(num(o, "stats", "scale_consistency", NULL), 1.0, 1e-9);
    assert_float_equal(num(o, "stats", "polyphony_mean", NULL), 2.0, 1e-9); /* melody over the bass */
    assert_float_equal(num(o, "stats", "polyphony_rate", NULL), 1.0, 1e-9);
    assert_float_equal(num(o, "stats", "groove_consistency", NULL), 1.0, 1e-9); /* every 16th, both bars */
    assert_float_equal(num(o, "stats", "empty_beat_rate", NULL), 0.0, 1e-9);
    assert_float_equal(num(o, "stats", "drum_share", NULL), 0.0, 0);
    assert_float_equal(num(o, "stats", "median_note_length", NULL), 0.125, 1.0 / 64);
    /* C 9 times (C4, C5 four times each and the bass), D E F G A B 4 times each */
    double h = -(9.0 / 33 * log2(9.0 / 33) + 6 * (4.0 / 33 * log2(4.0 / 33)));
    assert_float_equal(num(o, "stats", "pitch_class_entropy", NULL), h, 1e-9);
    /* the data: the cache's training split, ratio and distance */
    assert_true(num(o, "data", "files", NULL) >= 1);
    assert_true(num(o, "data_stats", "notes", NULL) > 0);
    const cJSON *nps = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "music"), "metrics"),
                                           "notes_per_second");
    assert_float_equal(cJSON_GetObjectItem(nps, "ratio")->valuedouble,
                       num(o, "stats", "notes_per_second", NULL) / num(o, "data_stats", "notes_per_second", NULL),
                       1e-9);
    double dist = num(o, "music", "distance", NULL);
    assert_true(dist >= 0 && dist < MUSIC_COMPARE_TERM_CAP);
    cJSON_Delete(o);

    /* a folder with a bad file, and a file: the bad one is named, the rest counts */
    const char *targs[] = {"eval", "--music", testutil_path("music/more"), testutil_path("music/a.mid"), NULL};
    assert_int_equal(run_aurl_err("music.txt", "music.err", targs), 0);
    char *t = (char *)testutil_read_file(testutil_path("music.txt"), NULL);
    char *e = (char *)testutil_read_file(testutil_path("music.err"), NULL);
    assert_non_null(strstr(t, "2 MIDI files read"));
    assert_non_null(strstr(t, "bad.mid"));
    assert_non_null(strstr(e, "bad.mid"));
    assert_non_null(strstr(t, "groove consistency"));
    assert_non_null(strstr(t, "distance to the data"));
    free(t);
    free(e);

    /* no cache: the files alone, said so */
    const char *pre[] = {"-q", "--data", testutil_path("nodata"), NULL};
    const char *nargs[] = {"eval", "--music", testutil_path("music/a.mid"), NULL};
    assert_int_equal(testutil_run_aurl(pre, nargs, "alone.txt", NULL), 0);
    t = (char *)testutil_read_file(testutil_path("alone.txt"), NULL);
    assert_non_null(strstr(t, "the files alone"));
    assert_non_null(strstr(t, "notes per second"));
    assert_null(strstr(t, "distance to the data"));
    free(t);

    /* a missing path: exit 2 naming it; no input; only bad files; --music with a checkpoint */
    const char *missing[] = {"eval", "--music", testutil_path("music/nope.mid"), NULL};
    assert_int_equal(run_aurl_err("m.txt", "m.err", missing), 2);
    e = (char *)testutil_read_file(testutil_path("m.err"), NULL);
    assert_non_null(strstr(e, "nope.mid"));
    free(e);
    const char *none[] = {"eval", "--music", NULL};
    assert_int_equal(run_aurl("m.txt", none), 2);
    const char *bad[] = {"eval", "--music", testutil_path("music/more/bad.mid"), NULL};
    assert_int_equal(run_aurl_err("m.txt", "m.err", bad), 2);
    const char *both[] = {"eval", "--music", "--checkpoint", ckpt_path, testutil_path("music"), NULL};
    assert_int_equal(run_aurl("m.txt", both), 2);
}

static void test_errors(void **state)
{
    (void)state;
    const char *bad1[] = {"eval", "--pieces", "x", NULL};
    assert_int_equal(run_aurl("e.txt", bad1), 2);
    const char *bad2[] = {"eval", "--bogus", NULL};
    assert_int_equal(run_aurl("e.txt", bad2), 2);
    const char *bad3[] = {"eval", "--checkpoint", testutil_path("nope.ckpt"), NULL};
    assert_int_equal(run_aurl("e.txt", bad3), 2);
    const char *bad4[] = {"eval", "--checkpoint", ckpt_path, "--midi", testutil_path("nodir"), NULL};
    assert_int_equal(run_aurl("e.txt", bad4), 2);
    /* a checkpoint file that is not one */
    const char *junk = testutil_write_file("junk.ckpt", "not a checkpoint");
    const char *bad5[] = {"eval", "--checkpoint", junk, NULL};
    assert_int_equal(run_aurl("e.txt", bad5), 2);
    /* no checkpoint at all in the outputs dir: run `aurl train` first */
    const char *none[] = {"eval", NULL};
    assert_int_equal(run_aurl("e.txt", none), 1);
    const char *help[] = {"eval", "--help", NULL};
    assert_int_equal(run_aurl("help.txt", help), 0);
    char *t = (char *)testutil_read_file(testutil_path("help.txt"), NULL);
    assert_non_null(strstr(t, "--midi DIR"));
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_midi_folder),
        cmocka_unit_test(test_val_split_and_table),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_music),
    };
    return cmocka_run_group_tests(tests, setup, testutil_tmpdir_teardown);
}
