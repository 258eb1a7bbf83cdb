/* scoring: next-token scores of a Transformer on held-out windows.
 *
 * Every window of a dataset (data/dataset, in order; PAD targets ignored) is
 * run through the model: mean cross-entropy (nats/token), perplexity and
 * argmax accuracy, next to the unigram and bigram baselines (engine/eval/
 * ngram) scored on exactly the same (input, target) pairs. */
#ifndef AURL_SCORING_H
#define AURL_SCORING_H

#include <stddef.h>

#include "data/dataset.h"
#include "engine/eval/ngram.h"
#include "engine/model/transformer.h"
#include "util/fileio.h"

/* Scores over some targets; all NAN when there were none. */
typedef struct {
    double loss;       /* mean -ln P(target), nats/token */
    double perplexity; /* exp(loss) */
    double accuracy;   /* fraction of argmax predictions == target */
} scoring_metrics;

/* The scores of one held-out evaluation. */
typedef struct {
    scoring_metrics model, unigram, bigram; /* baselines NAN without an ngram */
    double targets;                         /* targets the model scored */
    double seconds;                         /* wall time of the run */
} scoring_result;

/* Metrics from sums over N targets: NLL_SUM nats, CORRECT argmax hits. */
scoring_metrics scoring_metrics_of(double nll_sum, double n, double correct);

/* Score M on batches of B windows of D (B at most the batch M was made for;
 * the windows' length dataset_seq_len(D) at most its max_seq_len), the first
 * MAX_BATCHES of them (0: all). G (NULL: no baselines) gives the unigram and
 * bigram rows. 0, or -1 (out of memory, err set). */
int scoring_heldout(transformer *m, const dataset *d, const ngram *g, int B, size_t max_batches,
                    scoring_result *out, char err[AURL_ERR_LEN]);
#endif
