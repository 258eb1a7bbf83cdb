/* sampler: generation over a kv_cache with the strategies of sampler.h,
 * the grammar mask (engine/grammar) and a sliding context.
 * sampler_generate and sampler_generate_batch validate, prefill the prefix
 * and dispatch to one of two decoders: sampler_decode_pieces (greedy,
 * temperature, top-k, top-p: one hypothesis per piece, pick_token each
 * step with the piece's own random stream; the single-piece path is a
 * batch of one) and sampler_decode_beam. Both share the logit processing
 * (repetition penalty, mask), the stop test, the batched cache append with
 * sliding (append_rows) and the closing of the result. A batch starts
 * every piece from piece 0's prefilled cache row (copied, exact), and the
 * cache's decode step is batch-invariant, so piece i is bit for bit the
 * piece generated alone with seed + i. On several threads a batch splits
 * into groups of pieces, each decoded as above on a thread of its own
 * (run_groups), which changes no piece.
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
#include <omp.h>
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
    s->temperature = 0.9f; /* measured: pitch statistics of the standard model closest to the data's */
    s->top_k = 40;
    s->top_p = 0.9f;
    s->beams = 4;
    s->length_penalty = 1.0f;
    s->repetition_penalty = 1.0f;
    s->max_tokens = 1024;
    s->max_seconds = 0;
    s->min_tokens = 64;
    s->max_note_seconds = 8;
    s->note_age_bias = 0.5f;
    s->beam_sampled = 1;
    s->grammar = SAMPLER_MASK_TYPED;
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
    else if (!(s->note_age_bias >= 0.0f) || !isfinite(s->note_age_bias))
        errmsg_set(err, "sampler: note_age_bias %g must be >= 0", (double)s->note_age_bias);
    else
        return 0;
    return -1;
}

static const char *const mask_names[] = {"raw", "plain", "typed"};

int sampler_mask_parse(const char *name, int *out)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, mask_names[i])) {
            *out = i;
            return 0;
        }
    return -1;
}

const char *sampler_mask_name(int mode) { return mode >= 0 && mode < 3 ? mask_names[mode] : "?"; }

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

/* The ageing bias: each sounding note older than its family's typical
 * length makes its NOTE_OFF more likely, by BIAS x log2(age / typical); a
 * pitch silent on the current instrument uses the note ROUTE would reach. */
static void apply_note_age(float *logits, const grammar_state *g, const grammar_limits *L, float bias, int route)
{
    if (bias <= 0.0f || g->n_sounding == 0 || g->vocab == TOK_VOCAB_V2) return; /* v2 notes have no NOTE_OFF */
    for (int p = 0; p < GRAMMAR_N_PITCHES; p++) {
        int inst = g->instrument;
        int64_t age = grammar_note_age(g, inst, p);
        if (age < 0 && route) {
            inst = grammar_route_of(g, p);
            age = inst >= 0 ? grammar_note_age(g, inst, p) : -1;
        }
        if (age <= 0) continue;
        double typical = (double)L->typical_note_steps[inst];
        if ((double)age > typical) logits[TOK_NOTE_OFF + p] += bias * (float)log2((double)age / typical);
    }
}

void sampler_typed_mask(float *logits, int V, const grammar_state *g, uint8_t *allowed, int route)
{
    grammar_mask(g, allowed);
    if (route)
        for (int p = 0; p < GRAMMAR_N_PITCHES; p++) {
            if (!allowed[TOK_NOTE_OFF + p] && grammar_route_of(g, p) >= 0) allowed[TOK_NOTE_OFF + p] = 1;
            if (!allowed[TOK_NOTE_ON + p] && (grammar_steal_of(g, p) >= 0 || grammar_restrike_ok(g, p)))
                allowed[TOK_NOTE_ON + p] = 1;
        }
    float mx = -INFINITY;
    for (int t = 0; t < TOK_VOCAB_SIZE && t < V; t++)
        if (logits[t] > mx) mx = logits[t];
    double all[TOKT_COUNT] = {0}, kept[TOKT_COUNT] = {0};
    for (int t = 0; t < TOK_VOCAB_SIZE && t < V; t++) {
        double e = exp((double)(logits[t] - mx));
        tok_type k = tok_type_of_vocab((uint16_t)t, g->vocab);
        all[k] += e;
        if (allowed[t]) kept[k] += e;
    }
    float shift[TOKT_COUNT];
    for (int k = 0; k < TOKT_COUNT; k++) shift[k] = kept[k] > 0 ? (float)log(all[k] / kept[k]) : 0.0f;
    for (int t = 0; t < V; t++) {
        if (t >= TOK_VOCAB_SIZE || !allowed[t]) logits[t] = -INFINITY;
        else logits[t] += shift[tok_type_of_vocab((uint16_t)t, g->vocab)];
    }
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

/* Sort a[0..n) (built in increasing id, every p >= 0) by decreasing p, ties
 * by increasing id: a stable LSD radix sort on the bits of p (for p >= 0 the
 * bit patterns order as the numbers), through tmp (n entries). The order is
 * exactly that of a comparison sort by (p desc, id asc), in O(n). */
static void sort_by_prob_desc(prob_id *a, prob_id *tmp, int n)
{
    for (int shift = 0; shift < 32; shift += 8) {
        int count[257] = {0};
        for (int i = 0; i < n; i++) {
            uint32_t bits;
            memcpy(&bits, &a[i].p, sizeof bits);
            count[((~bits >> shift) & 255u) + 1]++;
        }
        int same = 0;
        for (int d = 1; d <= 256; d++) same |= count[d] == n;
        for (int d = 0; d < 256; d++) count[d + 1] += count[d];
        if (same) continue; /* one digit for all: this pass would not move anything */
        for (int i = 0; i < n; i++) {
            uint32_t bits;
            memcpy(&bits, &a[i].p, sizeof bits);
            tmp[count[(~bits >> shift) & 255u]++] = a[i];
        }
        memcpy(a, tmp, (size_t)n * sizeof *a);
    }
}

/* Draw one token from processed logits by strategy (not beam); work has
 * room for 2 V entries. */
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
        sort_by_prob_desc(work, work + V, n);
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

/* ---- hypotheses --------------------------------------------------------- */

typedef struct {
    int32_t *toks; /* START, prefix, generated (END is not stored: finish() adds it) */
    int n;
    int done;      /* picked END */
    double logp;
    int32_t pending; /* a routed NOTE_OFF (after its INSTRUMENT) or a stealing NOTE_ON (after its victim's
                      * NOTE_OFF) to write at the next step, or -1 */
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

/* Copy hypothesis FROM into TO (whose toks have room for FROM's). */
static void hyp_copy(hyp *to, const hyp *from)
{
    memcpy(to->toks, from->toks, (size_t)from->n * sizeof(int32_t));
    to->n = from->n;
    to->done = from->done;
    to->logp = from->logp;
    to->pending = from->pending;
    to->g = from->g;
}

/* Start H: START, then the prefix (tokens of vocabulary VOCAB) without its
 * START/END/PAD tokens, fed to the grammar unjudged. Returns the index of the first generated token. */
static int hyp_start(hyp *h, const sampler_settings *s, int vocab, const int32_t *prefix, int n_prefix)
{
    grammar_init(&h->g, s->min_tokens, s->max_note_seconds);
    grammar_set_vocab(&h->g, vocab);
    if (s->data_limits) {
        grammar_set_limits(&h->g, &s->limits);
        /* the gap limit keeps deterministic decoding out of endless
         * silence; sampling keeps the model's own rests */
        if (s->strategy != SAMPLER_GREEDY && s->strategy != SAMPLER_BEAM) h->g.max_gap_steps = 0;
    }
    /* no END before the length asked for (the mask is what enforces it) */
    if (s->grammar && s->max_seconds > 0) h->g.min_end_steps = (int64_t)(s->max_seconds * TOK_STEPS_PER_SECOND);
    h->pending = -1;
    h->toks[h->n++] = TOK_START;
    for (int i = 0; i < n_prefix; i++) {
        int32_t t = prefix[i];
        if (t == TOK_START || t == TOK_END || t == TOK_PAD) continue;
        h->toks[h->n++] = t;
        grammar_feed(&h->g, t, 0);
    }
    return h->n;
}

/* TOK is H's next generated token. END is judged by the grammar and marks H
 * done, but is not stored (finish() closes the notes, then ENDs); with
 * ROUTE_OK (TYPED mask) a NOTE_OFF of a note sounding on another instrument
 * is written as that INSTRUMENT now and the NOTE_OFF pending, and a NOTE_ON
 * only the polyphony limit forbids as the oldest note's NOTE_OFF now and
 * the NOTE_ON pending (voice stealing); any other token is fed to the
 * grammar and stored. */
static void hyp_take(hyp *h, int32_t tok, int route_ok)
{
    if (tok == TOK_END) {
        if (!grammar_allows(&h->g, TOK_END)) h->g.errors++;
        h->g.generated++;
        h->done = 1;
    } else {
        int route = route_ok && tok >= TOK_NOTE_OFF && tok < TOK_TIME_SHIFT ? grammar_route_of(&h->g, tok - TOK_NOTE_OFF) : -1;
        int steal = route_ok && tok >= TOK_NOTE_ON && tok < TOK_NOTE_OFF && !grammar_allows(&h->g, tok)
                        ? grammar_steal_of(&h->g, tok - TOK_NOTE_ON) : -1;
        if (route >= 0) { /* TYPED mode's routed NOTE_OFF: the switch now, the NOTE_OFF next step */
            h->pending = tok;
            tok = TOK_INSTRUMENT + route;
        } else if (steal >= 0) { /* TYPED mode's voice stealing: the oldest note's NOTE_OFF now, the NOTE_ON next */
            h->pending = tok;
            tok = TOK_NOTE_OFF + steal;
        } else if (route_ok && tok >= TOK_NOTE_ON && tok < TOK_NOTE_OFF && !grammar_allows(&h->g, tok) &&
                   grammar_restrike_ok(&h->g, tok - TOK_NOTE_ON)) { /* a re-strike: NOTE_OFF, then NOTE_ON */
            h->pending = tok;
            tok = TOK_NOTE_OFF + (tok - TOK_NOTE_ON);
        }
        grammar_feed(&h->g, tok, 1);
        h->toks[h->n++] = tok;
    }
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
    out->vocab = h->g.vocab;
    return 0;
}

/* Whether hypothesis h stops after its last token. */
static int should_stop(const hyp *h, const sampler_settings *s, int generated)
{
    if (h->done || generated >= s->max_tokens) return 1;
    return s->max_seconds > 0 && grammar_seconds(&h->g) >= s->max_seconds;
}

/* ---- what both decoders share ------------------------------------------- */

typedef struct {
    const sampler_settings *s;
    kv_cache *kc;          /* one row per live hypothesis (beam) or per piece */
    int V, maxT, prime_end;
    int rows;              /* cache rows */
    size_t cap;            /* tokens a hypothesis can hold */
    float *logits;         /* row b: the next-token logits of hypothesis (or piece) b */
    float *step_logits;    /* rows x V: the logits of one kv_cache_step_seqs */
    int *step_seqs;        /* rows */
    int32_t *step_tok;     /* rows */
    uint8_t *allowed;      /* scratch of the mask and the repetition penalty */
    sampler_progress_fn progress;
    void *progress_ctx;
    int progress_total;
    double t0;             /* clock at the call */
    sampler_result *out;   /* beam search's result */
    char *err;
} decoder;

static int fail_nomem(decoder *d)
{
    errmsg_set(d->err, "sampler: out of memory");
    return -1;
}

static int fail_internal(decoder *d)
{
    errmsg_set(d->err, "sampler: cache refused a step (internal error)");
    return -1;
}

/* Repetition penalty and (when on) the grammar mask on H's logits row LG. */
static void process_logits(const decoder *d, float *lg, const hyp *h, int route)
{
    apply_repetition(lg, d->V, h->toks, h->n, d->s->repetition_penalty, d->allowed);
    if (d->s->grammar && d->s->data_limits)
        apply_note_age(lg, &h->g, &d->s->limits, d->s->note_age_bias, d->s->grammar == SAMPLER_MASK_TYPED && route);
    if (d->s->grammar == SAMPLER_MASK_TYPED) sampler_typed_mask(lg, d->V, &h->g, d->allowed, route);
    else if (d->s->grammar) apply_mask(lg, d->V, &h->g, d->allowed);
}

/* One step's token of OUT's piece is chosen: time the first; *generated counts steps. */
static void count_step(const decoder *d, sampler_result *out, int *generated)
{
    if (*generated == 0) out->first_token_seconds = clock_monotonic() - d->t0;
    (*generated)++;
}

/* Report progress; 1 when the callback cancels. */
static int report(const decoder *d, int generated)
{
    return d->progress && d->progress(d->progress_ctx, generated, d->progress_total);
}

/* Append hypothesis hy[j]'s newest token next[j] to cache row rows[j] for
 * j < N (sliding a full context), leaving each row's next-token logits in
 * its row of d->logits: the rows with room in one batched step, a full one
 * by a refill of its own. Returns 0 or -1 (err set). */
static int append_rows(decoder *d, const int *rows, const hyp *const *hy, const int32_t *next, int n)
{
    int n_step = 0;
    for (int j = 0; j < n; j++) {
        int row = rows[j];
        if (kv_cache_len(d->kc, row) < d->maxT) {
            d->step_seqs[n_step] = row;
            d->step_tok[n_step++] = next[j];
        } else if (refill(d->kc, row, hy[j]->toks, hy[j]->n, d->maxT, d->logits + (size_t)row * d->V)) {
            return fail_internal(d);
        }
    }
    if (!n_step) return 0;
    if (kv_cache_step_seqs(d->kc, d->step_seqs, d->step_tok, n_step, d->step_logits)) return fail_internal(d);
    for (int j = 0; j < n_step; j++)
        memcpy(d->logits + (size_t)d->step_seqs[j] * d->V, d->step_logits + (size_t)j * d->V, (size_t)d->V * sizeof(float));
    return 0;
}

/* ---- greedy, temperature, top-k, top-p: pieces decoded together ---------- */

/* One piece: its hypothesis, its own random stream and its result. */
typedef struct {
    hyp h;
    rng_state rng;
    sampler_result *out;
    int generated;
    int live;
} piece;

/* Decode the NP pieces (cache row i and logits row i hold piece i's
 * next-token logits) by pick_token until each stops or progress cancels;
 * each step appends the live pieces' tokens in one batched cache pass.
 * Piece i's tokens depend only on its own seed: they are those it gets
 * decoded alone. Beam search with one beam comes here too (it is greedy).
 * Each result is its piece closed. 0 or -1. */
static int sampler_decode_pieces(decoder *d, piece *pc, int np)
{
    prob_id *work = malloc((size_t)d->V * 2 * sizeof *work);
    const hyp **hy = malloc((size_t)np * sizeof *hy);
    int32_t *next = malloc((size_t)np * sizeof *next);
    int *rows = malloc((size_t)np * sizeof *rows);
    int rc = 0, total = 0, n_live = np, cancelled = 0;
    if (!work || !hy || !next || !rows) {
        rc = fail_nomem(d);
        goto done;
    }
    for (;;) {
        int n_step = 0;
        for (int i = 0; i < np; i++) {
            piece *p = &pc[i];
            if (!p->live) continue;
            float *lg = d->logits + (size_t)i * d->V;
            int32_t tok = p->h.pending;
            if (tok >= 0) {
                p->h.pending = -1; /* the second token of a route or a steal: the model's logits are not drawn */
            } else {
                process_logits(d, lg, &p->h, 1);
                tok = pick_token(lg, d->V, d->s, &p->rng, work);
            }
            count_step(d, p->out, &p->generated);
            hyp_take(&p->h, tok, d->s->grammar == SAMPLER_MASK_TYPED);
            if (report(d, ++total)) cancelled = 1; /* the step still ends for every piece */
            if (should_stop(&p->h, d->s, p->generated)) {
                p->live = 0;
                p->out->seconds_taken = clock_monotonic() - d->t0;
                n_live--;
                continue;
            }
            rows[n_step] = i;
            hy[n_step] = &p->h;
            next[n_step++] = tok;
        }
        if (cancelled || n_live == 0) break;
        if ((rc = append_rows(d, rows, hy, next, n_step))) break;
    }
    for (int i = 0; i < np && !rc; i++) {
        if (pc[i].live) pc[i].out->seconds_taken = clock_monotonic() - d->t0; /* cancelled */
        if (finish(pc[i].out, &pc[i].h, d->prime_end)) rc = fail_nomem(d);
    }
done:
    free(work);
    free(hy);
    free(next);
    free(rows);
    return rc;
}

/* ---- beam search -------------------------------------------------------- */

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

typedef struct {
    int nb;          /* beams */
    hyp *hy;         /* live hy[0..nb) | next hy[nb..2nb) */
    hyp *fin;        /* finished fin[0..n_fin), at most nb */
    int n_fin;
    float *lsm;      /* log-softmax scratch */
    cand *cands;     /* nb + 1 per live beam */
    int *src;        /* parent beam of each next row */
    int32_t *next_tok; /* newest token of each next row */
    int *rows;       /* 0, 1, ..., nb-1: the cache rows of the live set */
    const hyp **live; /* &hy[0..nb) */
    float *key;      /* the candidates' keys: log-prob (exact) or log-prob / T + Gumbel noise (sampled) */
    rng_state rng;   /* the Gumbel noise (sampled beams) */
} beam_set;

static void beam_free(beam_set *bs)
{
    if (bs->hy)
        for (int i = 0; i < 2 * bs->nb; i++) free(bs->hy[i].toks);
    if (bs->fin)
        for (int i = 0; i < bs->nb; i++) free(bs->fin[i].toks);
    free(bs->hy);
    free(bs->fin);
    free(bs->lsm);
    free(bs->key);
    free(bs->cands);
    free(bs->src);
    free(bs->next_tok);
    free(bs->rows);
    free(bs->live);
}

/* Allocate the working set of NB beams. 0 or -1 (out of memory; bs is
 * still to be freed). */
static int beam_alloc(beam_set *bs, int nb, const decoder *d)
{
    memset(bs, 0, sizeof *bs);
    bs->nb = nb;
    bs->hy = calloc((size_t)nb * 2, sizeof *bs->hy);
    bs->fin = calloc((size_t)nb, sizeof *bs->fin);
    bs->lsm = malloc((size_t)d->V * sizeof(float));
    bs->key = malloc((size_t)d->V * sizeof(float));
    rng_seed(&bs->rng, d->s->seed);
    bs->cands = malloc((size_t)nb * ((size_t)nb + 1) * sizeof *bs->cands);
    bs->src = malloc((size_t)nb * sizeof(int));
    bs->next_tok = malloc((size_t)nb * sizeof(int32_t));
    bs->rows = malloc((size_t)nb * sizeof(int));
    bs->live = malloc((size_t)nb * sizeof *bs->live);
    if (!bs->hy || !bs->fin || !bs->lsm || !bs->key || !bs->cands || !bs->src || !bs->next_tok || !bs->rows || !bs->live) return -1;
    for (int i = 0; i < nb; i++) {
        bs->rows[i] = i;
        bs->live[i] = &bs->hy[i];
    }
    for (int i = 0; i < 2 * nb; i++)
        if (!(bs->hy[i].toks = malloc(d->cap * sizeof(int32_t)))) return -1;
    return 0;
}

/* The best nb + 1 tokens of live beam B (enough for nb live ones), or with
 * beam_sampled nb + 1 sampled ones, as candidates into cands; returns how many (a beam with no allowed token
 * offers END at its own score). */
static int beam_expand(const decoder *d, beam_set *bs, int b, cand *cands)
{
    const hyp *h = &bs->hy[b];
    float *lg = d->logits + (size_t)b * d->V, *lsm = bs->lsm, *key = bs->key;
    process_logits(d, lg, h, 0); /* beams score token by token: no routing */
    log_softmax(lsm, lg, d->V);
    /* sampled beams: the nb + 1 largest log p / T + Gumbel keys are nb + 1
     * draws without replacement from the tempered distribution (the
     * Gumbel-top-k trick), so the candidates are what sampling would try
     * and the beam keeps the likeliest continuations among them */
    for (int t = 0; t < d->V; t++) {
        key[t] = lsm[t];
        if (d->s->beam_sampled && lsm[t] > -INFINITY) {
            double u = rng_uniform_double(&bs->rng);
            key[t] = lsm[t] / d->s->temperature - (float)log(-log(u > 0 ? u : 1e-300));
        }
    }
    int n = 0;
    for (int k = 0; k < bs->nb + 1; k++) {
        int best = -1;
        for (int t = 0; t < d->V; t++)
            if (key[t] > -INFINITY && (best < 0 || key[t] > key[best])) best = t;
        if (best < 0) break;
        cand c = {0, h->logp + lsm[best], b, best};
        c.score = score_of(c.logp, h->n + 1 - d->prime_end, d->s->length_penalty);
        cands[n++] = c;
        key[best] = -INFINITY;
    }
    if (!n) cands[n++] = (cand){h->logp, h->logp, b, TOK_END};
    return n;
}

/* From the N_C sorted candidates, the next live set (then swapped into
 * hy[0..)): each extends its parent beam by its token; one that stops is
 * kept as finished instead (while fewer than nb are). Fills src and
 * next_tok; returns the set's size, or -1 (out of memory). */
static int beam_select(const decoder *d, beam_set *bs, int n_c, int generated)
{
    int nb = bs->nb, n_next = 0;
    for (int i = 0; i < n_c && n_next < nb; i++) {
        const cand *c = &bs->cands[i];
        hyp *to = &bs->hy[nb + n_next];
        hyp_copy(to, &bs->hy[c->beam]);
        to->logp = c->logp;
        hyp_take(to, c->tok, 0);
        if (should_stop(to, d->s, generated)) {
            if (bs->n_fin < nb) {
                hyp *f = &bs->fin[bs->n_fin++];
                if (!(f->toks = malloc(d->cap * sizeof(int32_t)))) return -1;
                hyp_copy(f, to);
            }
            continue;
        }
        bs->src[n_next] = c->beam;
        bs->next_tok[n_next] = c->tok;
        n_next++;
    }
    for (int i = 0; i < nb; i++) {
        hyp t = bs->hy[i];
        bs->hy[i] = bs->hy[nb + i];
        bs->hy[nb + i] = t;
    }
    return n_next;
}

/* The best of the finished, then the N_LIVE live hypotheses by hyp_score
 * (the first wins a tie). */
static const hyp *beam_best(const decoder *d, const beam_set *bs, int n_live)
{
    const hyp *best = NULL;
    double best_score = -INFINITY;
    for (int i = 0; i < bs->n_fin + n_live; i++) {
        const hyp *h = i < bs->n_fin ? &bs->fin[i] : &bs->hy[i - bs->n_fin];
        double sc = hyp_score(h, d->prime_end, d->s->length_penalty);
        if (!best || sc > best_score) best = h, best_score = sc;
    }
    return best;
}

/* Beam search with NB > 1 beams from H0 (cache row 0 holds its next-token
 * logits); the result is the best finished or live hypothesis, closed.
 * Scores use the masked, penalised log-softmax (no temperature). 0 or -1. */
static int sampler_decode_beam(decoder *d, const hyp *h0, int nb)
{
    beam_set bs;
    int rc = 0, n_live = 1, generated = 0;
    if (beam_alloc(&bs, nb, d)) {
        rc = fail_nomem(d);
        goto done;
    }
    hyp_copy(&bs.hy[0], h0);
    for (;;) {
        int n_c = 0;
        for (int b = 0; b < n_live; b++) n_c += beam_expand(d, &bs, b, bs.cands + n_c);
        count_step(d, d->out, &generated);
        qsort(bs.cands, (size_t)n_c, sizeof *bs.cands, by_score_desc);
        if ((n_live = beam_select(d, &bs, n_c, generated)) < 0) {
            rc = fail_nomem(d);
            goto done;
        }
        int cancelled = report(d, generated);
        if (cancelled || bs.n_fin >= nb || generated >= d->s->max_tokens || n_live == 0) break;
        if (kv_cache_reorder(d->kc, bs.src, n_live)) {
            rc = fail_nomem(d);
            goto done;
        }
        if ((rc = append_rows(d, bs.rows, bs.live, bs.next_tok, n_live))) goto done;
    }
    const hyp *best = beam_best(d, &bs, n_live);
    if (!best || finish(d->out, best, d->prime_end)) rc = fail_nomem(d);
done:
    beam_free(&bs);
    return rc;
}

/* ---- the entry ---------------------------------------------------------- */

/* Give pieces 1..np-1 piece 0's start (hypothesis, cache row, logits) and
 * every piece its result and its random stream (seed + i). 0 or -1. */
static int pieces_start(decoder *d, piece *pc, int np, sampler_result *out)
{
    int *src = malloc((size_t)np * sizeof *src);
    if (!src) return fail_nomem(d);
    for (int i = 0; i < np; i++) {
        src[i] = 0;
        pc[i].out = &out[i];
        pc[i].live = 1;
        rng_seed(&pc[i].rng, d->s->seed + (uint64_t)i);
        if (i == 0) continue;
        if (!(pc[i].h.toks = malloc(d->cap * sizeof(int32_t)))) {
            free(src);
            return fail_nomem(d);
        }
        hyp_copy(&pc[i].h, &pc[0].h);
        memcpy(d->logits + (size_t)i * d->V, d->logits, (size_t)d->V * sizeof(float));
    }
    int rc = np > 1 && kv_cache_reorder(d->kc, src, np) ? fail_nomem(d) : 0;
    free(src);
    return rc;
}

/* sampler_generate for NP pieces decoded together (NP = 1 for beam
 * search); out[0..np) are set. 0 or -1 (err set, out freed). */
static int generate_run(const transformer *m, const sampler_settings *s, const int32_t *prefix, int n_prefix,
                        const float *cond, int cond_rows, int np, sampler_progress_fn progress, void *progress_ctx,
                        double t0, sampler_result *out, char err[AURL_ERR_LEN])
{
    for (int i = 0; i < np; i++) memset(&out[i], 0, sizeof out[i]);
    const model_config *cfg = transformer_config(m);
    int nb = s->strategy == SAMPLER_BEAM ? s->beams : 1;
    decoder d = {.s = s, .V = cfg->vocab_size, .maxT = cfg->max_seq_len, .rows = nb > np ? nb : np,
                 .cap = 1 + (size_t)n_prefix + (size_t)s->max_tokens + 1,
                 .progress = progress, .progress_ctx = progress_ctx, .progress_total = np * s->max_tokens,
                 .t0 = t0, .out = out, .err = err};
    int rc = -1;
    piece *pc = calloc((size_t)np, sizeof *pc);
    d.logits = malloc((size_t)d.rows * d.V * sizeof(float));
    d.step_logits = malloc((size_t)d.rows * d.V * sizeof(float));
    d.step_seqs = malloc((size_t)d.rows * sizeof(int));
    d.step_tok = malloc((size_t)d.rows * sizeof(int32_t));
    d.allowed = malloc((size_t)(d.V > TOK_VOCAB_SIZE ? d.V : TOK_VOCAB_SIZE));
    if (!pc || !d.logits || !d.step_logits || !d.step_seqs || !d.step_tok || !d.allowed ||
        !(pc[0].h.toks = malloc(d.cap * sizeof(int32_t)))) {
        fail_nomem(&d);
        goto done;
    }
    if (kv_cache_create_prec(&d.kc, m, d.rows, s->precision, err)) goto done;
    kv_cache_set_cond(d.kc, cond, cond_rows);
    d.prime_end = hyp_start(&pc[0].h, s, model_vocab(transformer_config(m)), prefix, n_prefix);
    if (refill(d.kc, 0, pc[0].h.toks, pc[0].h.n, d.maxT, d.logits)) {
        fail_internal(&d);
        goto done;
    }
    if (nb > 1) {
        if (!(rc = sampler_decode_beam(&d, &pc[0].h, nb))) out->seconds_taken = clock_monotonic() - d.t0;
    } else if (!(rc = pieces_start(&d, pc, np, out))) {
        rc = sampler_decode_pieces(&d, pc, np);
    }
done:
    if (rc)
        for (int i = 0; i < np; i++) sampler_result_free(&out[i]);
    kv_cache_free(d.kc);
    for (int i = 0; pc && i < np; i++) free(pc[i].h.toks);
    free(pc);
    free(d.logits);
    free(d.step_logits);
    free(d.step_seqs);
    free(d.step_tok);
    free(d.allowed);
    return rc;
}

/* Checks common to both entries. 0 or -1 (err set). */
static int check_call(const sampler_settings *s, const int32_t *prefix, int n_prefix, char err[AURL_ERR_LEN])
{
    if (sampler_settings_validate(s, err)) return -1;
    if (n_prefix < 0 || (n_prefix > 0 && !prefix) || n_prefix > 100000000) {
        errmsg_set(err, "sampler: bad prefix of %d tokens", n_prefix);
        return -1;
    }
    return 0;
}

int sampler_generate(const transformer *m, const sampler_settings *s, const int32_t *prefix, int n_prefix,
                     const float *cond, int cond_rows, sampler_progress_fn progress, void *progress_ctx,
                     sampler_result *out, char err[AURL_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    if (check_call(s, prefix, n_prefix, err)) return -1;
    return generate_run(m, s, prefix, n_prefix, cond, cond_rows, 1, progress, progress_ctx, clock_monotonic(), out,
                        err);
}

/* Progress of piece `done` of a sequential (beam) batch, as batch totals. */
typedef struct {
    sampler_progress_fn fn;
    void *ctx;
    int done, per, total;
} seq_progress;

static int on_seq_progress(void *ctx, int generated, int total)
{
    const seq_progress *p = ctx;
    (void)total;
    return p->fn(p->ctx, p->done * p->per + generated, p->total);
}

/* Pieces FIRST..FIRST+N-1 of a batch (seeds s->seed + FIRST + i) into
 * out[0..n): decoded together, or one after the other under beam search.
 * progress counts this range's tokens from 0. 0 or -1 (err set, out freed). */
static int run_range(const transformer *m, const sampler_settings *s, const int32_t *prefix, int n_prefix,
                     const float *cond, int cond_rows, int first, int n, sampler_progress_fn progress,
                     void *progress_ctx, double t0, sampler_result *out, char err[AURL_ERR_LEN])
{
    sampler_settings si = *s;
    si.seed = s->seed + (uint64_t)first;
    if (s->strategy != SAMPLER_BEAM || n == 1)
        return generate_run(m, &si, prefix, n_prefix, cond, cond_rows, n, progress, progress_ctx, t0, out, err);
    seq_progress sp = {progress, progress_ctx, 0, s->max_tokens, n * s->max_tokens};
    for (int i = 0; i < n; i++) {
        si.seed = s->seed + (uint64_t)(first + i);
        sp.done = i;
        if (generate_run(m, &si, prefix, n_prefix, cond, cond_rows, 1, progress ? on_seq_progress : NULL, &sp, t0,
                         &out[i], err)) {
            for (int k = 0; k < i; k++) sampler_result_free(&out[k]);
            return -1;
        }
    }
    return 0;
}

/* Groups a batch of N pieces splits into on T threads. One when either is
 * 1. Else about eight pieces a group (a bf16 decode step reads the weights
 * once per eight rows, kv_linear), at least one group per thread and at
 * most two per thread: groups are taken dynamically, so a thread on a core
 * that another process also wants takes fewer of them. */
static int batch_groups(int n, int threads)
{
    if (n < 2 || threads < 2) return 1;
    int g = (n + 7) / 8;
    if (g < threads) g = threads < n ? threads : n;
    if (g > 2 * threads) g = 2 * threads;
    return g;
}

/* The caller's progress callback shared by the groups of a batch: calls
 * are serialised, counts summed, and a cancel reaches every group. */
typedef struct {
    sampler_progress_fn fn;
    void *ctx;
    int done, total, cancelled;
} batch_progress;

/* One group's view of a batch_progress (last: its tokens reported so far). */
typedef struct {
    batch_progress *bp;
    int last;
} group_progress;

static int on_group_progress(void *ctx, int generated, int total)
{
    group_progress *g = ctx;
    int cancelled;
    (void)total;
#pragma omp critical(sampler_batch_progress)
    {
        batch_progress *bp = g->bp;
        bp->done += generated - g->last;
        g->last = generated;
        if (!bp->cancelled && bp->fn(bp->ctx, bp->done, bp->total)) bp->cancelled = 1;
        cancelled = bp->cancelled;
    }
    return cancelled;
}

/* The batch as NG groups of consecutive pieces, decoded on OpenMP threads
 * (each group its own cache; the cache's maths runs single-threaded
 * inside). Pieces do not depend on their batch, so the result is the
 * single-group one. 0 or -1 (err set, every result freed). */
static int run_groups(const transformer *m, const sampler_settings *s, const int32_t *prefix, int n_prefix,
                      const float *cond, int cond_rows, int n_pieces, int ng, sampler_progress_fn progress,
                      void *progress_ctx, double t0, sampler_result *out, char err[AURL_ERR_LEN])
{
    batch_progress bp = {progress, progress_ctx, 0, n_pieces * s->max_tokens, 0};
    int *rc = calloc((size_t)ng, sizeof *rc);
    char (*errs)[AURL_ERR_LEN] = calloc((size_t)ng, sizeof *errs);
    group_progress *gp = calloc((size_t)ng, sizeof *gp);
    if (!rc || !errs || !gp) {
        free(rc), free(errs), free(gp);
        errmsg_set(err, "sampler: out of memory");
        return -1;
    }
    int threads = omp_get_max_threads() < ng ? omp_get_max_threads() : ng;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int g = 0; g < ng; g++) {
        int first = (int)((long)n_pieces * g / ng), last = (int)((long)n_pieces * (g + 1) / ng);
        gp[g].bp = &bp;
        rc[g] = run_range(m, s, prefix, n_prefix, cond, cond_rows, first, last - first,
                          progress ? on_group_progress : NULL, &gp[g], t0, out + first, errs[g]);
    }
    int failed = -1;
    for (int g = 0; g < ng && failed < 0; g++)
        if (rc[g]) failed = g;
    if (failed >= 0) {
        errmsg_set(err, "%s", errs[failed]);
        for (int g = 0; g < ng; g++) {
            int first = (int)((long)n_pieces * g / ng), last = (int)((long)n_pieces * (g + 1) / ng);
            for (int i = first; i < last && !rc[g]; i++) sampler_result_free(&out[i]);
        }
    }
    free(rc), free(errs), free(gp);
    return failed >= 0 ? -1 : 0;
}

int sampler_generate_batch(const transformer *m, const sampler_settings *s, const int32_t *prefix, int n_prefix,
                           const float *cond, int cond_rows, int n_pieces, sampler_progress_fn progress,
                           void *progress_ctx, sampler_result *out, char err[AURL_ERR_LEN])
{
    if (n_pieces < 1 || n_pieces > SAMPLER_BATCH_MAX) {
        errmsg_set(err, "sampler: %d pieces in one batch (must be 1..%d)", n_pieces, SAMPLER_BATCH_MAX);
        return -1;
    }
    for (int i = 0; i < n_pieces; i++) memset(&out[i], 0, sizeof out[i]);
    if (check_call(s, prefix, n_prefix, err)) return -1;
    double t0 = clock_monotonic();
    int ng = omp_in_parallel() ? 1 : batch_groups(n_pieces, omp_get_max_threads());
    if (ng == 1)
        return run_range(m, s, prefix, n_prefix, cond, cond_rows, 0, n_pieces, progress, progress_ctx, t0, out, err);
    return run_groups(m, s, prefix, n_prefix, cond, cond_rows, n_pieces, ng, progress, progress_ctx, t0, out, err);
}
