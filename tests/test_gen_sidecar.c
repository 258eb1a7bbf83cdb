/* test_gen_sidecar: the generated piece's JSON sidecar (engine/sample/
 * gen_sidecar): a write/read round trip of every member (transformer mode,
 * VAE prior and VAE interpolation), gen_sidecar_fill from a sampling run,
 * the file's keys as `aurl generate` documents them, damaged and missing
 * files (an error naming the file, never a crash), and missing or mistyped
 * members (unknown values, not errors). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"
#include "engine/sample/gen_sidecar.h"
#include "testutil.h"

/* A sidecar with every member set to a distinct value. */
static void full_sidecar(gen_sidecar *sc, int vae_kind)
{
    gen_sidecar_init(sc);
    snprintf(sc->midi, sizeof sc->midi, "/out/generated/x_top_p_s7.mid");
    snprintf(sc->checkpoint, sizeof sc->checkpoint, "/out/checkpoints/stage2_best.ckpt");
    sc->stage = 2;
    gen_sidecar_settings *st = &sc->settings;
    snprintf(st->mode, sizeof st->mode, "%s", vae_kind ? "vae" : "transformer");
    snprintf(st->strategy, sizeof st->strategy, "top_p");
    st->temperature = 0.9;
    st->top_k = 40;
    st->top_p = 0.95;
    st->beams = 4;
    st->length_penalty = 1.25;
    st->repetition_penalty = 1.1;
    st->length = 512;
    st->seconds = 30;
    st->min_tokens = 64;
    st->max_note_seconds = 8;
    st->grammar = 1;
    snprintf(st->precision, sizeof st->precision, "bf16");
    st->seed = 123456789012345LL; /* cJSON keeps 15 digits exactly */
    snprintf(st->prime, sizeof st->prime, "%s", vae_kind ? "" : "primer \"q\".mid");
    sc->tokens = 600;
    sc->prime_end = 88;
    sc->prime_seconds = 3.25;
    sc->generated_tokens = 512;
    sc->notes = 77;
    sc->duration_seconds = 29.984375;
    sc->seconds_taken = 1.0 / 3;
    sc->first_token_seconds = 0.0123;
    sc->tokens_per_s = 1536.5;
    sc->grammar_errors = 0;
    sc->created_at = 1700000000.123;
    if (vae_kind) {
        gen_sidecar_vae *v = &sc->vae;
        v->present = 1;
        v->window = 64;
        v->latent_dim = 56;
        if (vae_kind == 1) {
            snprintf(v->z, sizeof v->z, "prior");
            v->z_seed = 5;
        } else {
            snprintf(v->z, sizeof v->z, "interpolation");
            snprintf(v->a, sizeof v->a, "a.mid");
            snprintf(v->b, sizeof v->b, "dir/b.mid");
            v->t = 0.375;
            v->index = 3;
            v->steps = 8;
            snprintf(v->method, sizeof v->method, "slerp");
        }
    }
}

static void assert_same(const gen_sidecar *a, const gen_sidecar *b)
{
    assert_string_equal(a->midi, b->midi);
    assert_string_equal(a->checkpoint, b->checkpoint);
    assert_int_equal(a->stage, b->stage);
    const gen_sidecar_settings *x = &a->settings, *y = &b->settings;
    assert_string_equal(x->mode, y->mode);
    assert_string_equal(x->strategy, y->strategy);
    assert_true(x->temperature == y->temperature && x->top_p == y->top_p);
    assert_true(x->length_penalty == y->length_penalty && x->repetition_penalty == y->repetition_penalty);
    assert_int_equal(x->top_k, y->top_k);
    assert_int_equal(x->beams, y->beams);
    assert_int_equal(x->length, y->length);
    assert_true(x->seconds == y->seconds && x->max_note_seconds == y->max_note_seconds);
    assert_int_equal(x->min_tokens, y->min_tokens);
    assert_int_equal(x->grammar, y->grammar);
    assert_string_equal(x->precision, y->precision);
    assert_true(x->seed == y->seed);
    assert_string_equal(x->prime, y->prime);
    assert_int_equal(a->tokens, b->tokens);
    assert_int_equal(a->prime_end, b->prime_end);
    assert_true(a->prime_seconds == b->prime_seconds);
    assert_int_equal(a->generated_tokens, b->generated_tokens);
    assert_int_equal(a->notes, b->notes);
    assert_true(a->duration_seconds == b->duration_seconds);
    assert_true(a->seconds_taken == b->seconds_taken);
    assert_true(a->first_token_seconds == b->first_token_seconds);
    assert_true(a->tokens_per_s == b->tokens_per_s);
    assert_int_equal(a->grammar_errors, b->grammar_errors);
    assert_true(a->created_at == b->created_at);
    assert_int_equal(a->vae.present, b->vae.present);
    if (!a->vae.present) return;
    const gen_sidecar_vae *v = &a->vae, *w = &b->vae;
    assert_int_equal(v->window, w->window);
    assert_int_equal(v->latent_dim, w->latent_dim);
    assert_string_equal(v->z, w->z);
    assert_int_equal(v->z_seed, w->z_seed);
    assert_string_equal(v->a, w->a);
    assert_string_equal(v->b, w->b);
    assert_true(v->t == w->t);
    assert_int_equal(v->index, w->index);
    assert_int_equal(v->steps, w->steps);
    assert_string_equal(v->method, w->method);
}

static void test_round_trip(void **state)
{
    (void)state;
    gen_sidecar *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    char err[AURL_ERR_LEN];
    for (int kind = 0; kind < 3; kind++) {
        full_sidecar(a, kind);
        const char *path = testutil_path("gen/rt.json");
        testutil_write_file("gen/rt.json", "old contents"); /* replaced atomically */
        assert_int_equal(gen_sidecar_write(path, a, err), 0);
        memset(b, 0x5a, sizeof *b);
        if (gen_sidecar_read(path, b, err)) fail_msg("%s", err);
        assert_same(a, b);
        /* the one-line form parses to the same */
        char *line = gen_sidecar_to_json(a, 0);
        assert_non_null(line);
        assert_null(strchr(line, '\n'));
        assert_int_equal(gen_sidecar_parse(line, strlen(line), b, err), 0);
        assert_same(a, b);
        free(line);
    }
    /* a prime of "" is written as null; unknown members of the vae stay out */
    full_sidecar(a, 1);
    char *text = gen_sidecar_to_json(a, 1);
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "settings");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(st, "prime")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "grammar")));
    const cJSON *vj = cJSON_GetObjectItemCaseSensitive(j, "vae");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(vj, "z_seed"));
    assert_null(cJSON_GetObjectItemCaseSensitive(vj, "method"));
    cJSON_Delete(j);
    free(text);
    free(a);
    free(b);
}

/* The keys of the file, in the order aurl generate has always written them. */
static void test_keys(void **state)
{
    (void)state;
    gen_sidecar *a = malloc(sizeof *a);
    assert_non_null(a);
    full_sidecar(a, 2);
    char *text = gen_sidecar_to_json(a, 0);
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    static const char *const top[] = {"midi", "checkpoint", "stage", "settings", "tokens", "prime_end",
                                      "prime_seconds", "generated_tokens", "notes", "duration_seconds",
                                      "seconds_taken", "first_token_seconds", "tokens_per_s", "grammar_errors",
                                      "created_at", "vae", NULL};
    static const char *const set[] = {"mode", "strategy", "temperature", "top_k", "top_p", "beams",
                                      "length_penalty", "repetition_penalty", "length", "seconds", "min_tokens",
                                      "max_note_seconds", "grammar", "precision", "seed", "prime", NULL};
    static const char *const vae[] = {"window", "latent_dim", "z", "a", "b", "t", "index", "steps", "method", NULL};
    const char *const *lists[3] = {top, set, vae};
    const cJSON *objs[3] = {j, cJSON_GetObjectItemCaseSensitive(j, "settings"), cJSON_GetObjectItemCaseSensitive(j, "vae")};
    for (int l = 0; l < 3; l++) {
        const cJSON *it = objs[l] ? objs[l]->child : NULL;
        for (const char *const *k = lists[l]; *k; k++, it = it->next) {
            assert_non_null(it);
            assert_string_equal(it->string, *k);
        }
        assert_null(it);
    }
    cJSON_Delete(j);
    free(text);
    free(a);
}

/* gen_sidecar_fill: settings rounded as typed, counts from the run. */
static void test_fill(void **state)
{
    (void)state;
    sampler_settings s;
    sampler_settings_default(&s);
    s.temperature = 0.9f;
    s.top_p = 0.93f;
    s.seed = 12;
    s.grammar = 0;
    int32_t tok[] = {TOK_START, TOK_TIME_SHIFT + 63, TOK_NOTE_ON + 39, TOK_TIME_SHIFT + 31, TOK_NOTE_OFF + 39, TOK_END};
    sampler_result r = {.tokens = tok, .n_tokens = 6, .prime_end = 4, .n_generated = 2, .grammar_errors = 1,
                        .seconds_taken = 0.5, .first_token_seconds = 0.125};
    score music;
    score_init(&music);
    assert_int_equal(score_add_note(&music, (score_note){1.0, 1.5, 60, 80, 0}), 0);
    gen_sidecar *sc = malloc(sizeof *sc);
    assert_non_null(sc);
    gen_sidecar_init(sc);
    gen_sidecar_fill(sc, &s, &r, &music);
    assert_true(sc->settings.temperature == 0.9);
    assert_true(sc->settings.top_p == 0.93);
    assert_int_equal(sc->settings.seed, 12);
    assert_int_equal(sc->settings.grammar, 0);
    assert_string_equal(sc->settings.strategy, "top_p");
    assert_int_equal(sc->settings.length, s.max_tokens);
    assert_int_equal(sc->tokens, 6);
    assert_int_equal(sc->prime_end, 4);
    assert_true(sc->prime_seconds == 1.5); /* 64 + 32 steps of 1/64 s */
    assert_int_equal(sc->generated_tokens, 2);
    assert_int_equal(sc->notes, 1);
    assert_true(sc->duration_seconds == 1.5);
    assert_true(sc->tokens_per_s == 4.0);
    assert_int_equal(sc->grammar_errors, 1);
    assert_true(sc->created_at > 1e9);
    assert_int_equal(sc->vae.present, 0);
    /* the KV cache's precision, resolved: fp32 and bf16 as asked, auto as this CPU runs it */
    assert_string_equal(sc->settings.precision, kv_precision_name(kv_precision_resolve(KV_PREC_AUTO)));
    s.precision = KV_PREC_FP32;
    gen_sidecar_fill(sc, &s, &r, &music);
    assert_string_equal(sc->settings.precision, "fp32");
    s.precision = KV_PREC_BF16;
    gen_sidecar_fill(sc, &s, &r, &music);
    assert_string_equal(sc->settings.precision, "bf16");
    char *line = gen_sidecar_to_json(sc, 0);
    assert_non_null(strstr(line, "\"precision\":\"bf16\""));
    free(line);
    score_free(&music);
    free(sc);
}

static void test_damaged_and_missing(void **state)
{
    (void)state;
    gen_sidecar *sc = malloc(sizeof *sc);
    assert_non_null(sc);
    char err[AURL_ERR_LEN];
    const char *missing = testutil_path("gen/nothing_here.json");
    assert_int_equal(gen_sidecar_read(missing, sc, err), -1);
    assert_non_null(strstr(err, missing));
    assert_int_equal(sc->tokens, -1);
    static const char *const bad[] = {"", "{\"notes\": ", "[1,2,3]", "\"a string\"", "null",
                                      "\x01\x02\xff\xfe", "{\"a\":[1,", NULL};
    for (const char *const *b = bad; *b; b++) {
        const char *p = testutil_write_file("gen/bad.json", *b);
        assert_int_equal(gen_sidecar_read(p, sc, err), -1);
        assert_non_null(strstr(err, p));
        assert_non_null(strstr(err, "JSON"));
        assert_int_equal(gen_sidecar_parse(*b, strlen(*b), sc, err), -1);
        assert_null(strstr(err, "gen/"));
    }
    /* a directory in place of the file */
    testutil_write_file("gen/dir.json/inside", "x");
    assert_int_equal(gen_sidecar_read(testutil_path("gen/dir.json"), sc, err), -1);
    assert_non_null(strstr(err, "dir.json"));
    /* truncated halfway through a real sidecar */
    gen_sidecar *full = malloc(sizeof *full);
    assert_non_null(full);
    full_sidecar(full, 2);
    char *text = gen_sidecar_to_json(full, 1);
    assert_non_null(text);
    assert_int_equal(gen_sidecar_parse(text, strlen(text) / 2, sc, err), -1);
    free(text);
    free(full);
    free(sc);
}

static void test_missing_keys(void **state)
{
    (void)state;
    gen_sidecar *sc = malloc(sizeof *sc);
    assert_non_null(sc);
    char err[AURL_ERR_LEN];
    /* an empty object: everything unknown */
    assert_int_equal(gen_sidecar_parse("{}", 2, sc, err), 0);
    assert_string_equal(sc->midi, "");
    assert_int_equal(sc->stage, -1);
    assert_int_equal(sc->tokens, -1);
    assert_int_equal(sc->notes, -1);
    assert_true(sc->duration_seconds == -1);
    assert_true(sc->settings.temperature == -1);
    assert_int_equal(sc->settings.seed, -1);
    assert_int_equal(sc->settings.grammar, -1);
    assert_string_equal(sc->settings.strategy, "");
    assert_int_equal(sc->vae.present, 0);
    /* mistyped, negative, fractional and out-of-range members are unknown;
     * the rest is read; guessed names are not the sidecar's keys */
    const char *odd = "{\"tokens\":\"many\",\"notes\":-4,\"generated_tokens\":2.5,\"stage\":1e300,"
                      "\"duration_seconds\":12.5,\"n_notes\":3,\"n_tokens\":9,\"duration\":4,"
                      "\"settings\":{\"strategy\":7,\"seed\":42,\"grammar\":1,\"top_p\":3,\"mode\":\"vae\"},"
                      "\"seed\":5,\"strategy\":\"greedy\",\"vae\":[1]}";
    assert_int_equal(gen_sidecar_parse(odd, strlen(odd), sc, err), 0);
    assert_int_equal(sc->tokens, -1);
    assert_int_equal(sc->notes, -1);
    assert_int_equal(sc->generated_tokens, -1);
    assert_int_equal(sc->stage, -1);
    assert_true(sc->duration_seconds == 12.5);
    assert_string_equal(sc->settings.strategy, "");
    assert_int_equal(sc->settings.seed, 42);
    assert_int_equal(sc->settings.grammar, -1);
    assert_true(sc->settings.top_p == -1);
    assert_string_equal(sc->settings.mode, "vae");
    assert_int_equal(sc->vae.present, 0);
    /* settings that are not an object; a long string is cut, not overrun */
    char big[6000];
    int n = snprintf(big, sizeof big, "{\"settings\":3,\"midi\":\"");
    memset(big + n, 'm', 5000);
    snprintf(big + n + 5000, sizeof big - (size_t)n - 5000, "\"}");
    assert_int_equal(gen_sidecar_parse(big, strlen(big), sc, err), 0);
    assert_int_equal(sc->settings.seed, -1);
    assert_int_equal(strlen(sc->midi), sizeof sc->midi - 1);
    free(sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_fill),              cmocka_unit_test(test_damaged_and_missing),
        cmocka_unit_test(test_missing_keys),
    };
    return cmocka_run_group_tests(tests, testutil_tmpdir_setup, testutil_tmpdir_teardown);
}
