/* test_grammar: the generation grammar mask (silent NOTE_OFFs, re-struck
 * notes, END before min_tokens, force-closing long notes across
 * instruments, closing a piece, per-family length, shortest-note and
 * polyphony limits, voice stealing) and, on random models, thousands of
 * sampled tokens checked by an independent tracker: no NOTE_OFF of a silent
 * note, every note closed, no note longer than the limit, length >= min,
 * the tokens decode and export to MIDI that reads back with the same notes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/cache.h"
#include "data/midi_read.h"
#include "data/midi_write.h"
#include "data/tokenizer.h"
#include "engine/sample/grammar.h"
#include "engine/sample/sampler.h"
#include "testutil.h"

#define ON(p) (TOK_NOTE_ON + (p) - TOK_PITCH_MIN)
#define OFF(p) (TOK_NOTE_OFF + (p) - TOK_PITCH_MIN)
#define SHIFT(steps) (TOK_TIME_SHIFT + (steps) - 1)

static int count_allowed(const grammar_state *g, int lo, int hi)
{
    uint8_t a[TOK_VOCAB_SIZE];
    grammar_mask(g, a);
    int n = 0;
    for (int t = lo; t < hi; t++) n += a[t];
    return n;
}

static void test_basic_mask(void **state)
{
    (void)state;
    grammar_state g;
    grammar_init(&g, 3, 8.0);
    assert_false(grammar_allows(&g, TOK_START));
    assert_false(grammar_allows(&g, TOK_PAD));
    assert_false(grammar_allows(&g, TOK_UNK));
    assert_false(grammar_allows(&g, TOK_END)); /* 0 < min_tokens 3 */
    assert_int_equal(count_allowed(&g, TOK_NOTE_OFF, TOK_TIME_SHIFT), 0);
    assert_int_equal(count_allowed(&g, TOK_NOTE_ON, TOK_NOTE_OFF), 88);
    assert_int_equal(count_allowed(&g, TOK_TIME_SHIFT, TOK_VELOCITY), 512);
    grammar_feed(&g, ON(60), 1);
    assert_true(grammar_allows(&g, OFF(60)));  /* a zero-length note, as the tokenizer writes them */
    assert_false(grammar_allows(&g, ON(60)));  /* already sounding */
    assert_false(grammar_allows(&g, OFF(61)));
    grammar_feed(&g, SHIFT(10), 1);
    assert_true(grammar_allows(&g, OFF(60)));
    assert_false(grammar_allows(&g, TOK_END));
    grammar_feed(&g, OFF(60), 1);
    assert_true(grammar_allows(&g, TOK_END)); /* 3 generated */
    assert_false(grammar_allows(&g, OFF(60)));
    assert_int_equal(g.errors, 0);
    grammar_feed(&g, OFF(60), 1); /* silent: an error */
    assert_int_equal(g.errors, 1);
    /* NOTE_OFF applies to the current instrument */
    grammar_feed(&g, ON(40), 1);
    grammar_feed(&g, TOK_INSTRUMENT + 5, 1);
    grammar_feed(&g, SHIFT(2), 1);
    assert_false(grammar_allows(&g, OFF(40)));
    grammar_feed(&g, TOK_INSTRUMENT + 0, 1);
    assert_true(grammar_allows(&g, OFF(40)));
    int32_t seq[] = {TOK_START, ON(60), SHIFT(5), OFF(60), OFF(60), OFF(70), TOK_END};
    assert_int_equal(grammar_count_errors(seq, 7, TOK_VOCAB_V1), 2);
}

static void test_force_close(void **state)
{
    (void)state;
    grammar_state g;
    grammar_init(&g, 0, 1.0); /* 64 steps */
    grammar_feed(&g, ON(60), 1);
    grammar_feed(&g, SHIFT(40), 1);
    grammar_feed(&g, ON(62), 1);
    /* shifts may not take note 60 past 64 steps */
    assert_true(grammar_allows(&g, SHIFT(24)));
    assert_false(grammar_allows(&g, SHIFT(25)));
    assert_int_equal(count_allowed(&g, TOK_TIME_SHIFT, TOK_VELOCITY), 24);
    grammar_feed(&g, SHIFT(24), 1);
    /* expired: only its NOTE_OFF */
    assert_int_equal(count_allowed(&g, 0, TOK_VOCAB_SIZE), 1);
    assert_true(grammar_allows(&g, OFF(60)));
    grammar_feed(&g, OFF(60), 1);
    assert_true(grammar_allows(&g, OFF(62)));
    assert_true(grammar_allows(&g, SHIFT(40)));
    assert_false(grammar_allows(&g, SHIFT(41)));
    /* an expired note on another instrument: only the switch back is allowed */
    grammar_feed(&g, TOK_INSTRUMENT + 3, 1);
    grammar_feed(&g, ON(70), 1); /* an INSTRUMENT is followed by an event of it */
    grammar_feed(&g, SHIFT(40), 1);
    uint8_t a[TOK_VOCAB_SIZE];
    assert_int_equal(grammar_mask(&g, a), 1);
    assert_true(a[TOK_INSTRUMENT + 0]);
    assert_int_equal(g.errors, 0);
}

/* Independent check of a generated START..END string: tracks sounding
 * notes itself; returns the number of NOTE_ONs and fails on violations. */
static int check_sequence(const int32_t *t, int n, int from, double max_note_s)
{
    static int64_t on[16][128];
    for (int i = 0; i < 16; i++)
        for (int p = 0; p < 128; p++) on[i][p] = -1;
    int inst = 0, notes = 0;
    int64_t now = 0;
    assert_int_equal(t[0], TOK_START);
    assert_int_equal(t[n - 1], TOK_END);
    for (int i = 1; i < n - 1; i++) {
        int x = t[i];
        assert_true(x > TOK_UNK && x < TOK_VOCAB_SIZE);
        if (x < TOK_NOTE_OFF) {
            if (i >= from) assert_true(on[inst][x - TOK_NOTE_ON] < 0);
            on[inst][x - TOK_NOTE_ON] = now;
            notes++;
        } else if (x < TOK_TIME_SHIFT) {
            if (i >= from) {
                if (on[inst][x - TOK_NOTE_OFF] < 0) fail_msg("token %d: NOTE_OFF of a silent note", i);
            }
            on[inst][x - TOK_NOTE_OFF] = -1;
        } else if (x < TOK_VELOCITY) {
            now += x - TOK_TIME_SHIFT + 1;
            for (int a = 0; a < 16; a++)
                for (int p = 0; p < 128; p++)
                    if (on[a][p] >= 0 && now - on[a][p] > max_note_s * TOK_STEPS_PER_SECOND + 1e-9)
                        fail_msg("token %d: a note sounds longer than %g s", i, max_note_s);
        } else if (x >= TOK_INSTRUMENT) {
            inst = x - TOK_INSTRUMENT;
        }
    }
    for (int a = 0; a < 16; a++)
        for (int p = 0; p < 128; p++) assert_true(on[a][p] < 0); /* all closed before END */
    return notes;
}

static void decode_and_export(const sampler_result *r, int notes, const char *name)
{
    uint16_t *t16 = malloc((size_t)r->n_tokens * sizeof *t16);
    for (int i = 0; i < r->n_tokens; i++) t16[i] = (uint16_t)r->tokens[i];
    score s, back;
    assert_int_equal(tok_decode(t16, (size_t)r->n_tokens, &s), 0);
    assert_int_equal((int)s.n_notes, notes);
    for (size_t i = 0; i < s.n_notes; i++) assert_true(s.notes[i].offset >= s.notes[i].onset);
    char err[AURL_ERR_LEN];
    const char *path = testutil_path(name);
    if (midi_write_file(path, &s, err)) fail_msg("%s", err);
    if (midi_read_file(path, &back, NULL, err)) fail_msg("%s", err);
    assert_int_equal(back.n_notes, s.n_notes);
    score_free(&s);
    score_free(&back);
    free(t16);
}

static void test_random_models(void **state)
{
    (void)state;
    char err[AURL_ERR_LEN];
    int total = 0;
    for (int k = 0; k < 4; k++) {
        model_config c = {.vocab_size = TOK_VOCAB_SIZE, .d_model = 32, .n_layers = 2, .n_heads = 2, .d_ff = 64,
                          .max_seq_len = 64, .attn = {(attn_kind)(k % 3), 16, 4}, .dropout = 0.0f,
                          .positions = k != 1 ? POS_LEARNED : POS_SINUSOIDAL};
        transformer *m;
        assert_int_equal(transformer_create(&m, &c, 1, 1, 100 + (uint64_t)k, err), 0);
        sampler_settings s;
        sampler_settings_default(&s);
        s.strategy = k == 3 ? SAMPLER_TEMPERATURE : SAMPLER_TOP_P;
        s.temperature = 1.5f;
        s.max_tokens = 600;
        s.min_tokens = 520;
        s.max_note_seconds = k == 2 ? 2.0 : 8.0;
        s.seed = (uint64_t)k;
        /* a primer with a note left sounding and an instrument switch */
        int32_t prefix[] = {ON(60), SHIFT(30), TOK_INSTRUMENT + 2, ON(64), SHIFT(10)};
        sampler_result r;
        assert_int_equal(sampler_generate(m, &s, prefix, k % 2 ? 5 : 0, NULL, 0, NULL, NULL, &r, err), 0);
        assert_int_equal(r.grammar_errors, 0);
        assert_true(r.n_generated >= s.min_tokens);
        int notes = check_sequence(r.tokens, r.n_tokens, r.prime_end, s.max_note_seconds);
        char name[32];
        snprintf(name, sizeof name, "rand%d.mid", k);
        decode_and_export(&r, notes, name);
        total += r.n_generated;
        sampler_result_free(&r);
        transformer_free(m);
    }
    print_message("checked %d generated tokens\n", total);
    assert_true(total >= 2000);
}

/* Without the mask the errors are counted (and the result still closes). */
static void test_no_grammar_counts_errors(void **state)
{
    (void)state;
    char err[AURL_ERR_LEN];
    model_config c = {.vocab_size = TOK_VOCAB_SIZE, .d_model = 32, .n_layers = 1, .n_heads = 2, .d_ff = 64,
                      .max_seq_len = 64, .attn = {ATTN_FULL, 16, 4}, .dropout = 0.0f, .positions = POS_LEARNED};
    transformer *m;
    assert_int_equal(transformer_create(&m, &c, 1, 1, 5, err), 0);
    sampler_settings s;
    sampler_settings_default(&s);
    s.grammar = 0;
    s.max_tokens = 400;
    s.min_tokens = 0;
    sampler_result r;
    assert_int_equal(sampler_generate(m, &s, NULL, 0, NULL, 0, NULL, NULL, &r, err), 0);
    assert_true(r.grammar_errors > 0); /* near-uniform sampling hits silent NOTE_OFFs */
    assert_int_equal(r.tokens[r.n_tokens - 1], TOK_END);
    sampler_result_free(&r);
    transformer_free(m);
}

static void test_close(void **state)
{
    (void)state;
    grammar_state g;
    grammar_init(&g, 0, 8.0);
    int32_t seq[64] = {TOK_START};
    int n = 1;
    int32_t body[] = {ON(50), TOK_SUSTAIN_ON, SHIFT(3), TOK_INSTRUMENT + 7, ON(70), ON(71), SHIFT(2), ON(72)};
    for (size_t i = 0; i < sizeof body / sizeof *body; i++) {
        grammar_feed(&g, body[i], 1);
        seq[n++] = body[i];
    }
    int32_t close[GRAMMAR_CLOSE_MAX];
    int nc = grammar_close(&g, close, GRAMMAR_CLOSE_MAX);
    assert_true(nc >= 6 && nc <= 10);
    assert_int_equal(close[nc - 1], TOK_END);
    for (int i = 0; i < nc - 1; i++) {
        assert_true(grammar_allows(&g, close[i]));
        grammar_feed(&g, close[i], 1);
    }
    assert_int_equal(g.n_sounding, 0);
    assert_int_equal(g.sustain[0], 0);
    memcpy(seq + n, close, (size_t)nc * sizeof(int32_t));
    n += nc;
    assert_int_equal(check_sequence(seq, n, 1, 8.0), 4);
}

/* Grammar errors of the real collection (data/, fetched by `make test`)
 * in vocabulary VOCAB (v2: transcoded); its token count in *tokens. */
static long real_data_errors(int vocab, long *tokens)
{
    char err[AURL_ERR_LEN];
    cache *c;
    if (cache_ensure("data", 0, NULL, NULL, &c, err) != 0) fail_msg("%s", err);
    long errors = 0;
    *tokens = 0;
    for (size_t i = 0; i < cache_n_entries(c); i++) {
        const cache_entry *e = cache_entry_at(c, i);
        if (!e->n_tokens) continue;
        uint16_t *v = NULL;
        size_t n = e->n_tokens;
        if (vocab == TOK_VOCAB_V2) assert_int_equal(tok_transcode(e->tokens, e->n_tokens, vocab, &v, &n), 0);
        const uint16_t *src = v ? v : e->tokens;
        int32_t *t = malloc(sizeof *t * n);
        assert_non_null(t);
        for (size_t k = 0; k < n; k++) t[k] = src[k];
        errors += grammar_count_errors(t, (int)n, vocab);
        *tokens += (long)n;
        free(t);
        free(v);
    }
    cache_close(c);
    return errors;
}

/* The grammar must describe the data the model learns from: the real
 * collection breaks it only where the documented force-close rule ends
 * notes longer than 8 s. */
static void test_real_data_follows_the_grammar(void **state)
{
    (void)state;
    long tokens, errors = real_data_errors(TOK_VOCAB_V1, &tokens);
    print_message("real data: %ld grammar errors in %ld tokens (%.3f%%)\n", errors, tokens, 100.0 * errors / tokens);
    assert_true(tokens > 100000);
    assert_true(errors * 1000 < tokens); /* under 0.1% */
}

/* grammar_classify: GRAMMAR_OK exactly where grammar_allows, else the reason. */
/* A limits set: every family max MAX steps, min MIN steps, polyphony POLY;
 * drums min 0. */
static grammar_limits limits_of(int64_t max, int64_t min, int poly)
{
    grammar_limits L;
    for (int i = 0; i < SCORE_N_INSTRUMENTS; i++) {
        L.max_note_steps[i] = max;
        L.min_note_steps[i] = min;
        L.typical_note_steps[i] = min > 0 ? min : 1;
        L.max_poly[i] = poly;
    }
    L.min_note_steps[TOK_DRUM_FAMILY] = 0;
    return L;
}

/* Per-family limits: the length limit per family, the shortest note
 * (melodic only) and the polyphony limit, each classified when broken. */
static void test_family_limits(void **state)
{
    (void)state;
    grammar_state g;
    grammar_init(&g, 0, 8.0);
    grammar_limits L = limits_of(40, 4, 2);
    L.max_note_steps[2] = 100; /* organ holds longer */
    grammar_set_limits(&g, &L);
    grammar_feed(&g, ON(60), 1);
    /* shortest: no NOTE_OFF before 4 steps on piano */
    assert_false(grammar_allows(&g, OFF(60)));
    assert_int_equal(grammar_classify(&g, OFF(60)), GRAMMAR_ERR_OFF_TOO_SHORT);
    grammar_feed(&g, SHIFT(3), 1);
    assert_false(grammar_allows(&g, OFF(60)));
    grammar_feed(&g, SHIFT(1), 1);
    assert_true(grammar_allows(&g, OFF(60)));
    assert_int_equal(grammar_note_age(&g, 0, 60 - TOK_PITCH_MIN), 4);
    assert_int_equal(grammar_note_age(&g, 0, 61 - TOK_PITCH_MIN), -1);
    /* polyphony: two notes sound on piano, a third is refused */
    grammar_feed(&g, ON(64), 1);
    assert_false(grammar_allows(&g, ON(67)));
    assert_int_equal(grammar_classify(&g, ON(67)), GRAMMAR_ERR_POLY_LIMIT);
    /* ... but may steal the oldest voice (60, started before now) */
    assert_int_equal(grammar_steal_of(&g, 67 - TOK_PITCH_MIN), 60 - TOK_PITCH_MIN);
    assert_int_equal(grammar_steal_of(&g, 64 - TOK_PITCH_MIN), -1); /* sounding: not a steal */
    /* a sounding note may be re-struck once it has its shortest length:
     * 60 (4 steps) yes; 64 (started now) no */
    assert_true(grammar_restrike_ok(&g, 60 - TOK_PITCH_MIN));
    assert_false(grammar_restrike_ok(&g, 64 - TOK_PITCH_MIN));
    assert_false(grammar_restrike_ok(&g, 70 - TOK_PITCH_MIN)); /* silent */
    /* another instrument has its own count; organ's own length limit */
    grammar_feed(&g, TOK_INSTRUMENT + 2, 1);
    assert_true(grammar_allows(&g, ON(67)));
    grammar_feed(&g, ON(67), 1);
    /* piano's 40-step limit binds first: 60 started 4 steps ago, so 36 more */
    assert_true(grammar_allows(&g, SHIFT(36)));
    assert_false(grammar_allows(&g, SHIFT(37)));
    grammar_feed(&g, SHIFT(36), 1);
    /* force-close of piano notes: the organ note may stay */
    assert_false(grammar_allows(&g, OFF(67)));
    assert_true(grammar_allows(&g, TOK_INSTRUMENT + 0));
    /* drums: zero-length hits stay allowed */
    grammar_state d;
    grammar_init(&d, 0, 8.0);
    grammar_set_limits(&d, &L);
    grammar_feed(&d, TOK_INSTRUMENT + TOK_DRUM_FAMILY, 1);
    grammar_feed(&d, ON(38), 1);
    assert_true(grammar_allows(&d, OFF(38)));
    /* all notes started now: a steal would leave a zero-length note */
    grammar_feed(&d, ON(42), 1);
    assert_false(grammar_allows(&d, ON(46)));
    assert_int_equal(grammar_steal_of(&d, 46 - TOK_PITCH_MIN), -1);
    assert_int_equal(g.errors + d.errors, 0);
}

/* A routed NOTE_OFF respects the shortest length of the note it reaches. */
static void test_route_respects_min_length(void **state)
{
    (void)state;
    grammar_state g;
    grammar_init(&g, 0, 8.0);
    grammar_limits L = limits_of(400, 8, 0);
    grammar_set_limits(&g, &L);
    grammar_feed(&g, TOK_INSTRUMENT + 3, 0);
    grammar_feed(&g, ON(50), 0);
    grammar_feed(&g, SHIFT(2), 0);
    grammar_feed(&g, TOK_INSTRUMENT + 0, 0);
    assert_int_equal(grammar_route_of(&g, 50 - TOK_PITCH_MIN), -1); /* 2 steps old: too short */
    grammar_feed(&g, SHIFT(6), 0);
    assert_int_equal(grammar_route_of(&g, 50 - TOK_PITCH_MIN), 3);
}

/* The tokenizer's economy, the gap limit and the END-before-time rule. */
static void test_state_tokens_and_gaps(void **state)
{
    (void)state;
    grammar_state g;
    grammar_init(&g, 0, 8.0);
    grammar_feed(&g, TOK_VELOCITY + 5, 1);
    /* a VELOCITY is followed by its NOTE_ON only */
    assert_int_equal(count_allowed(&g, 0, TOK_VOCAB_SIZE), GRAMMAR_N_PITCHES);
    assert_int_equal(grammar_classify(&g, SHIFT(1)), GRAMMAR_ERR_STATE);
    grammar_feed(&g, ON(60), 1);
    grammar_feed(&g, TOK_TEMPO + 3, 1);
    assert_int_equal(grammar_classify(&g, TOK_TEMPO + 4), GRAMMAR_ERR_STATE); /* two tempos in a row */
    grammar_feed(&g, SHIFT(4), 1);
    assert_true(grammar_allows(&g, TOK_TEMPO + 4));
    grammar_feed(&g, TOK_INSTRUMENT + 5, 1);
    /* after an INSTRUMENT: no TIME_SHIFT, TEMPO, INSTRUMENT or END */
    assert_false(grammar_allows(&g, SHIFT(1)));
    assert_false(grammar_allows(&g, TOK_TEMPO + 1));
    assert_false(grammar_allows(&g, TOK_INSTRUMENT + 6));
    assert_false(grammar_allows(&g, TOK_END));
    assert_true(grammar_allows(&g, TOK_VELOCITY + 1) && grammar_allows(&g, ON(40)) && grammar_allows(&g, TOK_SUSTAIN_ON));
    grammar_feed(&g, ON(40), 1);
    assert_int_equal(g.errors, 0);

    /* gaps: at most 20 steps since the last onset; END not before 100 steps */
    grammar_limits L;
    memset(&L, 0, sizeof L);
    for (int i = 0; i < SCORE_N_INSTRUMENTS; i++) L.max_note_steps[i] = 512;
    L.max_gap_steps = 20;
    grammar_init(&g, 0, 8.0);
    grammar_set_limits(&g, &L);
    g.min_end_steps = 100;
    assert_int_equal(grammar_classify(&g, TOK_END), GRAMMAR_ERR_END_EARLY);
    assert_true(grammar_allows(&g, SHIFT(20)));
    assert_int_equal(grammar_classify(&g, SHIFT(21)), GRAMMAR_ERR_GAP);
    grammar_feed(&g, SHIFT(15), 1);
    grammar_feed(&g, ON(50), 1);
    assert_true(grammar_allows(&g, SHIFT(20)));
    assert_false(grammar_allows(&g, SHIFT(21)));
    grammar_feed(&g, SHIFT(20), 1);
    assert_false(grammar_allows(&g, SHIFT(1))); /* a note must start first */
    assert_true(grammar_allows(&g, ON(52)));
    for (int k = 0; k < 4; k++) {
        grammar_feed(&g, ON(52 + k), 1);
        grammar_feed(&g, SHIFT(20), 1);
    }
    assert_int_equal(g.now, 115);
    assert_true(grammar_allows(&g, TOK_END));
    assert_int_equal(g.errors, 0);
}

static void test_classify(void **state)
{
    (void)state;
    grammar_state g;
    grammar_init(&g, 4, 1.0); /* min 4 tokens, 64-step limit */
    assert_int_equal(grammar_classify(&g, TOK_START), GRAMMAR_ERR_SPECIAL);
    assert_int_equal(grammar_classify(&g, TOK_PAD), GRAMMAR_ERR_SPECIAL);
    assert_int_equal(grammar_classify(&g, TOK_UNK), GRAMMAR_ERR_SPECIAL);
    assert_int_equal(grammar_classify(&g, TOK_VOCAB_SIZE), GRAMMAR_ERR_SPECIAL);
    assert_int_equal(grammar_classify(&g, -1), GRAMMAR_ERR_SPECIAL);
    assert_int_equal(grammar_classify(&g, TOK_END), GRAMMAR_ERR_END_EARLY);
    assert_int_equal(grammar_classify(&g, OFF(60)), GRAMMAR_ERR_OFF_SILENT);
    assert_int_equal(grammar_classify(&g, ON(60)), GRAMMAR_OK);
    grammar_feed(&g, ON(60), 1);
    assert_int_equal(grammar_classify(&g, ON(60)), GRAMMAR_ERR_ON_SOUNDING);
    assert_int_equal(grammar_classify(&g, OFF(60)), GRAMMAR_OK);
    /* on another instrument, C4 sounds elsewhere: wrong instrument context */
    grammar_feed(&g, TOK_INSTRUMENT + 4, 1);
    assert_int_equal(grammar_classify(&g, OFF(60)), GRAMMAR_ERR_OFF_OTHER_INSTRUMENT);
    assert_int_equal(grammar_classify(&g, OFF(61)), GRAMMAR_ERR_OFF_SILENT);
    assert_int_equal(grammar_classify(&g, ON(60)), GRAMMAR_OK); /* a note of this instrument */
    assert_int_equal(grammar_classify(&g, SHIFT(10)), GRAMMAR_ERR_STATE); /* an INSTRUMENT needs an event */
    grammar_feed(&g, TOK_SUSTAIN_ON, 1);
    grammar_feed(&g, SHIFT(10), 1);
    assert_int_equal(grammar_classify(&g, SHIFT(54)), GRAMMAR_OK);
    assert_int_equal(grammar_classify(&g, SHIFT(55)), GRAMMAR_ERR_SHIFT_PAST_LIMIT);
    grammar_feed(&g, SHIFT(54), 1); /* C4 is at the limit, on instrument 0 */
    assert_true(g.generated >= 4);
    assert_int_equal(grammar_classify(&g, SHIFT(1)), GRAMMAR_ERR_SHIFT_PAST_LIMIT);
    assert_int_equal(grammar_classify(&g, TOK_END), GRAMMAR_ERR_LIMIT_OPEN);
    assert_int_equal(grammar_classify(&g, ON(70)), GRAMMAR_ERR_LIMIT_OPEN);
    assert_int_equal(grammar_classify(&g, TOK_VELOCITY + 3), GRAMMAR_ERR_LIMIT_OPEN);
    assert_int_equal(grammar_classify(&g, OFF(60)), GRAMMAR_ERR_OFF_OTHER_INSTRUMENT);
    assert_int_equal(grammar_classify(&g, TOK_INSTRUMENT + 0), GRAMMAR_OK);
    grammar_feed(&g, TOK_INSTRUMENT + 0, 1);
    grammar_feed(&g, OFF(60), 1);
    assert_int_equal(grammar_classify(&g, TOK_END), GRAMMAR_OK);
    /* a zero-length note struck again at the same step: other */
    grammar_feed(&g, ON(62), 1);
    grammar_feed(&g, OFF(62), 1);
    assert_int_equal(grammar_classify(&g, ON(62)), GRAMMAR_ERR_OTHER);
    grammar_feed(&g, TOK_END, 1);
    assert_int_equal(grammar_classify(&g, ON(64)), GRAMMAR_ERR_OTHER); /* after END */
    assert_int_equal(g.errors, 0);
    /* names for every kind, "?" outside */
    for (int k = 0; k < GRAMMAR_N_KINDS; k++) {
        assert_true(strlen(grammar_error_key((grammar_error_kind)k)) > 1);
        assert_true(strlen(grammar_error_label((grammar_error_kind)k)) > 1);
    }
    assert_string_equal(grammar_error_key(GRAMMAR_ERR_OFF_SILENT), "note_off_silent");
    assert_string_equal(grammar_error_key(GRAMMAR_N_KINDS), "?");
    assert_string_equal(grammar_error_label((grammar_error_kind)-1), "?");
    /* on every token of a random walk the classifier agrees with the mask */
    grammar_init(&g, 8, 0.5);
    uint32_t x = 12345;
    for (int i = 0; i < 3000 && !g.ended; i++) {
        uint8_t a[TOK_VOCAB_SIZE];
        grammar_mask(&g, a);
        for (int t = 0; t < TOK_VOCAB_SIZE; t++)
            assert_int_equal(grammar_classify(&g, t) == GRAMMAR_OK, a[t] != 0 && grammar_allows(&g, t));
        x = x * 1664525u + 1013904223u;
        int32_t tok = (int32_t)((x >> 8) % TOK_VOCAB_SIZE);
        if (tok == TOK_END && i < 2000) continue;
        grammar_feed(&g, tok, 1);
    }
}

/* ---- vocabulary v2 ---- */

#define DUR(b) (TOK_DURATION + (b))

static void v2_init(grammar_state *g, int min_tokens)
{
    grammar_init(g, min_tokens, 8.0);
    grammar_set_vocab(g, TOK_VOCAB_V2);
}

/* v2 rules: a melodic NOTE_ON is followed by its DURATION only, a DURATION
 * only follows one; notes end by their duration; a re-strike is allowed,
 * a second strike at the same step is not; drums take no DURATION. */
static void test_v2_rules(void **state)
{
    (void)state;
    grammar_state g;
    v2_init(&g, 0);
    assert_int_equal(count_allowed(&g, TOK_DURATION, TOK_DURATION + TOK_N_DURATIONS), 0);
    assert_int_equal(count_allowed(&g, TOK_NOTE_ON, TOK_DURATION), 88);
    grammar_feed(&g, ON(60), 1);
    /* only DURATIONs now */
    assert_int_equal(count_allowed(&g, 0, TOK_VOCAB_SIZE), TOK_N_DURATIONS);
    assert_int_equal(grammar_classify(&g, SHIFT(4)), GRAMMAR_ERR_NO_DURATION);
    assert_int_equal(grammar_classify(&g, TOK_END), GRAMMAR_ERR_NO_DURATION);
    grammar_feed(&g, DUR(9), 1); /* 10 steps */
    assert_int_equal(g.sounding_on[0], 1);
    assert_int_equal(grammar_classify(&g, DUR(3)), GRAMMAR_ERR_DURATION);
    assert_false(grammar_allows(&g, ON(60))); /* struck at this step already */
    assert_true(grammar_allows(&g, ON(62)));
    grammar_feed(&g, SHIFT(5), 1);
    assert_int_equal(grammar_note_age(&g, 0, 60 - TOK_PITCH_MIN), 5);
    assert_true(grammar_allows(&g, ON(60))); /* a re-strike */
    grammar_feed(&g, SHIFT(5), 1);
    assert_int_equal(g.sounding_on[0], 0); /* ended by its duration */
    assert_int_equal(grammar_note_age(&g, 0, 60 - TOK_PITCH_MIN), -1);
    /* drums: no DURATION after their NOTE_ON */
    grammar_feed(&g, TOK_INSTRUMENT + TOK_DRUM_FAMILY, 1);
    grammar_feed(&g, ON(38), 1);
    assert_false(grammar_allows(&g, DUR(3)));
    assert_true(grammar_allows(&g, SHIFT(2)));
    assert_int_equal(g.sounding_on[TOK_DRUM_FAMILY], 1);
    grammar_feed(&g, SHIFT(TOK_DRUM_STEPS), 1);
    assert_int_equal(g.sounding_on[TOK_DRUM_FAMILY], 0);
    assert_int_equal(g.errors, 0);
    /* a DURATION out of place is an error of its kind */
    grammar_feed(&g, DUR(4), 1);
    assert_int_equal(g.errors, 1);
}

/* v2 limits: DURATION bins inside the family's min..max length, polyphony
 * over the sounding notes (a re-strike replaces one), close gives the due
 * DURATION and raises pedals. */
static void test_v2_limits_and_close(void **state)
{
    (void)state;
    grammar_state g;
    v2_init(&g, 0);
    grammar_limits L = limits_of(40, 4, 2);
    L.max_note_steps[2] = 100;
    grammar_set_limits(&g, &L);
    grammar_feed(&g, ON(60), 1);
    for (int b = 0; b < TOK_N_DURATIONS; b++) {
        int st = tok_duration_steps(b);
        assert_int_equal(grammar_allows(&g, DUR(b)), st >= 4 && st <= 40);
    }
    grammar_feed(&g, DUR(tok_duration_bin(40)), 1);
    grammar_feed(&g, ON(64), 1);
    grammar_feed(&g, DUR(tok_duration_bin(20)), 1);
    assert_int_equal(g.sounding_on[0], 2);
    assert_false(grammar_allows(&g, ON(67)));                  /* polyphony 2 */
    assert_int_equal(grammar_classify(&g, ON(67)), GRAMMAR_ERR_POLY_LIMIT);
    grammar_feed(&g, SHIFT(1), 1);
    assert_true(grammar_allows(&g, ON(64)));                   /* a re-strike replaces a voice */
    grammar_feed(&g, SHIFT(20), 1);
    assert_true(grammar_allows(&g, ON(67)));                   /* 64 has ended */
    /* organ: its own, longer limit */
    grammar_feed(&g, TOK_INSTRUMENT + 2, 1);
    grammar_feed(&g, ON(50), 1);
    assert_true(grammar_allows(&g, DUR(tok_duration_bin(100))));
    assert_false(grammar_allows(&g, DUR(tok_duration_bin(200))));
    grammar_feed(&g, TOK_SUSTAIN_ON, 0); /* a prefix token instead of the DURATION: the default length */
    assert_int_equal(g.end_at[2][50 - TOK_PITCH_MIN], g.now + TOK_DRUM_STEPS);
    grammar_feed(&g, ON(52), 1);
    int32_t close[GRAMMAR_CLOSE_MAX];
    int nc = grammar_close(&g, close, GRAMMAR_CLOSE_MAX);
    assert_int_equal(nc, 3);
    assert_int_equal(close[0], DUR(g.dur_bins[2][0]));
    assert_int_equal(close[1], TOK_SUSTAIN_OFF);
    assert_int_equal(close[2], TOK_END);
    for (int i = 0; i < nc; i++) grammar_feed(&g, close[i], 1);
    assert_int_equal(g.errors, 0);
    assert_true(g.ended);
}

/* v2 on random models: every melodic NOTE_ON of the generated tokens has
 * its DURATION next, within the limits, no grammar error, and the piece
 * decodes with every note inside the length limit. */
static void test_v2_random_models(void **state)
{
    (void)state;
    char err[AURL_ERR_LEN];
    long notes = 0;
    for (int k = 0; k < 3; k++) {
        model_config c = {.vocab_size = TOK_VOCAB_SIZE, .d_model = 32, .n_layers = 2, .n_heads = 2, .d_ff = 64,
                          .max_seq_len = 64, .attn = {(attn_kind)(k % 3), 16, 4}, .positions = POS_LEARNED,
                          .tokenizer = TOK_VOCAB_V2};
        transformer *m;
        assert_int_equal(transformer_create(&m, &c, 1, 1, 300 + (uint64_t)k, err), 0);
        sampler_settings s;
        sampler_settings_default(&s);
        s.temperature = 1.5f;
        s.max_tokens = 600;
        s.min_tokens = 520;
        s.seed = (uint64_t)k;
        s.data_limits = 1;
        s.limits = limits_of(k == 1 ? 30 : 200, 2, 3);
        sampler_result r;
        assert_int_equal(sampler_generate(m, &s, NULL, 0, NULL, 0, NULL, NULL, &r, err), 0);
        assert_int_equal(r.vocab, TOK_VOCAB_V2);
        assert_int_equal(r.grammar_errors, 0);
        assert_int_equal(grammar_count_errors(r.tokens, r.n_tokens, TOK_VOCAB_V2), 0);
        int inst = 0;
        for (int i = 1; i < r.n_tokens; i++) {
            int32_t t = r.tokens[i];
            if (t >= TOK_INSTRUMENT) inst = t - TOK_INSTRUMENT;
            if (t >= TOK_NOTE_ON && t < TOK_DURATION && inst != TOK_DRUM_FAMILY) {
                assert_true(i + 1 < r.n_tokens);
                int32_t d = r.tokens[i + 1];
                assert_true(d >= TOK_DURATION && d < TOK_DURATION + TOK_N_DURATIONS);
                assert_true(tok_duration_steps(d - TOK_DURATION) <= s.limits.max_note_steps[inst]);
            }
        }
        uint16_t *t16 = malloc(sizeof *t16 * (size_t)r.n_tokens);
        assert_non_null(t16);
        for (int i = 0; i < r.n_tokens; i++) t16[i] = (uint16_t)r.tokens[i];
        score sc;
        assert_int_equal(tok_decode_vocab(t16, (size_t)r.n_tokens, TOK_VOCAB_V2, &sc), 0);
        for (size_t i = 0; i < sc.n_notes; i++)
            assert_true((sc.notes[i].offset - sc.notes[i].onset) * TOK_STEPS_PER_SECOND <=
                        (double)s.limits.max_note_steps[sc.notes[i].instrument] + 1e-6);
        notes += (long)sc.n_notes;
        score_free(&sc);
        free(t16);
        sampler_result_free(&r);
        transformer_free(m);
    }
    assert_true(notes > 50);
}

/* The real data transcoded to v2 breaks none of the v2 rules. */
static void test_v2_real_data_follows_the_grammar(void **state)
{
    (void)state;
    long tokens, errors = real_data_errors(TOK_VOCAB_V2, &tokens);
    print_message("real data in v2: %ld grammar errors in %ld tokens\n", errors, tokens);
    assert_true(tokens > 100000);
    assert_int_equal(errors, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_mask),
        cmocka_unit_test(test_force_close),
        cmocka_unit_test(test_close),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_family_limits),
        cmocka_unit_test(test_route_respects_min_length),
        cmocka_unit_test(test_state_tokens_and_gaps),
        cmocka_unit_test(test_no_grammar_counts_errors),
        cmocka_unit_test(test_random_models),
        cmocka_unit_test(test_real_data_follows_the_grammar),
        cmocka_unit_test(test_v2_rules),
        cmocka_unit_test(test_v2_limits_and_close),
        cmocka_unit_test(test_v2_random_models),
        cmocka_unit_test(test_v2_real_data_follows_the_grammar),
    };
    return cmocka_run_group_tests(tests, testutil_tmpdir_setup, testutil_tmpdir_teardown);
}
