/* n-gram baselines: counts on known sequences (PAD skipped, no pair across
 * sequences), the smoothed probabilities and their normalisation, and
 * cross-entropy / accuracy on a known target set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>

#include "engine/eval/ngram.h"

#define V 6

static ngram *build(void)
{
    ngram *g;
    assert_int_equal(ngram_create(&g, V), 0);
    const uint16_t a[] = {0, 4, 5, 4, 5, 1};
    const uint16_t b[] = {0, 4, 4, 2, 2, 1}; /* trailing PAD-like ids: PAD skipped */
    ngram_add_sequence(g, a, 6);
    ngram_add_sequence(g, b, 6);
    return g;
}

static void test_counts(void **state)
{
    (void)state;
    ngram *g = build();
    assert_int_equal(ngram_count(g, 0), 2);
    assert_int_equal(ngram_count(g, 4), 4);
    assert_int_equal(ngram_count(g, 5), 2);
    assert_int_equal(ngram_count(g, 2), 0); /* PAD never counted */
    assert_int_equal(ngram_count(g, 1), 2);
    assert_int_equal(ngram_pair_count(g, 4, 5), 2);
    assert_int_equal(ngram_pair_count(g, 5, 4), 1);
    assert_int_equal(ngram_pair_count(g, 4, 4), 1);
    assert_int_equal(ngram_pair_count(g, 0, 4), 2);
    assert_int_equal(ngram_pair_count(g, 1, 0), 0); /* END of a, START of b: no pair */
    assert_int_equal(ngram_pair_count(g, 4, 1), 0); /* the PADs break 4 -> 1 in b */
    assert_int_equal(ngram_pair_count(g, 5, 1), 1);
    ngram_free(g);
}

static void test_probabilities(void **state)
{
    (void)state;
    ngram *g = build();
    /* 10 tokens counted, add-one over 6 ids */
    assert_float_equal(ngram_unigram_prob(g, 4), 5.0 / 16, 1e-12);
    assert_float_equal(ngram_unigram_prob(g, 3), 1.0 / 16, 1e-12);
    double su = 0;
    for (int b = 0; b < V; b++) su += ngram_unigram_prob(g, b);
    assert_float_equal(su, 1.0, 1e-12);
    for (int a = 0; a < V; a++) {
        double sb = 0;
        for (int b = 0; b < V; b++) sb += ngram_bigram_prob(g, a, b);
        assert_float_equal(sb, 1.0, 1e-12);
    }
    /* pairs out of 4: 4->5 twice and 4->4 once (4->PAD is not a pair) */
    assert_float_equal(ngram_bigram_prob(g, 4, 5), (2 + 3.0 / 16) / (3 + 1), 1e-12);
    /* context 3 never seen: the unigram */
    assert_float_equal(ngram_bigram_prob(g, 3, 4), 5.0 / 16, 1e-12);
    ngram_free(g);
}

static void test_eval(void **state)
{
    (void)state;
    ngram *g = build();
    const int32_t in[] = {0, 4, 5, 4};
    const int32_t tg[] = {4, 5, 2, 5}; /* the PAD target is skipped */
    ngram_score u = {0}, b = {0};
    ngram_eval(g, 1, in, tg, 4, &u);
    ngram_eval(g, 2, in, tg, 4, &b);
    assert_float_equal(u.n, 3, 0);
    assert_float_equal(b.n, 3, 0);
    /* unigram predicts 4 everywhere: right once */
    assert_float_equal(u.correct, 1, 0);
    double want_u = -(log(5.0 / 16) + 2 * log(3.0 / 16)) / 3;
    assert_float_equal(ngram_score_loss(&u), want_u, 1e-12);
    /* bigram: 0 -> 4 and 4 -> 5 (twice), all right */
    assert_float_equal(b.correct, 3, 0);
    double want_b = -(log(ngram_bigram_prob(g, 0, 4)) + 2 * log(ngram_bigram_prob(g, 4, 5))) / 3;
    assert_float_equal(ngram_score_loss(&b), want_b, 1e-12);
    assert_true(ngram_score_loss(&b) < ngram_score_loss(&u));
    ngram_score none = {0};
    assert_true(isnan(ngram_score_loss(&none)));
    ngram_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_probabilities),
        cmocka_unit_test(test_eval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
