/* test_generate: `aurl generate` end to end, spawning the built binary
 * ($BUILD/aurl, fork + exec) on a freshly initialised tiny checkpoint:
 * default checkpoint pick and output name (never overwriting), the .mid and
 * its sidecar JSON, --json, --progress, --prime (primer then continuation),
 * --out with --count, --count's batch equal to pieces alone, bad options (exit 2 with a message), a missing
 * checkpoint, VAE mode on a tiny stage-3 checkpoint (prior samples,
 * --interpolate with --steps, names and sidecars, the stage-3 requirement),
 * and, when /usr/bin/python3 has mido, that every file loads there with the
 * sidecar's note count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/midi_read.h"
#include "data/midi_write.h"
#include "engine/model/model_ckpt.h"
#include "engine/model/transformer.h"
#include "engine/model/vaegan.h"
#include "testutil.h"
#include "util/fileio.h"

static char outputs[512], ckpt[600];

/* Run $BUILD/aurl -q --outputs OUTPUTS ARGS... with stdout and stderr in
 * files out.txt / err.txt of the temp dir; returns the exit code. */
static int run_aurl(const char *const *args)
{
    const char *pre[] = {"-q", "--outputs", outputs, NULL};
    return testutil_run_aurl(pre, args, "out.txt", "err.txt");
}

static char *read_text(const char *name)
{
    return (char *)testutil_read_file(testutil_path(name), NULL);
}

static int setup(void **state)
{
    if (testutil_tmpdir_setup(state)) return -1;
    snprintf(outputs, sizeof outputs, "%s/out", testutil_tmpdir());
    char dir[600], err[AURL_ERR_LEN];
    snprintf(dir, sizeof dir, "%s/checkpoints", outputs);
    if (file_mkdirs(dir, err)) return -1;
    snprintf(ckpt, sizeof ckpt, "%s/stage1_best.ckpt", dir);
    model_config c = {.vocab_size = 774, .d_model = 32, .n_layers = 2, .n_heads = 2, .d_ff = 64,
                      .max_seq_len = 64, .attn = {ATTN_SLIDING, 32, 8}, .dropout = 0.0f, .positions = POS_LEARNED};
    transformer *m;
    if (transformer_create(&m, &c, 1, 1, 9, err)) return -1;
    int rc = model_ckpt_save(ckpt, m, NULL, NULL, err);
    transformer_free(m);
    return rc;
}

static cJSON *load_json(const char *path)
{
    unsigned char *t = testutil_read_file(path, NULL);
    cJSON *j = cJSON_Parse((char *)t);
    free(t);
    assert_non_null(j);
    return j;
}

static double num(const cJSON *j, const char *key)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!cJSON_IsNumber(x)) fail_msg("sidecar lacks number %s", key);
    return x->valuedouble;
}

/* Notes counted by python3-mido (note_on with velocity > 0), or -1 if mido is unavailable. */
static int mido_notes(const char *path)
{
    if (access("/usr/bin/python3", X_OK)) return -1;
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import sys, mido; f = mido.MidiFile(sys.argv[1]); "
             "print(sum(1 for t in f.tracks for m in t if m.type == \"note_on\" and m.velocity > 0))' '%s' 2>/dev/null",
             path);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    int n = -1;
    if (fscanf(p, "%d", &n) != 1) n = -1;
    int rc = pclose(p);
    return rc == 0 ? n : -1;
}

/* The .mid exists, its sidecar agrees with it (and with mido when present). */
static cJSON *check_piece(const char *mid)
{
    assert_true(file_is_regular(mid));
    char js[700];
    snprintf(js, sizeof js, "%.*s.json", (int)(strlen(mid) - 4), mid);
    cJSON *j = load_json(js);
    score s;
    char err[AURL_ERR_LEN];
    if (midi_read_file(mid, &s, NULL, err)) fail_msg("%s", err);
    assert_int_equal((double)s.n_notes, num(j, "notes"));
    score_free(&s);
    assert_int_equal(num(j, "grammar_errors"), 0);
    assert_true(num(j, "tokens") > num(j, "prime_end"));
    assert_true(num(j, "tokens_per_s") > 0);
    int mn = mido_notes(mid);
    if (mn >= 0) assert_int_equal(mn, (int)num(j, "notes"));
    else print_message("python3-mido not available: skipping the mido check\n");
    return j;
}

static void test_default_names(void **state)
{
    (void)state;
    const char *args[] = {"generate", "--length", "60", "--min-tokens", "50", "--seed", "3", NULL};
    assert_int_equal(run_aurl(args), 0);
    char mid[700], mid2[700];
    snprintf(mid, sizeof mid, "%s/generated/stage1_best_top_p_s3.mid", outputs);
    cJSON *j = check_piece(mid);
    assert_int_equal(num(j, "prime_end"), 1);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "settings");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(st, "strategy")->valuestring, "top_p");
    assert_int_equal(num(st, "seed"), 3);
    assert_non_null(strstr(cJSON_GetObjectItemCaseSensitive(j, "checkpoint")->valuestring, "stage1_best.ckpt"));
    cJSON_Delete(j);
    char *out = read_text("out.txt");
    assert_non_null(strstr(out, "stage1_best_top_p_s3.mid"));
    assert_non_null(strstr(out, "tokens/s"));
    free(out);
    /* the same again: a new name, the first file untouched */
    assert_int_equal(run_aurl(args), 0);
    snprintf(mid2, sizeof mid2, "%s/generated/stage1_best_top_p_s3_2.mid", outputs);
    cJSON_Delete(check_piece(mid2));
    /* greedy, beam: names say the strategy */
    const char *g[] = {"generate", "--strategy", "beam", "--beams", "3", "--length", "30", "--min-tokens", "0",
                       "--seed", "5", "--checkpoint", ckpt, NULL};
    assert_int_equal(run_aurl(g), 0);
    snprintf(mid, sizeof mid, "%s/generated/stage1_best_beam_s5.mid", outputs);
    cJSON_Delete(check_piece(mid));
}

static void test_json_progress_count(void **state)
{
    (void)state;
    char out[700];
    snprintf(out, sizeof out, "%s/piece.mid", testutil_tmpdir());
    const char *args[] = {"generate", "--json", "--progress", "--length", "40", "--count", "2", "--out", out,
                          "--strategy", "temperature", "--temperature", "0.8", NULL};
    assert_int_equal(run_aurl(args), 0);
    char *text = read_text("out.txt");
    char *nl = strchr(text, '\n');
    assert_non_null(nl);
    *nl = '\0';
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    assert_true(num(j, "generated_tokens") >= 40);
    cJSON_Delete(j);
    free(text);
    char *err = read_text("err.txt");
    assert_non_null(strstr(err, "progress 1 80\n"));
    assert_non_null(strstr(err, "progress 80 80\n"));
    free(err);
    char p1[700], p2[700];
    snprintf(p1, sizeof p1, "%s/piece_1.mid", testutil_tmpdir());
    snprintf(p2, sizeof p2, "%s/piece_2.mid", testutil_tmpdir());
    cJSON *a = check_piece(p1), *b = check_piece(p2);
    assert_int_equal(num(cJSON_GetObjectItemCaseSensitive(a, "settings"), "seed") + 1,
                     num(cJSON_GetObjectItemCaseSensitive(b, "settings"), "seed"));
    cJSON_Delete(a);
    cJSON_Delete(b);
}

static void test_prime(void **state)
{
    (void)state;
    score s;
    score_init(&s);
    for (int i = 0; i < 12; i++) {
        score_note n = {.onset = 0.25 * i, .offset = 0.25 * i + 0.2, .pitch = (uint8_t)(60 + i % 5), .velocity = 80};
        assert_int_equal(score_add_note(&s, n), 0);
    }
    char err[AURL_ERR_LEN], prime[700], out[700];
    snprintf(prime, sizeof prime, "%s/primer.mid", testutil_tmpdir());
    snprintf(out, sizeof out, "%s/cont.mid", testutil_tmpdir());
    assert_int_equal(midi_write_file(prime, &s, err), 0);
    score_free(&s);
    const char *args[] = {"generate", "--prime", prime, "--length", "40", "--out", out, "--strategy", "greedy", NULL};
    assert_int_equal(run_aurl(args), 0);
    cJSON *j = check_piece(out);
    assert_true(num(j, "prime_end") > 24); /* START + 12 NOTE_ON + 12 NOTE_OFF + shifts */
    assert_true(num(j, "notes") >= 12);
    assert_true(num(j, "prime_seconds") >= 2.75 - 1e-9);
    cJSON_Delete(j);
    char *o = read_text("out.txt");
    assert_non_null(strstr(o, "continuation starts at token"));
    free(o);
    /* a primer longer than the 64-token context keeps its end, with a note */
    score_init(&s);
    for (int i = 0; i < 60; i++) {
        score_note n = {.onset = 0.1 * i, .offset = 0.1 * i + 0.05, .pitch = (uint8_t)(50 + i % 20), .velocity = 70};
        assert_int_equal(score_add_note(&s, n), 0);
    }
    assert_int_equal(midi_write_file(prime, &s, err), 0);
    score_free(&s);
    assert_int_equal(run_aurl(args), 0);
    j = check_piece(out);
    assert_int_equal(num(j, "prime_end"), 64); /* START + the last 63 tokens */
    cJSON_Delete(j);
    char *e = read_text("err.txt");
    assert_non_null(strstr(e, "primer.mid"));
    free(e);
}

static void expect_usage_error(const char *const *args, const char *needle)
{
    assert_int_equal(run_aurl(args), 2);
    char *e = read_text("err.txt");
    if (!strstr(e, needle)) fail_msg("stderr lacks '%s': %s", needle, e);
    free(e);
}

static void test_errors(void **state)
{
    (void)state;
    const char *a1[] = {"generate", "--top-p", "1.5", NULL};
    expect_usage_error(a1, "--top-p");
    const char *a2[] = {"generate", "--strategy", "nucleus", NULL};
    expect_usage_error(a2, "--strategy");
    const char *a3[] = {"generate", "--length", "0", NULL};
    expect_usage_error(a3, "--length");
    const char *a4[] = {"generate", "--bogus", NULL};
    expect_usage_error(a4, "usage");
    const char *a5[] = {"generate", "--mode", "vae", "--checkpoint", ckpt, NULL};
    expect_usage_error(a5, "stage-3");
    const char *a5b[] = {"generate", "--mode", "vae", NULL}; /* the default pick is stage 1 */
    assert_int_equal(run_aurl(a5b), 1);
    char *e5 = read_text("err.txt");
    assert_non_null(strstr(e5, "VAE generation needs one: run `aurl train` through stage 3"));
    free(e5);
    const char *a5c[] = {"generate", "--interpolate", "a.mid", NULL};
    expect_usage_error(a5c, "two MIDI files");
    const char *a5d[] = {"generate", "--steps", "4", NULL};
    expect_usage_error(a5d, "--interpolate");
    const char *a5e[] = {"generate", "--mode", "transformer", "--interpolate", "a.mid", "b.mid", NULL};
    expect_usage_error(a5e, "--mode vae");
    const char *a5f[] = {"generate", "--mode", "vae", "--prime", "a.mid", NULL};
    expect_usage_error(a5f, "--prime");
    const char *a6[] = {"generate", "--checkpoint", "/nonexistent/x.ckpt", NULL};
    expect_usage_error(a6, "/nonexistent/x.ckpt");
    const char *bad = testutil_write_file("bad.ckpt", "not a checkpoint");
    const char *a7[] = {"generate", "--checkpoint", bad, NULL};
    expect_usage_error(a7, "bad.ckpt");
    const char *a8[] = {"generate", "--prime", "/nonexistent/p.mid", NULL};
    expect_usage_error(a8, "p.mid");
    const char *a9[] = {"generate", "--help", NULL};
    assert_int_equal(run_aurl(a9), 0);
    char *o = read_text("out.txt");
    assert_non_null(strstr(o, "--strategy"));
    free(o);
    /* no checkpoint at all: a runtime failure telling the user to train */
    char saved[512];
    snprintf(saved, sizeof saved, "%s", outputs);
    snprintf(outputs, sizeof outputs, "%s/empty", testutil_tmpdir());
    const char *a10[] = {"generate", NULL};
    assert_int_equal(run_aurl(a10), 1);
    char *e = read_text("err.txt");
    assert_non_null(strstr(e, "aurl train"));
    free(e);
    snprintf(outputs, sizeof outputs, "%s", saved);
}

/* A small MIDI file of n notes from pitch p0 at the temp path NAME. */
static const char *write_midi(const char *name, int n, int p0, double step)
{
    score s;
    score_init(&s);
    for (int i = 0; i < n; i++) {
        score_note nt = {.onset = step * i, .offset = step * i + step * 0.8, .pitch = (uint8_t)(p0 + (i * 3) % 12),
                         .velocity = 90};
        assert_int_equal(score_add_note(&s, nt), 0);
    }
    char err[AURL_ERR_LEN];
    const char *path = testutil_path(name);
    assert_int_equal(midi_write_file(path, &s, err), 0);
    score_free(&s);
    return path;
}

static const char *str(const cJSON *j, const char *key)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!cJSON_IsString(x)) fail_msg("sidecar lacks string %s", key);
    return x->valuestring;
}

static void test_vae(void **state)
{
    (void)state;
    /* a tiny stage-3 checkpoint in its own outputs dir */
    char saved[512], dir[600], err[AURL_ERR_LEN], v3[700];
    snprintf(saved, sizeof saved, "%s", outputs);
    snprintf(outputs, sizeof outputs, "%s/out3", testutil_tmpdir());
    snprintf(dir, sizeof dir, "%s/checkpoints", outputs);
    assert_int_equal(file_mkdirs(dir, err), 0);
    snprintf(v3, sizeof v3, "%s/stage3_best.ckpt", dir);
    model_config mc = {.vocab_size = 774, .d_model = 32, .n_layers = 1, .n_heads = 2, .d_ff = 64,
                       .max_seq_len = 64, .attn = {ATTN_FULL, 64, 8}, .dropout = 0.0f, .positions = POS_LEARNED};
    vae_config vc;
    vae_config_defaults(&vc);
    vc.enc_layers = 1;
    int ld[3] = {8, 4, 2}, ns[3] = {1, 4, 16};
    for (int l = 0; l < VAE_LEVELS; l++) {
        vc.latent_dim[l] = ld[l];
        vc.n_segments[l] = ns[l];
    }
    disc_config dc = disc_config_default();
    dc.embed = 8;
    dc.hidden = 16;
    vaegan_config gc;
    vaegan_config_defaults(&gc);
    vaegan *vg = NULL;
    int rc = vaegan_create(&vg, &mc, &vc, &dc, &gc, 1, 64, 21, err);
    if (rc) fail_msg("%s", err);
    /* scale the latent heads so the random encoder's means spread like
     * prior draws (mu) and z visibly steers the random decoder (proj) */
    vae *va = vaegan_vae(vg);
    for (int l = 0; l < VAE_LEVELS; l++)
        for (int k = 0; k < 2; k++) {
            char nm[64];
            snprintf(nm, sizeof nm, "latent.%s.%s.weight", vae_level_names[l], k ? "proj" : "mu");
            const nn_tensor *t = vae_tensor_find(va, nm);
            assert_non_null(t);
            for (size_t i = 0; i < t->numel; i++) t->param[i] *= k ? 100.0f : 10.0f;
        }
    rc = vaegan_save(v3, vg, NULL, err);
    vaegan_free(vg);
    if (rc) fail_msg("%s", err);

    /* prior samples: default pick, names, sidecars, length capped at T - 1 */
    const char *a1[] = {"generate", "--mode", "vae", "--count", "2", "--seed", "4", "--length", "500",
                        "--min-tokens", "10", "--progress", NULL};
    assert_int_equal(run_aurl(a1), 0);
    char mid[800];
    for (int i = 0; i < 2; i++) {
        snprintf(mid, sizeof mid, "%s/generated/stage3_best_vae_top_p_s%d.mid", outputs, 4 + i);
        cJSON *j = check_piece(mid);
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "settings"), *vj = cJSON_GetObjectItemCaseSensitive(j, "vae");
        assert_string_equal(str(st, "mode"), "vae");
        assert_int_equal(num(st, "length"), 63);
        assert_int_equal(num(j, "stage"), 3);
        assert_non_null(vj);
        assert_string_equal(str(vj, "z"), "prior");
        assert_int_equal(num(vj, "window"), 64);
        assert_int_equal(num(vj, "latent_dim"), 8 + 16 + 32);
        assert_int_equal(num(vj, "z_seed"), 4 + i);
        cJSON_Delete(j);
    }
    char *e = read_text("err.txt");
    assert_non_null(strstr(e, "at most 63 tokens"));
    assert_non_null(strstr(e, "progress 1 126\n")); /* two pieces of at most 63 tokens */
    free(e);

    /* interpolation: N + 1 pieces named by sources, index and seed; t recorded */
    const char *ma = write_midi("src_a.mid", 20, 48, 0.25), *mb = write_midi("src_b.mid", 30, 72, 0.125);
    const char *a2[] = {"generate", "--interpolate", ma, mb, "--steps", "2", "--strategy", "greedy", "--seed", "9",
                        "--checkpoint", v3, NULL};
    assert_int_equal(run_aurl(a2), 0);
    char *tok[3] = {0};
    for (int i = 0; i <= 2; i++) {
        snprintf(mid, sizeof mid, "%s/generated/stage3_best_interp_src_a_src_b_%dof2_s9.mid", outputs, i);
        cJSON *j = check_piece(mid);
        const cJSON *vj = cJSON_GetObjectItemCaseSensitive(j, "vae");
        assert_non_null(vj);
        assert_string_equal(str(vj, "z"), "interpolation");
        assert_string_equal(str(vj, "method"), "slerp");
        assert_true(fabs(num(vj, "t") - i / 2.0) < 1e-12);
        assert_int_equal(num(vj, "steps"), 2);
        assert_int_equal(num(vj, "index"), i);
        assert_non_null(strstr(str(vj, "a"), "src_a.mid"));
        assert_non_null(strstr(str(vj, "b"), "src_b.mid"));
        assert_int_equal(num(cJSON_GetObjectItemCaseSensitive(j, "settings"), "seed"), 9);
        cJSON_Delete(j);
        tok[i] = (char *)testutil_read_file(mid, NULL);
    }
    snprintf(mid, sizeof mid, "%s/generated/stage3_best_interp_src_a_src_b_3of2_s9.mid", outputs);
    assert_false(file_is_regular(mid));
    /* greedy with one seed: the pieces differ only through z, so the two ends differ */
    size_t la, lb;
    free(tok[0]);
    free(tok[1]);
    free(tok[2]);
    snprintf(mid, sizeof mid, "%s/generated/stage3_best_interp_src_a_src_b_0of2_s9.mid", outputs);
    unsigned char *ea = testutil_read_file(mid, &la);
    snprintf(mid, sizeof mid, "%s/generated/stage3_best_interp_src_a_src_b_2of2_s9.mid", outputs);
    unsigned char *eb = testutil_read_file(mid, &lb);
    assert_true(la != lb || memcmp(ea, eb, la));
    free(ea);
    free(eb);
    /* the same run again reproduces the ends exactly (new names, same bytes) */
    const char *a3[] = {"generate", "--interpolate", ma, mb, "--steps", "2", "--strategy", "greedy", "--seed", "9",
                        "--checkpoint", v3, "--lerp", "--json", NULL};
    assert_int_equal(run_aurl(a3), 0);
    snprintf(mid, sizeof mid, "%s/generated/stage3_best_interp_src_a_src_b_0of2_s9.mid", outputs);
    ea = testutil_read_file(mid, &la);
    snprintf(mid, sizeof mid, "%s/generated/stage3_best_interp_src_a_src_b_0of2_s9_2.mid", outputs);
    cJSON *j = check_piece(mid);
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(j, "vae"), "method"), "linear");
    cJSON_Delete(j);
    eb = testutil_read_file(mid, &lb);
    assert_true(la == lb && !memcmp(ea, eb, la));
    free(ea);
    free(eb);
    char *o = read_text("out.txt"); /* --json: three lines */
    int lines = 0;
    for (char *p = o; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, 3);
    free(o);

    /* plain generate with only a stage-3 checkpoint samples its prior, with a note */
    const char *a4[] = {"generate", "--seed", "2", NULL};
    assert_int_equal(run_aurl(a4), 0);
    snprintf(mid, sizeof mid, "%s/generated/stage3_best_vae_top_p_s2.mid", outputs);
    cJSON_Delete(check_piece(mid));
    /* with a transformer checkpoint beside it (newer than the stage-3 one), plain
     * generate picks the transformer and --mode vae still the stage-3 checkpoint */
    char t1[700];
    snprintf(t1, sizeof t1, "%s/stage2_best.ckpt", dir);
    size_t lt;
    unsigned char *bt = testutil_read_file(ckpt, &lt);
    testutil_write_bytes(t1, bt, lt);
    free(bt);
    const char *a6[] = {"generate", "--seed", "4", NULL};
    assert_int_equal(run_aurl(a6), 0);
    snprintf(mid, sizeof mid, "%s/generated/stage2_best_top_p_s4.mid", outputs);
    cJSON_Delete(check_piece(mid));
    const char *a7[] = {"generate", "--mode", "vae", "--seed", "4", NULL};
    assert_int_equal(run_aurl(a7), 0);
    snprintf(mid, sizeof mid, "%s/generated/stage3_best_vae_top_p_s4.mid", outputs);
    cJSON_Delete(check_piece(mid));
    /* a missing interpolation source: exit 2 naming it */
    const char *a5[] = {"generate", "--interpolate", ma, "/nonexistent/q.mid", NULL};
    expect_usage_error(a5, "q.mid");
    snprintf(outputs, sizeof outputs, "%s", saved);
}

/* --count N decodes the pieces as one batch; each is the piece a run alone
 * with its seed writes (the same MIDI bytes). */
static void test_count_batch_equals_alone(void **state)
{
    (void)state;
    char out[700], alone[700], p[700];
    snprintf(out, sizeof out, "%s/batch.mid", testutil_tmpdir());
    const char *args[] = {"generate", "--length", "70", "--min-tokens", "10", "--count", "3", "--seed", "20",
                          "--out", out, "--checkpoint", ckpt, NULL};
    assert_int_equal(run_aurl(args), 0);
    for (int i = 0; i < 3; i++) {
        char seed[16];
        snprintf(seed, sizeof seed, "%d", 20 + i);
        snprintf(alone, sizeof alone, "%s/alone_%d.mid", testutil_tmpdir(), i);
        const char *a1[] = {"generate", "--length", "70", "--min-tokens", "10", "--seed", seed, "--out", alone,
                            "--checkpoint", ckpt, NULL};
        assert_int_equal(run_aurl(a1), 0);
        snprintf(p, sizeof p, "%s/batch_%d.mid", testutil_tmpdir(), i + 1);
        cJSON_Delete(check_piece(p));
        size_t la, lb;
        unsigned char *a = testutil_read_file(alone, &la), *b = testutil_read_file(p, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, la);
        free(a);
        free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_names),
        cmocka_unit_test(test_json_progress_count),
        cmocka_unit_test(test_prime),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_vae),
        cmocka_unit_test(test_count_batch_equals_alone),
    };
    return cmocka_run_group_tests(tests, setup, testutil_tmpdir_teardown);
}
