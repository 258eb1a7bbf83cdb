/* ngram: unigram and bigram baselines of token sequences, to show how far
 * a trained model is above simple statistics of its training data.
 *
 *   unigram  P(b)   = (c(b) + 1) / (N + V)                 (add-one)
 *   bigram   P(b|a) = (c(a,b) + ALPHA * P(b)) / (c(a) + ALPHA)
 *            (Dirichlet smoothing toward the unigram, ALPHA = NGRAM_ALPHA:
 *            an unseen context falls back to the unigram exactly)
 * PAD (id 2) is never counted, and bigram pairs never cross the boundary
 * between two sequences. Predictions (accuracy) are the most probable token. */
#ifndef AURL_NGRAM_H
#define AURL_NGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "data/cache.h"

#define NGRAM_PAD 2
#define NGRAM_ALPHA 1.0

typedef struct ngram ngram;

/* Empty model over tokens 0..vocab-1 (vocab 2..4096). 0, or -1 (out of memory / bad vocab). */
int ngram_create(ngram **out, int vocab);
void ngram_free(ngram *g);

/* Count one sequence (ids outside the vocabulary and PAD are skipped and
 * break the bigram chain). */
void ngram_add_sequence(ngram *g, const uint16_t *tokens, size_t n);
/* Count every file of SPLIT (CACHE_TRAIN, CACHE_VAL) of C, one sequence each. */
void ngram_add_cache_split(ngram *g, const cache *c, int split);

/* Unigram count of B and bigram count of (A, B). */
uint64_t ngram_count(const ngram *g, int b);
uint64_t ngram_pair_count(const ngram *g, int a, int b);
/* Smoothed probabilities as above (0 for ids outside the vocabulary). */
double ngram_unigram_prob(const ngram *g, int b);
double ngram_bigram_prob(const ngram *g, int a, int b);

/* Cross-entropy and accuracy accumulated over scored targets. */
typedef struct {
    double nll_sum;  /* sum of -ln P(target) */
    double n;        /* targets scored */
    double correct;  /* argmax prediction == target */
} ngram_score;

/* Score N (input, target) pairs: target[i] follows input[i] (the layout of
 * training windows). PAD targets are skipped; ORDER 1 ignores the inputs,
 * ORDER 2 conditions on them. Adds into *acc. */
void ngram_eval(const ngram *g, int order, const int32_t *inputs, const int32_t *targets, size_t n,
                ngram_score *acc);
/* nll_sum / n in nats per token (NAN when nothing was scored). */
double ngram_score_loss(const ngram_score *s);
#endif
