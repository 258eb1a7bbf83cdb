/* precision_kl: how much bf16 decoding changes a model's next-token
 * distributions. Token sequences are fed (teacher-forced) through two KV
 * caches of the same model, one fp32 and one bf16, one decode step per
 * token as sampling runs them; at every position it takes the KL divergence
 * KL(p_fp32 || p_bf16) in nats of the full softmax (temperature 1, no mask),
 * and whether the argmax agrees. Sequences: up to --windows training
 * windows of --tokens tokens (within the context: no slide) of the cache's
 * validation split, cut as the dataset cuts them (stride = the window),
 * and --pieces pieces that the fp32 model samples itself (top-p 0.9,
 * grammar mask, seeds 1..), so the model's own continuations are measured
 * too. Without --checkpoint, the model of --config with its
 * random initial weights.
 *
 *   build/bench/precision_kl [--checkpoint F | --config bench/reference.yaml] [--data DIR]
 *                            [--windows N] [--pieces N] [--tokens N] [--json]
 *
 * Prints mean, 99th percentile and max KL and the argmax agreement, per
 * source (data, sampled) and over all. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/cache.h"
#include "data/dataset.h"
#include "engine/model/model_ckpt.h"
#include "engine/model/model_yaml.h"
#include "engine/nn/blas_core.h"
#include "engine/sample/kv_cache.h"
#include "engine/sample/sampler.h"
#include "util/threads.h"

/* KL measurements of one source. */
typedef struct {
    double *kl;
    size_t n, cap;
    long agree;
} kl_acc;

static int acc_push(kl_acc *a, double kl, int agree)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 4096;
        double *p = realloc(a->kl, cap * sizeof *p);
        if (!p) return -1;
        a->kl = p;
        a->cap = cap;
    }
    a->kl[a->n++] = kl;
    a->agree += agree;
    return 0;
}

/* KL(softmax(a) || softmax(b)) over V logits, in double; *same = the argmaxes agree. */
static double kl_logits(const float *a, const float *b, int V, int *same)
{
    double ma = a[0], mb = b[0];
    int ia = 0, ib = 0;
    for (int i = 1; i < V; i++) {
        if (a[i] > ma) ma = a[i], ia = i;
        if (b[i] > mb) mb = b[i], ib = i;
    }
    double za = 0, zb = 0;
    for (int i = 0; i < V; i++) za += exp(a[i] - ma), zb += exp(b[i] - mb);
    double lza = log(za), lzb = log(zb), kl = 0;
    for (int i = 0; i < V; i++) {
        double la = a[i] - ma - lza, lb = b[i] - mb - lzb;
        kl += exp(la) * (la - lb);
    }
    *same = ia == ib;
    return kl > 0 ? kl : 0;
}

/* Teacher-force TOK[0..n-1] (a window: TOK[0] is prefilled) through both caches. */
static int feed(kv_cache *c32, kv_cache *c16, const int32_t *tok, int n, float *l32, float *l16, int V, kl_acc *a)
{
    kv_cache_reset(c32, 0);
    kv_cache_reset(c16, 0);
    if (kv_cache_prefill(c32, 0, tok, 1, l32) || kv_cache_prefill(c16, 0, tok, 1, l16)) return -1;
    for (int t = 1;; t++) {
        int same;
        double kl = kl_logits(l32, l16, V, &same);
        if (acc_push(a, kl, same)) return -1;
        if (t >= n) return 0;
        if (kv_cache_step(c32, &tok[t], 1, l32) || kv_cache_step(c16, &tok[t], 1, l16)) return -1;
    }
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static void report(const char *name, kl_acc *a, int json, int last)
{
    if (!a->n) return;
    double sum = 0;
    for (size_t i = 0; i < a->n; i++) sum += a->kl[i];
    qsort(a->kl, a->n, sizeof *a->kl, cmp_double);
    double p99 = a->kl[(size_t)(0.99 * (double)(a->n - 1))], mx = a->kl[a->n - 1];
    double agree = (double)a->agree / (double)a->n;
    if (json)
        printf("\"%s\": {\"positions\": %zu, \"mean_kl\": %.3e, \"p99_kl\": %.3e, \"max_kl\": %.3e, "
               "\"argmax_agree\": %.5f}%s",
               name, a->n, sum / (double)a->n, p99, mx, agree, last ? "" : ", ");
    else
        printf("%-8s %7zu positions: KL(fp32 || bf16) mean %.3e nats, p99 %.3e, max %.3e; argmax agrees %.3f%%\n",
               name, a->n, sum / (double)a->n, p99, mx, 100 * agree);
}

/* Up to WINDOWS validation windows of DATA into acc (nothing when there is no cache). */
static int feed_data(const char *data, int windows, int maxn, kv_cache *c32, kv_cache *c16, float *l32, float *l16,
                     int V, int32_t *tok, kl_acc *a)
{
    cache *ch = NULL;
    char err[AURL_ERR_LEN];
    if (!data || cache_open(data, &ch, err)) {
        if (data) fprintf(stderr, "precision_kl: %s (no data pieces)\n", err);
        return 0;
    }
    size_t ns = 0;
    dataset_seq *seqs = dataset_split_seqs(ch, CACHE_VAL, &ns);
    int rc = seqs ? 0 : -1;
    int done = 0;
    for (size_t i = 0; seqs && i < ns && done < windows && !rc; i++) {
        size_t nw = dataset_seq_n_windows(seqs[i].n, maxn - 1, maxn);
        for (size_t w = 0; w < nw && done < windows && !rc; w++, done++) {
            size_t s0 = dataset_seq_window_start(seqs[i].n, maxn - 1, maxn, w);
            int n = seqs[i].n - s0 < (size_t)maxn ? (int)(seqs[i].n - s0) : maxn;
            for (int t = 0; t < n; t++) tok[t] = seqs[i].tokens[s0 + t];
            rc = feed(c32, c16, tok, n, l32, l16, V, a);
        }
    }
    free(seqs);
    cache_close(ch);
    return rc;
}

/* PIECES pieces the fp32 model samples (seeds 1..), fed to both caches. */
static int feed_sampled(const transformer *m, int pieces, int maxn, kv_cache *c32, kv_cache *c16, float *l32,
                        float *l16, int V, int32_t *tok, kl_acc *a)
{
    char err[AURL_ERR_LEN];
    sampler_settings s;
    sampler_settings_default(&s);
    s.precision = KV_PREC_FP32;
    s.max_tokens = maxn - 2;
    for (int p = 0; p < pieces; p++) {
        sampler_result r;
        s.seed = (uint64_t)p + 1;
        if (sampler_generate(m, &s, NULL, 0, NULL, 0, NULL, NULL, &r, err)) {
            fprintf(stderr, "precision_kl: %s\n", err);
            return -1;
        }
        int n = r.n_tokens < maxn ? r.n_tokens : maxn;
        memcpy(tok, r.tokens, (size_t)n * sizeof *tok);
        sampler_result_free(&r);
        if (feed(c32, c16, tok, n, l32, l16, V, a)) return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    blas_core_startup(argv);
    const char *ckpt = NULL, *config = "bench/reference.yaml", *data = NULL;
    int pieces = 8, windows = 16, maxn = 512, json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--checkpoint") && i + 1 < argc) ckpt = argv[++i];
        else if (!strcmp(argv[i], "--config") && i + 1 < argc) config = argv[++i];
        else if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
        else if (!strcmp(argv[i], "--pieces") && i + 1 < argc) pieces = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--windows") && i + 1 < argc) windows = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--tokens") && i + 1 < argc) maxn = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json")) json = 1;
        else {
            fprintf(stderr, "usage: precision_kl [--checkpoint F | --config FILE] [--data DIR] [--windows N] "
                            "[--pieces N] [--tokens N] [--json]\n");
            return 2;
        }
    }
    threads_configure(0);
    char err[AURL_ERR_LEN];
    transformer *m = NULL;
    model_config cfg;
    if (ckpt ? model_ckpt_load_new(ckpt, 1, 1, &m, NULL, err)
             : (model_yaml_load_file(config, &cfg, NULL, err) || transformer_create(&m, &cfg, 1, 1, 1, err))) {
        fprintf(stderr, "precision_kl: %s\n", err);
        return 1;
    }
    cfg = *transformer_config(m);
    if (maxn > cfg.max_seq_len) maxn = cfg.max_seq_len;
    int V = cfg.vocab_size;
    kv_cache *c32 = NULL, *c16 = NULL;
    float *l32 = malloc((size_t)V * sizeof(float)), *l16 = malloc((size_t)V * sizeof(float));
    int32_t *tok = malloc((size_t)maxn * sizeof(int32_t));
    if (!l32 || !l16 || !tok || kv_cache_create_prec(&c32, m, 1, KV_PREC_FP32, err) ||
        kv_cache_create_prec(&c16, m, 1, KV_PREC_BF16, err)) {
        fprintf(stderr, "precision_kl: %s\n", err);
        return 1;
    }
    kl_acc src[3] = {{0}}; /* data, sampled, all */
    if (feed_data(data, windows, maxn, c32, c16, l32, l16, V, tok, &src[0]) ||
        feed_sampled(m, pieces, maxn, c32, c16, l32, l16, V, tok, &src[1]))
        return 1;
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < src[s].n; i++)
            if (acc_push(&src[2], src[s].kl[i], 0)) return 1;
    src[2].agree = src[0].agree + src[1].agree;
    if (json) printf("{\"model\": \"%s\", ", ckpt ? ckpt : config);
    else printf("model %s%s\n", ckpt ? ckpt : config, ckpt ? "" : " (random initial weights)");
    report("data", &src[0], json, 0);
    report("sampled", &src[1], json, 0);
    report("all", &src[2], json, 1);
    if (json) printf("}\n");
    for (int s = 0; s < 3; s++) free(src[s].kl);
    kv_cache_free(c32);
    kv_cache_free(c16);
    free(l32);
    free(l16);
    free(tok);
    transformer_free(m);
    return 0;
}
