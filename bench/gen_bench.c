/* gen_bench: sampling speed of aurl's KV-cached decoder on the reference
 * model (bench/reference.yaml, random weights): tokens/s generating N
 * tokens (default 1024, past the 512-token context, so the window slides)
 * with top-p sampling and the grammar mask, and the time to the first token,
 * at batch 1 (sampler_generate) and at batch B (default 16:
 * sampler_generate_batch, what `aurl generate --count B` runs). It also
 * measures the machine's streaming read bandwidth over a buffer the size of
 * the model's weights, and prints the tokens/s that bandwidth allows at
 * batch 1 (every token reads all weights once), then the targets (batch 1
 * >= 5,000 tokens/s, batch 16 >= 20,000 tokens/s in all) as met / not met.
 *
 *   build/bench/gen_bench [--config bench/reference.yaml] [--tokens N] [--prefix N] [--batch B] [--json]
 *
 * JSON fields: tokens, prefix, seconds, cpu_seconds, tokens_per_s,
 * first_token_ms (batch 1, as before), batch, batch_tokens, batch_seconds,
 * batch_tokens_per_s, batch_first_token_ms, weight_mb, read_gb_per_s,
 * bandwidth_bound_tokens_per_s, target_b1_met, target_batch_met, blas_core.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/model/model_yaml.h"
#include "engine/model/transformer.h"
#include "engine/nn/blas_core.h"
#include "engine/sample/sampler.h"
#include "util/clock.h"
#include "util/threads.h"

#define TARGET_B1 5000.0
#define TARGET_B16 20000.0

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

int main(int argc, char **argv)
{
    blas_core_startup(argv);
    const char *config = "bench/reference.yaml";
    int n = 1024, prefix_len = 0, json = 0, batch = 16;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) config = argv[++i];
        else if (!strcmp(argv[i], "--tokens") && i + 1 < argc) n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--prefix") && i + 1 < argc) prefix_len = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json")) json = 1;
        else {
            fprintf(stderr, "usage: gen_bench [--config FILE] [--tokens N] [--prefix N] [--batch B] [--json]\n");
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
    sampler_result *rb = calloc((size_t)batch, sizeof *rb);
    if (!prefix || !rb) return 1;
    for (int i = 0; i < prefix_len; i++) prefix[i] = 180 + i % 64; /* time shifts */
    sampler_result r;
    /* warm-up (thread pool, page faults), then the timed runs */
    s.max_tokens = 16;
    s.min_tokens = 16;
    if (sampler_generate(m, &s, prefix, prefix_len, NULL, 0, NULL, NULL, &r, err)) goto fail;
    sampler_result_free(&r);
    s.max_tokens = n;
    s.min_tokens = n; /* no early END: every piece takes n model steps; the closing NOTE_OFFs cost no step */
    clock_t c0 = clock(); /* CPU time of all threads: shows what a loaded machine hides */
    if (sampler_generate(m, &s, prefix, prefix_len, NULL, 0, NULL, NULL, &r, err)) goto fail;
    double cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    double tps = n / r.seconds_taken;

    double tb0 = clock_monotonic();
    if (sampler_generate_batch(m, &s, prefix, prefix_len, NULL, 0, batch, NULL, NULL, rb, err)) goto fail;
    double bsec = clock_monotonic() - tb0, bftt = 0;
    for (int i = 0; i < batch; i++)
        if (rb[i].first_token_seconds > bftt) bftt = rb[i].first_token_seconds;
    double btps = (double)batch * n / bsec;

    /* weights a token reads: every matrix (all parameters but biases and norms) */
    size_t wfloats = (size_t)cfg.vocab_size * cfg.d_model +
                     (size_t)cfg.n_layers * (4 * (size_t)cfg.d_model * cfg.d_model + 2 * (size_t)cfg.d_model * cfg.d_ff);
    double wmb = wfloats * 4.0 / 1e6, gbs = read_bandwidth(wfloats * 4);
    double bound = gbs > 0 ? gbs * 1e3 / wmb : 0;
    int met1 = tps >= TARGET_B1, metb = batch == 16 && btps >= TARGET_B16;
    blas_core_info bi;
    blas_core_info_get(&bi);
    if (json) {
        printf("{\"tokens\": %d, \"prefix\": %d, \"seconds\": %.4f, \"cpu_seconds\": %.4f, \"tokens_per_s\": %.1f, "
               "\"first_token_ms\": %.3f, \"batch\": %d, \"batch_tokens\": %d, \"batch_seconds\": %.4f, "
               "\"batch_tokens_per_s\": %.1f, \"batch_first_token_ms\": %.3f, \"weight_mb\": %.2f, "
               "\"read_gb_per_s\": %.1f, \"bandwidth_bound_tokens_per_s\": %.0f, \"target_b1_met\": %s, "
               "\"target_batch_met\": %s, \"blas_core\": \"%s\"}\n",
               n, prefix_len, r.seconds_taken, cpu, tps, r.first_token_seconds * 1e3, batch, batch * n, bsec, btps,
               bftt * 1e3, wmb, gbs, bound, met1 ? "true" : "false", metb ? "true" : "false", bi.core);
    } else {
        printf("aurl (KV cache, %s): batch 1: %d tokens in %.3f s = %.0f tokens/s (CPU %.3f s); first token %.2f ms "
               "(prefix %d)\n",
               bi.core, n, r.seconds_taken, tps, cpu, r.first_token_seconds * 1e3, prefix_len);
        printf("aurl (KV cache): batch %d: %d tokens in %.3f s = %.0f tokens/s in all; first tokens %.2f ms\n", batch,
               batch * n, bsec, btps, bftt * 1e3);
        printf("memory: %.1f MB of weights per token, read at %.1f GB/s here: batch 1 bound %.0f tokens/s\n", wmb, gbs,
               bound);
        printf("target batch 1 >= %.0f tokens/s: %s\n", TARGET_B1, met1 ? "met" : "not met");
        if (batch == 16) printf("target batch 16 >= %.0f tokens/s: %s\n", TARGET_B16, metb ? "met" : "not met");
    }
    for (int i = 0; i < batch; i++) sampler_result_free(&rb[i]);
    free(rb);
    sampler_result_free(&r);
    free(prefix);
    transformer_free(m);
    return 0;
fail:
    fprintf(stderr, "gen_bench: %s\n", err);
    return 1;
}
