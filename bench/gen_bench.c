/* gen_bench: sampling speed of aurl's KV-cached decoder on the reference
 * model (bench/reference.yaml, random weights): tokens/s generating N
 * tokens (default 1024, past the 512-token context, so the window slides)
 * with top-p sampling and the grammar mask, and the time to the first token,
 * at batch 1 (sampler_generate) and at batch B (default 16:
 * sampler_generate_batch, what `aurl generate --count B` runs), in both
 * precisions of the KV cache (fp32, bf16; --precision P: that one only). It also
 * measures the machine's streaming read bandwidth over a buffer the size of
 * the model's weights, and prints the tokens/s that bandwidth allows at
 * batch 1 (every token reads all weights once), then the targets (batch 1
 * >= 5,000 tokens/s, batch 16 >= 20,000 tokens/s in all) as met / not met
 * for each precision.
 *
 *   build/bench/gen_bench [--config bench/reference.yaml] [--tokens N] [--prefix N] [--batch B]
 *                         [--precision fp32|bf16|auto] [--json]
 *
 * JSON fields (the flat ones are the default precision's, what `aurl
 * generate` runs): tokens, prefix, seconds, cpu_seconds, tokens_per_s,
 * first_token_ms, batch, batch_tokens, batch_seconds, batch_tokens_per_s,
 * batch_first_token_ms, weight_mb, read_gb_per_s,
 * bandwidth_bound_tokens_per_s, target_b1_met, target_batch_met,
 * blas_core, precision; then per precision P measured: P_tokens_per_s,
 * P_first_token_ms, P_batch_tokens_per_s, P_target_b1_met,
 * P_target_batch_met, P_bandwidth_bound_tokens_per_s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/model/model_yaml.h"
#include "engine/model/transformer.h"
#include "engine/nn/blas_core.h"
#include "engine/sample/kv_cache.h"
#include "engine/sample/sampler.h"
#include "util/clock.h"
#include "util/threads.h"

#define TARGET_B1 KV_TARGET_B1_TPS
#define TARGET_B16 KV_TARGET_B16_TPS

/* Streaming read bandwidth (GB/s) over `bytes` bytes, best of a few passes. */
static double read_bandwidth(size_t bytes)
{
    size_t n = bytes / sizeof(float);
    float *a = malloc(n * sizeof(float));
    if (!a) return 0;
    for (size_t i = 0; i < n; i++) a[i] = (float)(i & 7);
    double best = 0;
    volatile float sink = 0;
    for (int rep = 0; rep < 20; rep++) {
        double t0 = clock_monotonic();
        float s[16] = {0};
        for (size_t i = 0; i + 16 <= n; i += 16)
            for (int j = 0; j < 16; j++) s[j] += a[i + j];
        double t = clock_monotonic() - t0;
        for (int j = 0; j < 16; j++) sink += s[j];
        if (t > 0 && bytes / t / 1e9 > best) best = bytes / t / 1e9;
    }
    (void)sink;
    free(a);
    return best;
}

/* One precision's measurements. */
typedef struct {
    kv_precision prec;
    double sec, cpu, tps, ftt_ms; /* batch 1 */
    double bsec, btps, bftt_ms;   /* batch B */
    double bound;                 /* batch-1 tokens/s the weight stream allows */
    int met1, metb;
} gen_run;

/* Batch 1 then batch B of n tokens after prefix in precision r->prec. */
static int measure(const transformer *m, sampler_settings s, const int32_t *prefix, int prefix_len, int n, int batch,
                   gen_run *r, char err[AURL_ERR_LEN])
{
    sampler_result one, *rb = calloc((size_t)batch, sizeof *rb);
    if (!rb) return -1;
    s.precision = r->prec;
    /* warm-up (thread pool, page faults, the packing), then the timed runs */
    s.max_tokens = 16;
    s.min_tokens = 16;
    if (sampler_generate(m, &s, prefix, prefix_len, NULL, 0, NULL, NULL, &one, err)) goto fail;
    sampler_result_free(&one);
    s.max_tokens = n;
    s.min_tokens = n; /* no early END: every piece takes n model steps; the closing NOTE_OFFs cost no step */
    clock_t c0 = clock(); /* CPU time of all threads: shows what a loaded machine hides */
    if (sampler_generate(m, &s, prefix, prefix_len, NULL, 0, NULL, NULL, &one, err)) goto fail;
    r->cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    r->sec = one.seconds_taken;
    r->tps = n / one.seconds_taken;
    r->ftt_ms = one.first_token_seconds * 1e3;
    sampler_result_free(&one);
    double tb0 = clock_monotonic();
    if (sampler_generate_batch(m, &s, prefix, prefix_len, NULL, 0, batch, NULL, NULL, rb, err)) goto fail;
    r->bsec = clock_monotonic() - tb0;
    r->bftt_ms = 0;
    for (int i = 0; i < batch; i++) {
        if (rb[i].first_token_seconds * 1e3 > r->bftt_ms) r->bftt_ms = rb[i].first_token_seconds * 1e3;
        sampler_result_free(&rb[i]);
    }
    r->btps = (double)batch * n / r->bsec;
    r->met1 = r->tps >= TARGET_B1;
    r->metb = batch == 16 && r->btps >= TARGET_B16;
    free(rb);
    return 0;
fail:
    free(rb);
    return -1;
}

static void print_json(const gen_run *runs, int nr, const gen_run *d, int n, int prefix_len, int batch, double wmb,
                       double gbs, const char *core)
{
    printf("{\"tokens\": %d, \"prefix\": %d, \"seconds\": %.4f, \"cpu_seconds\": %.4f, \"tokens_per_s\": %.1f, "
           "\"first_token_ms\": %.3f, \"batch\": %d, \"batch_tokens\": %d, \"batch_seconds\": %.4f, "
           "\"batch_tokens_per_s\": %.1f, \"batch_first_token_ms\": %.3f, \"weight_mb\": %.2f, "
           "\"read_gb_per_s\": %.1f, \"bandwidth_bound_tokens_per_s\": %.0f, \"target_b1_met\": %s, "
           "\"target_batch_met\": %s, \"blas_core\": \"%s\", \"precision\": \"%s\"",
           n, prefix_len, d->sec, d->cpu, d->tps, d->ftt_ms, batch, batch * n, d->bsec, d->btps, d->bftt_ms, wmb, gbs,
           d->bound, d->met1 ? "true" : "false", d->metb ? "true" : "false", core, kv_precision_name(d->prec));
    for (int i = 0; i < nr; i++) {
        const char *p = kv_precision_name(runs[i].prec);
        printf(", \"%s_tokens_per_s\": %.1f, \"%s_first_token_ms\": %.3f, \"%s_batch_tokens_per_s\": %.1f, "
               "\"%s_target_b1_met\": %s, \"%s_target_batch_met\": %s, \"%s_bandwidth_bound_tokens_per_s\": %.0f",
               p, runs[i].tps, p, runs[i].ftt_ms, p, runs[i].btps, p, runs[i].met1 ? "true" : "false", p,
               runs[i].metb ? "true" : "false", p, runs[i].bound);
    }
    printf("}\n");
}

static void print_text(const gen_run *runs, int nr, int n, int prefix_len, int batch, double wmb, double gbs,
                       const char *core)
{
    for (int i = 0; i < nr; i++) {
        const gen_run *r = &runs[i];
        const char *p = kv_precision_name(r->prec);
        printf("aurl (KV cache, %s, %s): batch 1: %d tokens in %.3f s = %.0f tokens/s (CPU %.3f s); first token "
               "%.2f ms (prefix %d)\n",
               p, core, n, r->sec, r->tps, r->cpu, r->ftt_ms, prefix_len);
        printf("aurl (KV cache, %s): batch %d: %d tokens in %.3f s = %.0f tokens/s in all; first tokens %.2f ms\n", p,
               batch, batch * n, r->bsec, r->btps, r->bftt_ms);
    }
    printf("memory: %.1f MB of fp32 weights per token (%.1f MB in bf16), read at %.1f GB/s here: batch 1 bound "
           "%.0f tokens/s fp32, %.0f bf16\n",
           wmb, wmb / 2, gbs, gbs * 1e3 / wmb, gbs * 2e3 / wmb);
    for (int i = 0; i < nr; i++) {
        const char *p = kv_precision_name(runs[i].prec);
        printf("%s: target batch 1 >= %.0f tokens/s: %s\n", p, TARGET_B1, runs[i].met1 ? "met" : "not met");
        if (batch == 16)
            printf("%s: target batch 16 >= %.0f tokens/s: %s\n", p, TARGET_B16, runs[i].metb ? "met" : "not met");
    }
}

int main(int argc, char **argv)
{
    blas_core_startup(argv);
    const char *config = "bench/reference.yaml";
    int n = 1024, prefix_len = 0, json = 0, batch = 16, only = -1;
    for (int i = 1; i < argc; i++) {
        kv_precision p;
        if (!strcmp(argv[i], "--config") && i + 1 < argc) config = argv[++i];
        else if (!strcmp(argv[i], "--tokens") && i + 1 < argc) n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--prefix") && i + 1 < argc) prefix_len = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc && !kv_precision_parse(argv[i + 1], &p))
            only = (int)kv_precision_resolve(p), i++;
        else if (!strcmp(argv[i], "--json")) json = 1;
        else {
            fprintf(stderr, "usage: gen_bench [--config FILE] [--tokens N] [--prefix N] [--batch B] "
                            "[--precision fp32|bf16|auto] [--json]\n");
            return 2;
        }
    }
    if (n < 1 || prefix_len < 0 || batch < 1 || batch > SAMPLER_BATCH_MAX) return 2;
    threads_configure(0);
    char err[AURL_ERR_LEN];
    model_config cfg;
    transformer *m = NULL;
    if (model_yaml_load_file(config, &cfg, NULL, err) || transformer_create(&m, &cfg, 1, 1, 1, err)) {
        fprintf(stderr, "gen_bench: %s\n", err);
        return 1;
    }
    sampler_settings s;
    sampler_settings_default(&s);
    int32_t *prefix = malloc((size_t)(prefix_len + 1) * sizeof(int32_t));
    if (!prefix) return 1;
    for (int i = 0; i < prefix_len; i++) prefix[i] = 180 + i % 64; /* time shifts */
    /* weights a token reads: every matrix (all parameters but biases and norms) */
    size_t wfloats = (size_t)cfg.vocab_size * cfg.d_model +
                     (size_t)cfg.n_layers * (4 * (size_t)cfg.d_model * cfg.d_model + 2 * (size_t)cfg.d_model * cfg.d_ff);
    double wmb = wfloats * 4.0 / 1e6, gbs = read_bandwidth(wfloats * 4);
    gen_run runs[2];
    int nr = 0, def = 0;
    kv_precision dflt = kv_precision_resolve(KV_PREC_AUTO);
    for (int p = KV_PREC_FP32; p <= KV_PREC_BF16; p++) {
        if (only >= 0 && p != only) continue;
        gen_run *r = &runs[nr];
        r->prec = (kv_precision)p;
        if (measure(m, s, prefix, prefix_len, n, batch, r, err)) {
            fprintf(stderr, "gen_bench: %s\n", err);
            return 1;
        }
        r->bound = gbs > 0 ? gbs * 1e3 / (p == KV_PREC_BF16 ? wmb / 2 : wmb) : 0;
        if (r->prec == dflt) def = nr;
        nr++;
    }
    blas_core_info bi;
    blas_core_info_get(&bi);
    if (json) print_json(runs, nr, &runs[def], n, prefix_len, batch, wmb, gbs, bi.core);
    else print_text(runs, nr, n, prefix_len, batch, wmb, gbs, bi.core);
    free(prefix);
    transformer_free(m);
    return 0;
}
