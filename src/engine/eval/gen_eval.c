/* gen_eval: sample pieces raw and masked, count grammar errors (by kind)
 * and pool the music statistics of the masked ones (see the header). */
#include "engine/eval/gen_eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"
#include "engine/sample/sampler.h"
#include "util/clock.h"

/* Add the tokens of R (ids outside the vocabulary as UNK) to ACC. 0 or -1 (OOM). */
static int add_piece(music_stats_acc *acc, const sampler_result *r)
{
    uint16_t *t16 = malloc(((size_t)r->n_tokens + 1) * sizeof *t16);
    if (!t16) return -1;
    for (int k = 0; k < r->n_tokens; k++)
        t16[k] = r->tokens[k] >= 0 && r->tokens[k] < TOK_VOCAB_SIZE ? (uint16_t)r->tokens[k] : TOK_UNK;
    int rc = music_stats_acc_add_tokens(acc, t16, (size_t)r->n_tokens, r->vocab);
    free(t16);
    return rc;
}

/* Replay R's generated tokens through a grammar state under settings S,
 * classifying each (see gen_eval.h); adds to KINDS. */
static void classify_piece(const sampler_result *r, const sampler_settings *s, long kinds[GRAMMAR_N_KINDS])
{
    grammar_state g;
    grammar_init(&g, s->min_tokens, s->max_note_seconds);
    grammar_set_vocab(&g, r->vocab);
    for (int i = 1; i < r->prime_end && i < r->n_tokens; i++) grammar_feed(&g, r->tokens[i], 0);
    long run[GRAMMAR_N_KINDS] = {0}, first[GRAMMAR_N_KINDS] = {0}, errors = 0;
    int have_first = 0;
    int32_t close[GRAMMAR_CLOSE_MAX];
    for (int i = r->prime_end; i < r->n_tokens; i++) {
        int rest = r->n_tokens - i;
        if (rest <= GRAMMAR_CLOSE_MAX && grammar_close(&g, close, GRAMMAR_CLOSE_MAX) == rest &&
            memcmp(close, r->tokens + i, (size_t)rest * sizeof *close) == 0) {
            /* a boundary candidate: stopped before max_tokens means a generated END */
            grammar_error_kind end = i - r->prime_end < s->max_tokens ? grammar_classify(&g, TOK_END) : GRAMMAR_OK;
            long total = errors + (end != GRAMMAR_OK);
            if (!have_first || total == r->grammar_errors) {
                memcpy(first, run, sizeof run);
                first[end]++;
                have_first = 1;
                if (total == r->grammar_errors) break;
            }
        }
        grammar_error_kind k = grammar_classify(&g, r->tokens[i]);
        run[k]++;
        errors += k != GRAMMAR_OK;
        grammar_feed(&g, r->tokens[i], 1);
    }
    long counted = 0;
    for (int k = 1; k < GRAMMAR_N_KINDS; k++) counted += first[k];
    if (counted < r->grammar_errors) first[GRAMMAR_ERR_OTHER] += r->grammar_errors - counted;
    for (int k = 1; k < GRAMMAR_N_KINDS; k++) kinds[k] += first[k];
}

/* Piece I: raw for the grammar errors and the raw statistics, decoded by
 * default for the statistics. 0 or -1 (err set). */
static int gen_piece(const transformer *m, const grammar_limits *limits, int length, uint64_t seed,
                     gen_eval_result *out, music_stats_acc *acc, music_stats_acc *raw_acc, char err[AURL_ERR_LEN])
{
    sampler_settings s;
    sampler_settings_default(&s);
    s.max_tokens = length;
    s.min_tokens = length < 64 ? length / 2 : 64;
    s.seed = seed;
    for (int masked = 0; masked <= 1; masked++) {
        s.grammar = masked ? SAMPLER_MASK_TYPED : SAMPLER_MASK_RAW;
        s.data_limits = masked && limits;
        if (s.data_limits) s.limits = *limits;
        sampler_result r;
        if (sampler_generate(m, &s, NULL, 0, NULL, 0, NULL, NULL, &r, err) != 0) return -1;
        int rc = 0;
        if (!masked) {
            out->grammar_errors += r.grammar_errors;
            out->tokens += r.n_generated;
            classify_piece(&r, &s, out->error_kinds);
            rc = add_piece(raw_acc, &r);
        } else {
            rc = add_piece(acc, &r);
        }
        sampler_result_free(&r);
        if (rc) {
            errmsg_set(err, "out of memory");
            return -1;
        }
    }
    return 0;
}

int gen_eval_run(const transformer *m, const grammar_limits *limits, int pieces, int length, uint64_t seed, gen_eval_progress_fn progress,
                 void *user, gen_eval_result *out, char err[AURL_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    out->grammar_error_rate = NAN;
    music_stats_acc acc, raw_acc;
    music_stats_acc_init(&acc);
    music_stats_acc_init(&raw_acc);
    if (pieces > 0) {
        double t0 = clock_monotonic();
        for (int i = 0; i < pieces; i++) {
            if (gen_piece(m, limits, length, seed + (uint64_t)i, out, &acc, &raw_acc, err) != 0) return -1;
            out->pieces++;
            if (progress) progress(i + 1, pieces, user);
        }
        out->seconds = clock_monotonic() - t0;
    }
    if (out->tokens > 0) out->grammar_error_rate = (double)out->grammar_errors / out->tokens;
    music_stats_acc_result(&acc, &out->stats);
    music_stats_acc_result(&raw_acc, &out->raw_stats);
    return 0;
}

double gen_eval_pc_distance(const gen_eval_result *g, const music_stats *data)
{
    return g->pieces > 0 ? music_stats_pc_distance(g->stats.pc_hist, data->pc_hist) : NAN;
}
