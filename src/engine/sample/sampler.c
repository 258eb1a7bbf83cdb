/* sampler: generation loop over a kv_cache with the strategies of
 * sampler.h, the grammar mask (engine/grammar) and a sliding context.
 *
 * Sliding: the model only knows positions 0..max_seq_len-1. When a
 * sequence's context is full and one more token must be appended, the
 * cache is reset and the last max_seq_len - max_seq_len/2 tokens (the newest
 * one included) are prefilled again at positions 0.., so every later token
 * still sees at least half a context; the cost of one prefill is paid once
 * per max_seq_len/2 tokens. Long prefixes start the same way. `cond`
 * rows follow model positions: after a slide the re-prefilled tokens get
 * the rows of their new positions (as a VAE decoder saw them in training).
 * Repetition penalty (CTRL): for each distinct token among the last
 * SAMPLER_REP_WINDOW tokens of the sequence, a positive logit is divided by
 * the penalty and a negative one multiplied by it.
 * Beam search keeps `beams` live hypotheses (sharing the prefix's cache,
 * rows copied on reorder); a hypothesis that picks END is finished; the
 * result is the best finished or live hypothesis by
 * log-prob / generated^length_penalty. Scores use the masked, penalised
 * log-softmax (no temperature). */
#include "engine/sample/sampler.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"
#include "engine/sample/grammar.h"
#include "engine/sample/kv_cache.h"
#include "util/rng.h"
#include "util/clock.h"

#define SAMPLER_REP_WINDOW 64

void sampler_settings_default(sampler_settings *s)
{
    memset(s, 0, sizeof *s);
    s->strategy = SAMPLER_TOP_P;
    s->temperature = 1.0f;
    s->top_k = 40;
    s->top_p = 0.9f;
    s->beams = 4;
    s->length_penalty = 1.0f;
    s->repetition_penalty = 1.0f;
    s->max_tokens = 1024;
    s->max_seconds = 0;
    s->min_tokens = 64;
    s->max_note_seconds = 8;
    s->grammar = 1;
    s->seed = 1;
}

int sampler_settings_validate(const sampler_settings *s, char err[AURL_ERR_LEN])
{
    if ((int)s->strategy < 0 || s->strategy > SAMPLER_BEAM)
        errmsg_set(err, "sampler: unknown strategy %d", (int)s->strategy);
    else if (!(s->temperature > 0.0f) || !isfinite(s->temperature))
        errmsg_set(err, "sampler: temperature %g must be > 0", (double)s->temperature);
    else if (s->top_k < 1)
        errmsg_set(err, "sampler: top_k %d must be >= 1", s->top_k);
    else if (!(s->top_p > 0.0f && s->top_p <= 1.0f))
        errmsg_set(err, "sampler: top_p %g must be in (0, 1]", (double)s->top_p);
    else if (s->beams < 1 || s->beams > 64)
        errmsg_set(err, "sampler: beams %d must be 1..64", s->beams);
    else if (!isfinite(s->length_penalty) || s->length_penalty < 0.0f || s->length_penalty > 10.0f)
        errmsg_set(err, "sampler: length_penalty %g must be in [0, 10]", (double)s->length_penalty);
    else if (!(s->repetition_penalty >= 1.0f) || !isfinite(s->repetition_penalty))
        errmsg_set(err, "sampler: repetition_penalty %g must be >= 1", (double)s->repetition_penalty);
    else if (s->max_tokens < 1 || s->max_tokens > 1000000)
        errmsg_set(err, "sampler: length %d tokens must be 1..1000000", s->max_tokens);
    else if (!(s->max_seconds >= 0) || !isfinite(s->max_seconds))
        errmsg_set(err, "sampler: seconds %g must be >= 0", s->max_seconds);
    else if (s->min_tokens < 0)
        errmsg_set(err, "sampler: min_tokens %d must be >= 0", s->min_tokens);
    else if (!(s->max_note_seconds > 0) || !isfinite(s->max_note_seconds))
        errmsg_set(err, "sampler: max_note_seconds %g must be > 0", s->max_note_seconds);
    else
        return 0;
    return -1;
}

static const char *const strategy_names[] = {"greedy", "temperature", "top_k", "top_p", "beam"};

int sampler_strategy_parse(const char *name, sampler_strategy *out)
{
    for (int i = 0; i <= SAMPLER_BEAM; i++)
        if (name && !strcmp(name, strategy_names[i])) {
            *out = (sampler_strategy)i;
            return 0;
        }
    return -1;
}

const char *sampler_strategy_name(sampler_strategy s)
{
    return (int)s >= 0 && s <= SAMPLER_BEAM ? strategy_names[s] : "?";
}

void sampler_result_free(sampler_result *r)
{
    if (!r) return;
    free(r->tokens);
    memset(r, 0, sizeof *r);
}

/* ---- logits processing -------------------------------------------------- */

/* Repetition penalty over the distinct tokens among the last window of seq. */
static void apply_repetition(float *logits, int V, const int32_t *seq, int n, float penalty, uint8_t *seen)
{
    if (penalty == 1.0f) return;
    int from = n > SAMPLER_REP_WINDOW ? n - SAMPLER_REP_WINDOW : 0;
    memset(seen, 0, (size_t)V);
    for (int i = from; i < n; i++) {
        int t = seq[i];
        if (t < 0 || t >= V || seen[t]) continue;
        seen[t] = 1;
        logits[t] = logits[t] > 0 ? logits[t] / penalty : logits[t] * penalty;
    }
}

/* Forbidden tokens (and ids beyond the vocabulary) to -inf. */
static void apply_mask(float *logits, int V, const grammar_state *g, uint8_t *allowed)
{
    grammar_mask(g, allowed);
    for (int t = 0; t < V; t++)
        if (t >= TOK_VOCAB_SIZE || !allowed[t]) logits[t] = -INFINITY;
}

static int argmax(const float *x, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

/* log-softmax of x into out (entries of -inf stay -inf). */
static void log_softmax(float *out, const float *x, int n)
{
    float mx = x[argmax(x, n)];
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += exp((double)(x[i] - mx));
    float lse = mx + (float)log(sum);
    for (int i = 0; i < n; i++) out[i] = x[i] - lse;
}

typedef struct {
    float p;
    int id;
} prob_id;

static int by_prob_desc(const void *a, const void *b)
{
    const prob_id *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? 1 : -1;
    return x->id - y->id;
}

/* Draw one token from processed logits by strategy (not beam). */
static int pick_token(float *logits, int V, const sampler_settings *s, rng_state *r, prob_id *work)
{
    if (s->strategy == SAMPLER_GREEDY || s->strategy == SAMPLER_BEAM) return argmax(logits, V); /* 1 beam = greedy */
    float mx = logits[argmax(logits, V)];
    int n = 0;
    double sum = 0.0;
    for (int t = 0; t < V; t++) {
        if (logits[t] == -INFINITY) continue;
        float p = (float)exp((double)(logits[t] - mx) / s->temperature);
        work[n++] = (prob_id){p, t};
        sum += p;
    }
    if (n == 0 || !(sum > 0)) return argmax(logits, V);
    if (s->strategy == SAMPLER_TOP_K || s->strategy == SAMPLER_TOP_P) {
        qsort(work, (size_t)n, sizeof *work, by_prob_desc);
        if (s->strategy == SAMPLER_TOP_K) {
            if (n > s->top_k) n = s->top_k;
        } else {
            double cum = 0.0, target = s->top_p * sum;
            int k = 0;
            while (k < n && cum < target) cum += work[k++].p;
            n = k < 1 ? 1 : k;
        }
        sum = 0.0;
        for (int i = 0; i < n; i++) sum += work[i].p;
    }
    double u = rng_uniform_double(r) * sum, acc = 0.0;
    for (int i = 0; i < n; i++) {
        acc += work[i].p;
        if (u < acc) return work[i].id;
    }
    return work[n - 1].id;
}

/* ---- context management ------------------------------------------------- */

/* Tokens a slid context keeps. */
static int keep_after_slide(int maxT)
{
    int k = maxT - maxT / 2;
    return k < 1 ? 1 : k;
}

/* Reset row and prefill the tail of seq[0..n) that fits. */
static int refill(kv_cache *kc, int row, const int32_t *seq, int n, int maxT, float *logits)
{
    int keep = n <= maxT ? n : keep_after_slide(maxT);
    kv_cache_reset(kc, row);
    return kv_cache_prefill(kc, row, seq + n - keep, keep, logits);
}

/* ---- the loop ----------------------------------------------------------- */

typedef struct {
    int32_t *toks; /* START, prefix, generated (END is not stored: finish() adds it) */
    int n;
    int done;      /* picked END */
    double logp;
    grammar_state g;
} hyp;

/* Beam score of a hypothesis with log-prob logp and len generated tokens. */
static double score_of(double logp, int len, float lp)
{
    return len > 0 && lp != 0.0f ? logp / pow((double)len, lp) : logp;
}

static double hyp_score(const hyp *h, int prime_end, float lp)
{
    return score_of(h->logp, h->n - prime_end + h->done, lp);
}

/* Finish: copy hypothesis tokens, close with grammar_close. */
static int finish(sampler_result *out, const hyp *h, int prime_end)
{
    int32_t close[GRAMMAR_CLOSE_MAX];
    int nc = grammar_close(&h->g, close, GRAMMAR_CLOSE_MAX);
    out->tokens = malloc(((size_t)h->n + (size_t)nc) * sizeof(int32_t));
    if (!out->tokens) return -1;
    memcpy(out->tokens, h->toks, (size_t)h->n * sizeof(int32_t));
    memcpy(out->tokens + h->n, close, (size_t)nc * sizeof(int32_t));
    out->n_tokens = h->n + nc;
    out->prime_end = prime_end;
    out->n_generated = out->n_tokens - prime_end;
    out->grammar_errors = h->g.errors;
    return 0;
}

/* Whether hypothesis h stops after its last token. */
static int should_stop(const hyp *h, const sampler_settings *s, int generated)
{
    if (h->done || generated >= s->max_tokens) return 1;
    return s->max_seconds > 0 && grammar_seconds(&h->g) >= s->max_seconds;
}

typedef struct {
    double score; /* ranking score */
    double logp;
    int beam, tok;
} cand;

static int by_score_desc(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    if (x->beam != y->beam) return x->beam - y->beam;
    return x->tok - y->tok;
}

int sampler_generate(const transformer *m, const sampler_settings *s, const int32_t *prefix, int n_prefix,
                     const float *cond, int cond_rows, sampler_progress_fn progress, void *progress_ctx,
                     sampler_result *out, char err[AURL_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    if (sampler_settings_validate(s, err)) return -1;
    if (n_prefix < 0 || (n_prefix > 0 && !prefix) || n_prefix > 100000000) {
        errmsg_set(err, "sampler: bad prefix of %d tokens", n_prefix);
        return -1;
    }
    const model_config *cfg = transformer_config(m);
    int V = cfg->vocab_size, maxT = cfg->max_seq_len;
    int nb = s->strategy == SAMPLER_BEAM ? s->beams : 1;
    double t0 = clock_monotonic();
    size_t cap = 1 + (size_t)n_prefix + (size_t)s->max_tokens + 1;

    kv_cache *kc = NULL;
    hyp *hy = calloc((size_t)nb * 2, sizeof *hy); /* live | next (beam) */
    hyp *fin = calloc((size_t)nb, sizeof *fin);
    float *logits = malloc((size_t)nb * V * sizeof(float));
    float *lsm = malloc((size_t)V * sizeof(float));
    uint8_t *allowed = malloc((size_t)(V > TOK_VOCAB_SIZE ? V : TOK_VOCAB_SIZE));
    prob_id *work = malloc((size_t)V * sizeof *work);
    cand *cands = malloc((size_t)nb * (2 * nb + 1) * sizeof *cands);
    int *src = malloc((size_t)nb * sizeof(int));
    int32_t *next_tok = malloc((size_t)nb * sizeof(int32_t));
    int rc = -1, n_fin = 0;
    if (!hy || !fin || !logits || !lsm || !allowed || !work || !cands || !src || !next_tok) goto nomem;
    for (int i = 0; i < 2 * nb; i++)
        if (!(hy[i].toks = malloc(cap * sizeof(int32_t)))) goto nomem;
    if (kv_cache_create(&kc, m, nb, err)) goto done;
    kv_cache_set_cond(kc, cond, cond_rows);

    /* the prefix */
    hyp *h0 = &hy[0];
    grammar_init(&h0->g, s->min_tokens, s->max_note_seconds);
    h0->toks[h0->n++] = TOK_START;
    for (int i = 0; i < n_prefix; i++) {
        int32_t t = prefix[i];
        if (t == TOK_START || t == TOK_END || t == TOK_PAD) continue;
        h0->toks[h0->n++] = t;
        grammar_feed(&h0->g, t, 0);
    }
    int prime_end = h0->n;
    if (refill(kc, 0, h0->toks, h0->n, maxT, logits)) goto internal;
    int n_live = 1, generated = 0, cancelled = 0;
    rng_state rng;
    rng_seed(&rng, s->seed);

    while (n_live > 0 && !cancelled) {
        int n_c = 0;
        for (int b = 0; b < n_live; b++) {
            hyp *h = &hy[b];
            float *lg = logits + (size_t)b * V;
            apply_repetition(lg, V, h->toks, h->n, s->repetition_penalty, allowed);
            if (s->grammar) apply_mask(lg, V, &h->g, allowed);
            if (nb == 1) {
                cands[n_c++] = (cand){0, 0, b, pick_token(lg, V, s, &rng, work)};
                continue;
            }
            log_softmax(lsm, lg, V);
            /* the best nb + 1 tokens of this beam (enough for nb live ones) */
            int want = nb + 1, got = 0;
            for (int k = 0; k < want; k++) {
                int best = -1;
                for (int t = 0; t < V; t++)
                    if (lsm[t] > -INFINITY && (best < 0 || lsm[t] > lsm[best])) best = t;
                if (best < 0) break;
                cand c = {0, h->logp + lsm[best], b, best};
                c.score = score_of(c.logp, h->n + 1 - prime_end, s->length_penalty);
                cands[n_c++] = c;
                lsm[best] = -INFINITY;
                got++;
            }
            if (!got) cands[n_c++] = (cand){h->logp, h->logp, b, TOK_END};
        }
        if (generated == 0) out->first_token_seconds = clock_monotonic() - t0;
        generated++;
        if (nb > 1) qsort(cands, (size_t)n_c, sizeof *cands, by_score_desc);
        /* build the next live set */
        int n_next = 0;
        for (int i = 0; i < n_c && n_next < nb; i++) {
            const cand *c = &cands[i];
            hyp *from = &hy[c->beam];
            hyp *to = &hy[nb + n_next];
            memcpy(to->toks, from->toks, (size_t)from->n * sizeof(int32_t));
            to->n = from->n;
            to->g = from->g;
            to->logp = c->logp;
            to->done = from->done;
            if (c->tok == TOK_END) { /* judged, not stored: finish() closes the notes, then ENDs */
                if (!grammar_allows(&to->g, TOK_END)) to->g.errors++;
                to->g.generated++;
                to->done = 1;
            } else {
                grammar_feed(&to->g, c->tok, 1);
                to->toks[to->n++] = c->tok;
            }
            if (nb > 1 && should_stop(to, s, generated)) {
                if (n_fin < nb) {
                    hyp *f = &fin[n_fin++];
                    f->toks = malloc(cap * sizeof(int32_t));
                    if (!f->toks) goto nomem;
                    memcpy(f->toks, to->toks, (size_t)to->n * sizeof(int32_t));
                    f->n = to->n;
                    f->done = to->done;
                    f->g = to->g;
                    f->logp = to->logp;
                }
                continue;
            }
            src[n_next] = c->beam;
            next_tok[n_next] = c->tok;
            n_next++;
        }
        /* swap live and next */
        for (int i = 0; i < nb; i++) {
            hyp t = hy[i];
            hy[i] = hy[nb + i];
            hy[nb + i] = t;
        }
        if (progress && progress(progress_ctx, generated, s->max_tokens)) cancelled = 1;
        if (nb == 1) {
            if (should_stop(&hy[0], s, generated) || cancelled) {
                n_live = 1;
                break;
            }
            n_next = 1;
        }
        if (nb > 1 && (n_fin >= nb || generated >= s->max_tokens)) {
            n_live = n_next;
            break;
        }
        n_live = n_next;
        if (n_live == 0) break;
        if (nb > 1 && kv_cache_reorder(kc, src, n_live)) goto nomem;
        /* append each live hypothesis's newest token (sliding when full) */
        if (kv_cache_len(kc, 0) < maxT) {
            if (kv_cache_step(kc, next_tok, n_live, logits)) goto internal;
        } else {
            for (int b = 0; b < n_live; b++)
                if (refill(kc, b, hy[b].toks, hy[b].n, maxT, logits + (size_t)b * V)) goto internal;
        }
    }

    /* choose the result */
    const hyp *best = NULL;
    double best_score = -INFINITY;
    for (int i = 0; i < n_fin; i++) {
        double sc = hyp_score(&fin[i], prime_end, s->length_penalty);
        if (!best || sc > best_score) best = &fin[i], best_score = sc;
    }
    for (int i = 0; i < n_live; i++) {
        double sc = hyp_score(&hy[i], prime_end, s->length_penalty);
        if (!best || sc > best_score) best = &hy[i], best_score = sc;
    }
    if (!best || finish(out, best, prime_end)) goto nomem;
    out->seconds_taken = clock_monotonic() - t0;
    rc = 0;
    goto done;
internal:
    errmsg_set(err, "sampler: cache refused a step (internal error)");
    goto done;
nomem:
    errmsg_set(err, "sampler: out of memory");
done:
    if (rc) sampler_result_free(out);
    kv_cache_free(kc);
    if (hy)
        for (int i = 0; i < 2 * nb; i++) free(hy[i].toks);
    if (fin)
        for (int i = 0; i < nb; i++) free(fin[i].toks);
    free(hy);
    free(fin);
    free(logits);
    free(lsm);
    free(allowed);
    free(work);
    free(cands);
    free(src);
    free(next_tok);
    return rc;
}
