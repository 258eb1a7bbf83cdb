/* scoring: the model and the n-gram baselines over held-out windows (see the
 * header). */
#include "engine/eval/scoring.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"
#include "engine/nn/loss.h"
#include "util/clock.h"

scoring_metrics scoring_metrics_of(double nll_sum, double n, double correct)
{
    scoring_metrics s = {NAN, NAN, NAN};
    if (n > 0) {
        s.loss = nll_sum / n;
        s.perplexity = exp(s.loss);
        s.accuracy = correct / n;
    }
    return s;
}

int scoring_heldout(transformer *m, const dataset *d, const ngram *g, int B, size_t max_batches,
                    scoring_result *out, char err[AURL_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    double t0 = clock_monotonic();
    int T = dataset_seq_len(d), V = transformer_config(m)->vocab_size;
    size_t nb = dataset_batches_per_epoch(d, B), N = (size_t)B * T;
    if (max_batches > 0 && max_batches < nb) nb = max_batches;
    int32_t *in = malloc(N * sizeof *in), *tg = malloc(N * sizeof *tg);
    if (!in || !tg) {
        free(in);
        free(tg);
        errmsg_set(err, "out of memory");
        return -1;
    }
    double nll = 0, n = 0, correct = 0;
    ngram_score su = {0}, sb = {0};
    for (size_t b = 0; b < nb; b++) {
        dataset_get_batch(d, B, 0, 0, b, 0, NULL, in, tg);
        float loss = transformer_forward(m, in, tg, B, T, 0, 0);
        int cnt = transformer_target_count(m);
        if (cnt == 0) continue;
        nll += (double)loss * cnt;
        n += cnt;
        correct += loss_argmax_correct(transformer_logits(m), tg, (int)N, V, TOK_PAD);
        if (g) {
            ngram_eval(g, 1, in, tg, N, &su);
            ngram_eval(g, 2, in, tg, N, &sb);
        }
    }
    free(in);
    free(tg);
    out->model = scoring_metrics_of(nll, n, correct);
    out->unigram = scoring_metrics_of(su.nll_sum, su.n, su.correct);
    out->bigram = scoring_metrics_of(sb.nll_sum, sb.n, sb.correct);
    out->targets = n;
    out->seconds = clock_monotonic() - t0;
    return 0;
}
