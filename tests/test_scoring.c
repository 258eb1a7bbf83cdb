/* Tests of src/engine/eval/scoring and gen_eval on an untrained tiny
 * Transformer: metrics from sums, held-out scores over every window of a
 * dataset (target count, about ln 774 nats/token for a random model, the
 * n-gram baselines on the same targets, --batches style limits), and
 * generation: no piece, then seeded pieces with grammar errors, progress
 * and music statistics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>

#include "data/dataset.h"
#include "data/tokenizer.h"
#include "engine/eval/gen_eval.h"
#include "engine/eval/ngram.h"
#include "engine/eval/scoring.h"
#include "engine/model/model_yaml.h"
#include "engine/model/transformer.h"
#include "util/log.h"
#include "testutil.h"

#define B 4
#define T 16
#define N_SEQS 3

static transformer *g_model;
static uint16_t g_tok[N_SEQS][200];
static dataset_seq g_seqs[N_SEQS];

static int setup(void **state)
{
    (void)state;
    log_set_quiet(1);
    static const size_t lens[N_SEQS] = {50, 10, 130};
    for (int s = 0; s < N_SEQS; s++) {
        size_t n = lens[s];
        g_tok[s][0] = TOK_START;
        for (size_t i = 1; i + 1 < n; i++) g_tok[s][i] = (uint16_t)(TOK_NOTE_ON + 60 + (i % 2 ? 0 : 7));
        g_tok[s][n - 1] = TOK_END;
        g_seqs[s] = (dataset_seq){g_tok[s], n};
    }
    model_config cfg;
    testutil_tiny_model_config(&cfg);
    char err[AURL_ERR_LEN];
    return transformer_create(&g_model, &cfg, B, 64, 5, err);
}

static int teardown(void **state)
{
    (void)state;
    transformer_free(g_model);
    return 0;
}

static void test_metrics_of(void **state)
{
    (void)state;
    scoring_metrics m = scoring_metrics_of(0, 0, 0);
    assert_true(isnan(m.loss) && isnan(m.perplexity) && isnan(m.accuracy));
    m = scoring_metrics_of(2 * log(2.0), 2, 1);
    assert_float_equal(m.loss, log(2.0), 1e-12);
    assert_float_equal(m.perplexity, 2.0, 1e-12);
    assert_float_equal(m.accuracy, 0.5, 1e-12);
}

static void test_heldout(void **state)
{
    (void)state;
    char err[AURL_ERR_LEN];
    dataset *d;
    assert_int_equal(dataset_open_seqs(&d, g_seqs, N_SEQS, T, T, err), 0);
    ngram *g;
    assert_int_equal(ngram_create(&g, TOK_VOCAB_SIZE), 0);
    for (int s = 0; s < N_SEQS; s++) ngram_add_sequence(g, g_seqs[s].tokens, g_seqs[s].n);
    /* every target of every window: min(len - 1, T) per window */
    double want = 0;
    for (int s = 0; s < N_SEQS; s++) {
        size_t n = g_seqs[s].n;
        for (size_t k = 0; k < dataset_seq_n_windows(n, T, T); k++) {
            size_t len = n - dataset_seq_window_start(n, T, T, k);
            want += (double)(len - 1 < T ? len - 1 : T);
        }
    }
    scoring_result r;
    assert_int_equal(scoring_heldout(g_model, d, g, B, 0, &r, err), 0);
    assert_true(r.targets == want);
    assert_float_equal(r.model.loss, log(774.0), 0.3);
    assert_float_equal(r.model.perplexity, exp(r.model.loss), 1e-9 * r.model.perplexity);
    assert_true(r.model.accuracy >= 0 && r.model.accuracy < 0.2);
    /* the baselines know these sequences: the bigram nearly predicts them */
    assert_true(r.unigram.loss < r.model.loss - 1.0);
    assert_true(r.bigram.loss < r.unigram.loss);
    assert_true(r.bigram.accuracy > 0.8);
    assert_true(r.seconds >= 0);
    /* the same run again: the same scores */
    scoring_result r2;
    assert_int_equal(scoring_heldout(g_model, d, g, B, 0, &r2, err), 0);
    assert_true(r2.model.loss == r.model.loss && r2.model.accuracy == r.model.accuracy);
    /* one batch only, and no baselines */
    assert_int_equal(scoring_heldout(g_model, d, NULL, B, 1, &r2, err), 0);
    assert_true(r2.targets == B * T); /* the first 4 windows are whole */
    assert_true(isnan(r2.unigram.loss) && isnan(r2.bigram.accuracy));
    assert_true(isfinite(r2.model.loss));
    ngram_free(g);
    dataset_close(d);
}

static int g_progress[2][2], g_n_progress;

static void progress(int done, int total, void *user)
{
    assert_ptr_equal(user, &g_n_progress);
    if (g_n_progress < 2) {
        g_progress[g_n_progress][0] = done;
        g_progress[g_n_progress][1] = total;
    }
    g_n_progress++;
}

static void test_generation(void **state)
{
    (void)state;
    char err[AURL_ERR_LEN];
    gen_eval_result r;
    assert_int_equal(gen_eval_run(g_model, NULL, 0, 16, 1, progress, &g_n_progress, &r, err), 0);
    assert_int_equal(g_n_progress, 0);
    assert_int_equal(r.pieces, 0);
    assert_int_equal(r.tokens, 0);
    assert_true(r.seconds == 0 && isnan(r.grammar_error_rate));
    assert_int_equal(r.stats.n_pieces, 0);
    assert_true(isnan(gen_eval_pc_distance(&r, &r.stats)));

    assert_int_equal(gen_eval_run(g_model, NULL, 2, 16, 7, progress, &g_n_progress, &r, err), 0);
    assert_int_equal(g_n_progress, 2);
    assert_int_equal(g_progress[0][0], 1);
    assert_int_equal(g_progress[1][0], 2);
    assert_int_equal(g_progress[1][1], 2);
    assert_int_equal(r.pieces, 2);
    assert_true(r.tokens >= 2); /* raw sampling may stop early or close notes past the length */
    assert_true(r.grammar_errors > 0 && r.grammar_errors <= r.tokens); /* a random model breaks the grammar */
    assert_float_equal(r.grammar_error_rate, (double)r.grammar_errors / r.tokens, 1e-12);
    /* the kinds add up to the errors; a random v1 model mostly ends silent notes */
    long kinds = 0;
    assert_int_equal(r.error_kinds[GRAMMAR_OK], 0);
    for (int k = 0; k < GRAMMAR_N_KINDS; k++) kinds += r.error_kinds[k];
    assert_int_equal(kinds, r.grammar_errors);
    if (model_vocab(transformer_config(g_model)) == TOK_VOCAB_V2) /* ... or a NOTE_ON's DURATION */
        assert_true(r.error_kinds[GRAMMAR_ERR_NO_DURATION] + r.error_kinds[GRAMMAR_ERR_DURATION] > 0);
    else
        assert_true(r.error_kinds[GRAMMAR_ERR_OFF_SILENT] + r.error_kinds[GRAMMAR_ERR_OFF_OTHER_INSTRUMENT] > 0);
    assert_int_equal(r.stats.n_pieces, 2);
    assert_true(r.seconds > 0);
    /* seeded: the same pieces again */
    gen_eval_result r2;
    assert_int_equal(gen_eval_run(g_model, NULL, 2, 16, 7, NULL, NULL, &r2, err), 0);
    assert_int_equal(r2.tokens, r.tokens);
    assert_int_equal(r2.grammar_errors, r.grammar_errors);
    for (int k = 0; k < GRAMMAR_N_KINDS; k++) assert_int_equal(r2.error_kinds[k], r.error_kinds[k]);
    assert_int_equal(r2.stats.n_notes, r.stats.n_notes);
    double pcd = gen_eval_pc_distance(&r, &r2.stats);
    assert_true(isnan(pcd) || fabs(pcd) < 1e-12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_of),
        cmocka_unit_test(test_heldout),
        cmocka_unit_test(test_generation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
