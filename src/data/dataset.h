/* dataset: training windows over the token cache (docs/DESIGN.md §7).
 *
 * Each accepted file of one split contributes windows of T+1 tokens at
 * starts 0, stride, 2*stride, ... plus one final window ending at the file's
 * END so no tail is lost; a file shorter than T+1 gives one PAD-padded
 * window. Inputs are window[0..T-1], targets window[1..T] (PAD targets are
 * ignored by every loss). Batches are drawn through a permutation of window
 * indices that depends only on (seed, epoch), computed per index (a keyed
 * Feistel network), so batch k of epoch e is reproducible without replaying
 * and dataset_get_batch is stateless and thread-safe. */
#ifndef AURL_DATASET_H
#define AURL_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "data/augment.h"
#include "data/cache.h"
#include "util/fileio.h"

typedef struct dataset dataset;

/* One token sequence (START ... END) that is not in a cache. */
typedef struct {
    const uint16_t *tokens;
    size_t n;
} dataset_seq;

/* The token sequences of C's entries in SPLIT (pointers into C's mapping,
 * valid until cache_close), malloc'd, count in *n (may be 0); NULL only
 * when out of memory. */
dataset_seq *dataset_split_seqs(const cache *c, cache_split split, size_t *n);

/* The same in vocabulary VOCAB: v1 points into C's mapping (*store NULL);
 * v2 transcodes (tok_transcode) into one malloc'd block *store that the
 * sequences point into (free both). NULL only when out of memory. */
dataset_seq *dataset_split_seqs_vocab(const cache *c, cache_split split, int vocab, size_t *n, uint16_t **store);

/* How every dataset cuts a sequence of N tokens into windows of T+1 tokens:
 * starts 0, stride, 2*stride, ... while a whole window fits, plus one final
 * window ending at the last token when the strided ones miss it; N <= T+1
 * gives one window at 0. The number of windows (>= 1): */
size_t dataset_seq_n_windows(size_t n, int T, int stride);
/* ... and the start of window K (< dataset_seq_n_windows(n, T, stride)). */
size_t dataset_seq_window_start(size_t n, int T, int stride, size_t k);

/* Windows over split (CACHE_TRAIN or CACHE_VAL) of C, which must outlive the
 * dataset. T >= 1, stride >= 1. Fails (err set) if there are no windows. */
int dataset_open(dataset **out, const cache *c, int split, int T, int stride,
                 char err[AURL_ERR_LEN]);
/* The same over the split's sequences in token vocabulary VOCAB
 * (TOK_VOCAB_V1: the cache's tokens; TOK_VOCAB_V2: transcoded, held by the
 * dataset); augmentation then works in that vocabulary. */
int dataset_open_vocab(dataset **out, const cache *c, int split, int T, int stride, int vocab,
                       char err[AURL_ERR_LEN]);
/* Windows over N_SEQS sequences of tokens that are not in a cache (SEQS and
 * the tokens must outlive the dataset; empty sequences are skipped), laid
 * out and batched like a CACHE_VAL split. Fails (err set) if there are no
 * windows. */
int dataset_open_seqs(dataset **out, const dataset_seq *seqs, size_t n_seqs, int T, int stride,
                      char err[AURL_ERR_LEN]);
/* The same for v1 sequences read in vocabulary VOCAB (v2: transcoded, held
 * by the dataset; SEQS need not outlive it then). */
int dataset_open_seqs_vocab(dataset **out, const dataset_seq *seqs, size_t n_seqs, int T, int stride, int vocab,
                            char err[AURL_ERR_LEN]);
/* Keep only N of the windows (N < dataset_n_windows), chosen by a
 * permutation keyed by SEED alone, so every epoch and every resumed run
 * trains on the same subset (kept in their original order). 0 or -1 (OOM). */
int dataset_keep_subset(dataset *d, size_t n, uint64_t seed);
/* Free D (NULL is fine); the cache is not touched. */
void dataset_close(dataset *d);

/* Token vocabulary of D's windows. */
int dataset_vocab(const dataset *d);
/* The sequences D's windows come from, in its vocabulary (NULL, *n 0 for
 * a v1 dataset_open_seqs). */
const dataset_seq *dataset_sequences(const dataset *d, size_t *n);
/* Token frequencies over N sequences into probs[TOK_VOCAB_SIZE]. */
void dataset_seqs_unigram(const dataset_seq *seqs, size_t n, double *probs);
/* Number of windows of the split. */
size_t dataset_n_windows(const dataset *d);
/* T: the tokens of one input (and one target) row of a batch. */
int dataset_seq_len(const dataset *d);
/* Train: whole batches only (the last partial batch is dropped; when there
 * are fewer than B windows, 1 batch that repeats windows). Val: every window
 * once, the last batch padded with PAD rows. */
size_t dataset_batches_per_epoch(const dataset *d, int B);

/* Window index at position POS (< n_windows) of epoch EPOCH's order. */
size_t dataset_window_at(const dataset *d, uint64_t seed, uint64_t epoch, size_t pos,
                         int shuffle);

/* Fill inputs and targets (B*T each, row-major) with batch BATCH_INDEX of
 * epoch EPOCH. SHUFFLE = 0 takes windows in order. AUG (NULL = none) is
 * applied per window, seeded by (seed, epoch, window index). */
void dataset_get_batch(const dataset *d, int B, uint64_t seed, uint64_t epoch,
                       size_t batch_index, int shuffle, const augment_config *aug,
                       int32_t *inputs, int32_t *targets);

/* Token counts of SPLIT (CACHE_TRAIN, CACHE_VAL, or CACHE_REJECTED meaning
 * every accepted file) into counts[TOK_VOCAB_SIZE]. */
void dataset_token_counts(const cache *c, int split, uint64_t *counts);
/* Unigram distribution of the tokens of SPLIT (CACHE_TRAIN, CACHE_VAL, or
 * CACHE_REJECTED meaning every accepted file) into probs[TOK_VOCAB_SIZE]
 * (all zero when there are no tokens). */
void dataset_token_unigram(const cache *c, int split, double *probs);

#endif
