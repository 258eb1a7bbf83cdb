/* ngram: add-one unigram and unigram-smoothed bigram baselines (see the header). */
#include "engine/eval/ngram.h"

#include <math.h>
#include <stdlib.h>

struct ngram {
    int V;
    uint64_t total;      /* unigram tokens counted */
    uint64_t *uni;       /* V */
    uint64_t *ctx;       /* V: pairs starting with a */
    uint32_t *pair;      /* V x V (saturating) */
    int *best_next;      /* V: argmax_b P(b|a), valid when !dirty */
    int best_uni;
    int dirty;
};

int ngram_create(ngram **out, int vocab)
{
    *out = NULL;
    if (vocab < 2 || vocab > 4096) return -1;
    ngram *g = calloc(1, sizeof *g);
    if (!g) return -1;
    g->V = vocab;
    g->uni = calloc((size_t)vocab, sizeof *g->uni);
    g->ctx = calloc((size_t)vocab, sizeof *g->ctx);
    g->pair = calloc((size_t)vocab * vocab, sizeof *g->pair);
    g->best_next = calloc((size_t)vocab, sizeof *g->best_next);
    if (!g->uni || !g->ctx || !g->pair || !g->best_next) {
        ngram_free(g);
        return -1;
    }
    g->dirty = 1;
    *out = g;
    return 0;
}

void ngram_free(ngram *g)
{
    if (!g) return;
    free(g->uni);
    free(g->ctx);
    free(g->pair);
    free(g->best_next);
    free(g);
}

void ngram_add_sequence(ngram *g, const uint16_t *tokens, size_t n)
{
    int prev = -1;
    for (size_t i = 0; i < n; i++) {
        int t = tokens[i];
        if (t >= g->V || t == NGRAM_PAD) {
            prev = -1;
            continue;
        }
        g->uni[t]++;
        g->total++;
        if (prev >= 0) {
            uint32_t *c = &g->pair[(size_t)prev * g->V + t];
            if (*c < UINT32_MAX) (*c)++;
            g->ctx[prev]++;
        }
        prev = t;
    }
    g->dirty = 1;
}

void ngram_add_cache_split(ngram *g, const cache *c, int split)
{
    for (size_t i = 0; i < cache_n_entries(c); i++) {
        const cache_entry *e = cache_entry_at(c, i);
        if ((int)e->split == split) ngram_add_sequence(g, e->tokens, e->n_tokens);
    }
}

uint64_t ngram_count(const ngram *g, int b)
{
    return b >= 0 && b < g->V ? g->uni[b] : 0;
}

uint64_t ngram_pair_count(const ngram *g, int a, int b)
{
    return a >= 0 && a < g->V && b >= 0 && b < g->V ? g->pair[(size_t)a * g->V + b] : 0;
}

double ngram_unigram_prob(const ngram *g, int b)
{
    if (b < 0 || b >= g->V) return 0;
    return ((double)g->uni[b] + 1.0) / ((double)g->total + g->V);
}

double ngram_bigram_prob(const ngram *g, int a, int b)
{
    if (b < 0 || b >= g->V) return 0;
    double pu = ngram_unigram_prob(g, b);
    if (a < 0 || a >= g->V) return pu;
    return ((double)g->pair[(size_t)a * g->V + b] + NGRAM_ALPHA * pu) / ((double)g->ctx[a] + NGRAM_ALPHA);
}

/* Recompute the argmax tables after counting (ties: lowest id). */
static void refresh(ngram *g)
{
    if (!g->dirty) return;
    g->best_uni = 0;
    for (int b = 1; b < g->V; b++)
        if (g->uni[b] > g->uni[g->best_uni]) g->best_uni = b;
    for (int a = 0; a < g->V; a++) {
        /* P(b|a) is increasing in c(a,b) + ALPHA * P(b): compare that */
        int best = 0;
        double bv = -1;
        for (int b = 0; b < g->V; b++) {
            double v = g->pair[(size_t)a * g->V + b] + NGRAM_ALPHA * ngram_unigram_prob(g, b);
            if (v > bv) {
                bv = v;
                best = b;
            }
        }
        g->best_next[a] = best;
    }
    g->dirty = 0;
}

void ngram_eval(const ngram *g, int order, const int32_t *inputs, const int32_t *targets, size_t n,
                ngram_score *acc)
{
    refresh((ngram *)g); /* argmax tables are a cache of the counts */
    for (size_t i = 0; i < n; i++) {
        int t = targets[i];
        if (t == NGRAM_PAD) continue;
        int a = order >= 2 ? inputs[i] : -1;
        int valid_a = a >= 0 && a < g->V;
        double p = order >= 2 ? ngram_bigram_prob(g, a, t) : ngram_unigram_prob(g, t);
        int pred = order >= 2 && valid_a ? g->best_next[a] : g->best_uni;
        /* an id outside the vocabulary gets the smallest unigram mass */
        if (!(p > 0)) p = 1.0 / ((double)g->total + g->V);
        acc->nll_sum += -log(p);
        acc->n += 1;
        acc->correct += pred == t;
    }
}

double ngram_score_loss(const ngram_score *s)
{
    return s->n > 0 ? s->nll_sum / s->n : NAN;
}
