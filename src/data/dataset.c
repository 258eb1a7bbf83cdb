/* dataset: windows over cached token arrays, seeded resumable batch order,
 * optional per-window augmentation. */
#include "data/dataset.h"

#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"
#include "util/log.h"
#include "util/rng.h"

#define FEISTEL_ROUNDS 6

typedef struct {
    const uint16_t *tokens; /* first token of the window */
    uint32_t len;           /* tokens available (<= T+1; shorter ones are padded) */
    uint8_t instrument;     /* family current at the window start */
} window;

struct dataset {
    window *w;
    size_t n;
    int T;
    int split;
    int vocab;           /* token vocabulary of the windows */
    dataset_seq *seqs;   /* the split's sequences in that vocabulary */
    size_t n_seqs;
    uint16_t *store;     /* v2: the transcoded tokens seqs point into (v1: NULL, the cache's) */
};

dataset_seq *dataset_split_seqs(const cache *c, cache_split split, size_t *n)
{
    size_t total = cache_n_entries(c);
    dataset_seq *seqs = calloc(total + 1, sizeof *seqs);
    *n = 0;
    if (!seqs) return NULL;
    for (size_t i = 0; i < total; i++) {
        const cache_entry *e = cache_entry_at(c, i);
        if (e->split == split) seqs[(*n)++] = (dataset_seq){e->tokens, e->n_tokens};
    }
    return seqs;
}

/* Re-point the N v1 sequences SEQS at their transcoding into VOCAB, held
 * in one malloc'd block (returned; NULL when out of memory, SEQS unchanged). */
static uint16_t *transcode_seqs(dataset_seq *seqs, size_t n, int vocab)
{
    uint16_t **parts = calloc(n + 1, sizeof *parts);
    size_t total = 0, *lens = calloc(n + 1, sizeof *lens);
    int oom = !parts || !lens;
    for (size_t i = 0; i < n && !oom; i++) {
        oom = tok_transcode(seqs[i].tokens, seqs[i].n, vocab, &parts[i], &lens[i]) != 0;
        total += lens[i];
    }
    uint16_t *all = oom ? NULL : malloc((total ? total : 1) * sizeof *all);
    for (size_t i = 0, at = 0; all && i < n; i++) {
        memcpy(all + at, parts[i], lens[i] * sizeof *all);
        seqs[i] = (dataset_seq){all + at, lens[i]};
        at += lens[i];
    }
    for (size_t i = 0; parts && i < n; i++) free(parts[i]);
    free(parts);
    free(lens);
    return all;
}

dataset_seq *dataset_split_seqs_vocab(const cache *c, cache_split split, int vocab, size_t *n, uint16_t **store)
{
    *store = NULL;
    dataset_seq *seqs = dataset_split_seqs(c, split, n);
    if (!seqs || vocab == TOK_VOCAB_V1) return seqs;
    if (!(*store = transcode_seqs(seqs, *n, vocab))) {
        free(seqs);
        return NULL;
    }
    return seqs;
}

size_t dataset_seq_n_windows(size_t n, int T, int stride)
{
    size_t W = (size_t)T + 1;
    if (n <= W) return 1;
    int tail = (n - W) % (size_t)stride != 0; /* final window ending at END */
    return (n - W) / (size_t)stride + 1 + (size_t)tail;
}

size_t dataset_seq_window_start(size_t n, int T, int stride, size_t k)
{
    size_t W = (size_t)T + 1;
    if (n <= W) return 0;
    size_t n_starts = (n - W) / (size_t)stride + 1;
    return k < n_starts ? k * (size_t)stride : n - W;
}

/* Append the windows of one file; returns 0 or -1 (OOM). */
static int add_file_windows(dataset *d, size_t *cap, const uint16_t *tok, size_t n, int T,
                            int stride)
{
    size_t W = (size_t)T + 1;
    size_t n_win = dataset_seq_n_windows(n, T, stride);
    size_t need = d->n + n_win;
    if (need > *cap) {
        size_t ncap = *cap ? *cap : 1024;
        while (ncap < need) ncap *= 2;
        window *p = realloc(d->w, ncap * sizeof *p);
        if (!p) return -1;
        d->w = p;
        *cap = ncap;
    }
    int instr = 0;
    size_t scanned = 0; /* tokens before `scanned` have been folded into instr */
    for (size_t k = 0; k < n_win; k++) {
        size_t start = dataset_seq_window_start(n, T, stride, k);
        for (; scanned < start; scanned++) {
            uint16_t t = tok[scanned];
            if (t >= TOK_INSTRUMENT && t < TOK_INSTRUMENT + TOK_N_FAMILIES) instr = t - TOK_INSTRUMENT;
        }
        window *w = &d->w[d->n++];
        w->tokens = tok + start;
        w->len = (uint32_t)(n - start < W ? n - start : W);
        w->instrument = (uint8_t)instr;
    }
    return 0;
}

/* A dataset with no windows yet, or NULL (err set). */
static dataset *dataset_new(const char *what, int split, int T, int stride, char err[AURL_ERR_LEN])
{
    if (T < 1 || stride < 1 || (split != CACHE_TRAIN && split != CACHE_VAL)) {
        errmsg_set(err, "%s: invalid dataset arguments (T=%d, stride=%d, split=%d)", what, T, stride,
                   split);
        return NULL;
    }
    dataset *d = calloc(1, sizeof *d);
    if (!d) {
        errmsg_set(err, "%s: out of memory for the dataset", what);
        return NULL;
    }
    d->T = T;
    d->split = split;
    d->vocab = TOK_VOCAB_V1;
    return d;
}

int dataset_open(dataset **out, const cache *c, int split, int T, int stride,
                 char err[AURL_ERR_LEN])
{
    return dataset_open_vocab(out, c, split, T, stride, TOK_VOCAB_V1, err);
}

int dataset_open_vocab(dataset **out, const cache *c, int split, int T, int stride, int vocab,
                       char err[AURL_ERR_LEN])
{
    *out = NULL;
    dataset *d = dataset_new(cache_dir(c), split, T, stride, err);
    if (!d) return -1;
    d->vocab = vocab;
    if (split == CACHE_TRAIN || split == CACHE_VAL)
        d->seqs = dataset_split_seqs_vocab(c, (cache_split)split, vocab, &d->n_seqs, &d->store);
    if (!d->seqs) {
        errmsg_set(err, "%s: out of memory for the dataset's sequences", cache_dir(c));
        dataset_close(d);
        return -1;
    }
    size_t cap = 0;
    for (size_t i = 0; i < d->n_seqs; i++) {
        if (d->seqs[i].n == 0) continue;
        if (add_file_windows(d, &cap, d->seqs[i].tokens, d->seqs[i].n, T, stride)) {
            errmsg_set(err, "%s: out of memory for the dataset's windows", cache_dir(c));
            dataset_close(d);
            return -1;
        }
    }
    if (d->n == 0) {
        errmsg_set(err, "%s: no %s windows (no %s files in the cache)", cache_dir(c),
                   cache_split_name(split), cache_split_name(split));
        dataset_close(d);
        return -1;
    }
    *out = d;
    return 0;
}

int dataset_open_seqs(dataset **out, const dataset_seq *seqs, size_t n_seqs, int T, int stride,
                      char err[AURL_ERR_LEN])
{
    return dataset_open_seqs_vocab(out, seqs, n_seqs, T, stride, TOK_VOCAB_V1, err);
}

int dataset_open_seqs_vocab(dataset **out, const dataset_seq *seqs, size_t n_seqs, int T, int stride, int vocab,
                            char err[AURL_ERR_LEN])
{
    *out = NULL;
    dataset *d = dataset_new("token sequences", CACHE_VAL, T, stride, err);
    if (!d) return -1;
    d->vocab = vocab;
    if (vocab != TOK_VOCAB_V1) {
        d->seqs = malloc((n_seqs + 1) * sizeof *d->seqs);
        if (d->seqs) memcpy(d->seqs, seqs, n_seqs * sizeof *seqs);
        if (!d->seqs || !(d->store = transcode_seqs(d->seqs, n_seqs, vocab))) {
            errmsg_set(err, "out of memory transcoding %zu token sequences", n_seqs);
            dataset_close(d);
            return -1;
        }
        d->n_seqs = n_seqs;
        seqs = d->seqs;
    }
    size_t cap = 0;
    for (size_t i = 0; i < n_seqs; i++) {
        if (seqs[i].n == 0) continue;
        if (add_file_windows(d, &cap, seqs[i].tokens, seqs[i].n, T, stride)) {
            errmsg_set(err, "out of memory for the windows of %zu token sequences", n_seqs);
            dataset_close(d);
            return -1;
        }
    }
    if (d->n == 0) {
        errmsg_set(err, "no windows (none of %zu token sequences has a token)", n_seqs);
        dataset_close(d);
        return -1;
    }
    *out = d;
    return 0;
}

static int compare_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

int dataset_keep_subset(dataset *d, size_t n, uint64_t seed)
{
    if (n == 0 || n >= d->n) return 0;
    size_t *pick = malloc(n * sizeof *pick);
    window *w = malloc(n * sizeof *w);
    if (!pick || !w) {
        free(pick);
        free(w);
        return -1;
    }
    /* an "epoch" no training epoch uses, so the subset is independent of the batch order */
    for (size_t i = 0; i < n; i++) pick[i] = dataset_window_at(d, seed, UINT64_MAX, i, 1);
    qsort(pick, n, sizeof *pick, compare_size);
    for (size_t i = 0; i < n; i++) w[i] = d->w[pick[i]];
    free(pick);
    free(d->w);
    d->w = w;
    d->n = n;
    return 0;
}

void dataset_close(dataset *d)
{
    if (!d) return;
    free(d->w);
    free(d->seqs);
    free(d->store);
    free(d);
}

size_t dataset_n_windows(const dataset *d) { return d->n; }
int dataset_vocab(const dataset *d) { return d->vocab; }

const dataset_seq *dataset_sequences(const dataset *d, size_t *n)
{
    *n = d->seqs ? d->n_seqs : 0;
    return d->seqs;
}

/* Add the N tokens of TOK to counts[TOK_VOCAB_SIZE] (ids outside it as UNK). */
static void count_tokens(uint64_t *counts, const uint16_t *tok, size_t n)
{
    for (size_t k = 0; k < n; k++) counts[tok[k] < TOK_VOCAB_SIZE ? tok[k] : TOK_UNK]++;
}

/* probs[TOK_VOCAB_SIZE] = counts / their sum (all 0 when there are none). */
static void counts_to_probs(const uint64_t *counts, double *probs)
{
    double total = 0;
    for (int t = 0; t < TOK_VOCAB_SIZE; t++) total += (double)counts[t];
    for (int t = 0; t < TOK_VOCAB_SIZE; t++) probs[t] = total > 0 ? (double)counts[t] / total : 0.0;
}

void dataset_seqs_unigram(const dataset_seq *seqs, size_t n, double *probs)
{
    uint64_t *counts = calloc(TOK_VOCAB_SIZE, sizeof *counts);
    memset(probs, 0, TOK_VOCAB_SIZE * sizeof *probs);
    if (!counts) return;
    for (size_t i = 0; i < n; i++) count_tokens(counts, seqs[i].tokens, seqs[i].n);
    counts_to_probs(counts, probs);
    free(counts);
}

int dataset_seq_len(const dataset *d) { return d->T; }

size_t dataset_batches_per_epoch(const dataset *d, int B)
{
    if (B < 1) return 0;
    size_t b = (size_t)B;
    if (d->split == CACHE_VAL) return (d->n + b - 1) / b;
    return d->n >= b ? d->n / b : 1;
}

/* Bijection of [0, n): a balanced Feistel network on the smallest even
 * number of bits covering n, keyed by (seed, epoch), with cycle walking. */
size_t dataset_window_at(const dataset *d, uint64_t seed, uint64_t epoch, size_t pos,
                         int shuffle)
{
    size_t n = d->n;
    if (!shuffle || n <= 1) return pos % (n ? n : 1);
    int bits = 2;
    while (bits < 62 && ((uint64_t)1 << bits) < n) bits += 2;
    int half = bits / 2;
    uint64_t mask = ((uint64_t)1 << half) - 1;
    uint64_t keys[FEISTEL_ROUNDS];
    uint64_t base = rng_mix64(seed) ^ rng_mix64(epoch ^ 0x5bd1e9955bd1e995ULL);
    for (int r = 0; r < FEISTEL_ROUNDS; r++) keys[r] = rng_mix64(base + (uint64_t)r);
    uint64_t x = pos % n;
    do {
        uint64_t L = x >> half, R = x & mask;
        for (int r = 0; r < FEISTEL_ROUNDS; r++) {
            uint64_t nl = R;
            R = L ^ (rng_mix64(R ^ keys[r]) & mask);
            L = nl;
        }
        x = L << half | R;
    } while (x >= n);
    return (size_t)x;
}

void dataset_get_batch(const dataset *d, int B, uint64_t seed, uint64_t epoch,
                       size_t batch_index, int shuffle, const augment_config *aug,
                       int32_t *inputs, int32_t *targets)
{
    size_t T = (size_t)d->T, W = T + 1;
    uint16_t *buf = NULL; /* the augmented window; plain windows are read in place */
    if (aug && !(buf = malloc(W * sizeof *buf)))
        log_error("dataset: out of memory for a %zu-token window; batch %zu not augmented", W, batch_index);
    for (int r = 0; r < B; r++) {
        int32_t *in = inputs + (size_t)r * T, *tg = targets + (size_t)r * T;
        size_t j = batch_index * (size_t)B + (size_t)r;
        if (d->split == CACHE_VAL && j >= d->n) {
            for (size_t i = 0; i < T; i++) in[i] = tg[i] = TOK_PAD;
            continue;
        }
        size_t wi = dataset_window_at(d, seed, epoch, j % d->n, shuffle);
        const window *w = &d->w[wi];
        const uint16_t *src = w->tokens;
        size_t len = w->len;
        if (buf) {
            augment_window_vocab(w->tokens, w->len, buf, W, w->instrument, aug, seed, epoch, wi, d->vocab);
            src = buf;
            len = W;
        }
        size_t n_in = len < T ? len : T, n_tg = len - 1 < T ? len - 1 : T; /* len >= 1 */
        for (size_t i = 0; i < n_in; i++) in[i] = src[i];
        for (size_t i = n_in; i < T; i++) in[i] = TOK_PAD;
        for (size_t i = 0; i < n_tg; i++) tg[i] = src[i + 1];
        for (size_t i = n_tg; i < T; i++) tg[i] = TOK_PAD;
    }
    free(buf);
}

void dataset_token_counts(const cache *c, int split, uint64_t *counts)
{
    memset(counts, 0, TOK_VOCAB_SIZE * sizeof *counts);
    for (size_t i = 0; i < cache_n_entries(c); i++) {
        const cache_entry *e = cache_entry_at(c, i);
        if (e->split == CACHE_REJECTED || (split != CACHE_REJECTED && (int)e->split != split))
            continue;
        count_tokens(counts, e->tokens, e->n_tokens);
    }
}

void dataset_token_unigram(const cache *c, int split, double *probs)
{
    uint64_t *counts = calloc(TOK_VOCAB_SIZE, sizeof *counts);
    memset(probs, 0, TOK_VOCAB_SIZE * sizeof *probs);
    if (!counts) return;
    dataset_token_counts(c, split, counts);
    counts_to_probs(counts, probs);
    free(counts);
}
